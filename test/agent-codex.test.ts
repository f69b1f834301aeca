/** The agent contract (helpers/contract.ts) for codex, the agent every other one is held to. */
import { agentContract } from './helpers/contract.ts';
import { makeCodexHome } from './helpers/codexHome.ts';
import { startMockResponses } from './helpers/mockResponses.ts';

agentContract({
  agent: 'codex',
  startMock: startMockResponses,
  env: (mock) => ({ CODEX_HOME: makeCodexHome(mock.url) }),
});
