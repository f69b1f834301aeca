/**
 * How each agent's real CLI is pointed at the loopback mock of its model API, offline and without
 * a key: one place for the agent contract tests (test/agent-<name>.test.ts) and the bench
 * (bench/run.ts, `agents`), so both run the same CLI against the same mock.
 */
import os from 'node:os';
import path from 'node:path';
import type { AgentName } from '../../src/agents/agent.ts';
import { makeCodexHome } from './codexHome.ts';
import type { AgentUnderTest } from './contract.ts';
import { ROOT } from './harness.ts';
import { startMockAnthropic } from './mockAnthropic.ts';
import { startMockResponses } from './mockResponses.ts';

export type MockedAgent = Pick<AgentUnderTest, 'startMock' | 'env'>;

const codex: MockedAgent = {
  startMock: startMockResponses,
  env: (mock) => ({ CODEX_HOME: makeCodexHome(mock.url) }),
};

const claude: MockedAgent = {
  startMock: startMockAnthropic,
  env: (mock) => ({
    CLAUDE_BIN: path.join(ROOT, 'node_modules/.bin/claude'),
    ANTHROPIC_BASE_URL: mock.url,
    ANTHROPIC_API_KEY: 'sk-ant-mock',
    // Telemetry and the like: a test stays on the loopback.
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  }),
};

/** Copilot unpacks ~235 MB into its cache directory on a first run: every run shares one cache. */
export const COPILOT_CACHE = path.join(os.tmpdir(), 'cam-copilot-cache');

const copilot: MockedAgent = {
  startMock: startMockAnthropic,
  env: (mock) => ({
    // The npm launcher, as `npm i -g @github/copilot` puts it on PATH: the server runs the native binary behind it.
    COPILOT_BIN: path.join(ROOT, 'node_modules', '.bin', 'copilot'),
    XDG_CACHE_HOME: COPILOT_CACHE,
    COPILOT_OFFLINE: 'true',
    COPILOT_PROVIDER_TYPE: 'anthropic',
    COPILOT_PROVIDER_BASE_URL: mock.url,
    // Copilot masks the key's value wherever it appears in its output: it must be no word a test looks for.
    COPILOT_PROVIDER_API_KEY: 'k-0f3a9c',
    COPILOT_MODEL: 'claude-sonnet-4.5',
  }),
};

/** Every agent with a mock; an agent in src/agents/registry.ts needs its line here for the bench. */
export const MOCKED_AGENTS: Partial<Record<AgentName, MockedAgent>> = { codex, claude, copilot };

export function mockedAgent(name: AgentName): MockedAgent {
  const mocked = MOCKED_AGENTS[name];
  if (!mocked) throw new Error(`no mock for the agent "${name}": add it to test/helpers/agentMocks.ts`);
  return mocked;
}
