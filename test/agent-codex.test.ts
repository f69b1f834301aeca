/** The agent contract (helpers/contract.ts) for codex, the agent every other one is held to. */
import { mockedAgent } from './helpers/agentMocks.ts';
import { agentContract } from './helpers/contract.ts';

agentContract({ agent: 'codex', ...mockedAgent('codex') });
