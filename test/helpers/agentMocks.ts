/**
 * How each agent's real CLI is pointed at the loopback mock of its model API, offline and without
 * a key: one place for the agent contract tests (test/agent-<name>.test.ts) and the bench
 * (bench/run.ts, `agents`), so both run the same CLI against the same mock.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { binEnvOf, type AgentName } from '../../src/agents/agent.ts';
import { agentOf } from '../../src/agents/registry.ts';
import { makeCodexHome } from './codexHome.ts';
import type { AgentUnderTest } from './contract.ts';
import { ROOT } from './harness.ts';
import { startMockAnthropic } from './mockAnthropic.ts';
import { startGeminiMock } from './mockGemini.ts';
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

const GEMINI_BIN = path.join(ROOT, 'node_modules/.bin/gemini');

/**
 * Points gemini at the mock. A base URL alone selects an auth type headless gemini 0.61 refuses,
 * so the private HOME's settings select the API key, as `gemini`'s first-run dialog would; they
 * also keep gemini from reporting usage statistics and looking for updates.
 */
export function geminiEnv(mockUrl: string, userHome: string): Record<string, string> {
  fs.mkdirSync(path.join(userHome, '.gemini'), { recursive: true });
  fs.writeFileSync(
    path.join(userHome, '.gemini/settings.json'),
    JSON.stringify({
      security: { auth: { selectedType: 'gemini-api-key' } },
      privacy: { usageStatisticsEnabled: false },
      general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
    }),
  );
  return { GEMINI_BIN, GOOGLE_GEMINI_BASE_URL: mockUrl, GEMINI_API_KEY: 'test-key' };
}

const gemini: MockedAgent = {
  startMock: startGeminiMock,
  env: (mock, userHome) => geminiEnv(mock.url, userHome),
};

/** Every agent's mock: a new agent (AgentName) needs its line here. */
const MOCKED_AGENTS: Record<AgentName, MockedAgent> = { codex, claude, copilot, gemini };

export const mockedAgent = (name: AgentName): MockedAgent => MOCKED_AGENTS[name];

/**
 * The oldest release of an agent's CLI its adapter supports (Agent.floor), as test/cli-floors pins
 * it: npm installs it there, beside the newest one in node_modules, its launcher in
 * test/cli-floors/node_modules/.bin (Copilot's npm launcher, as for the newest: the server runs the
 * native binary behind it).
 */
export const floorBin = (name: AgentName): string => path.join(ROOT, 'test/cli-floors/node_modules/.bin', agentOf(name).command);

/** An agent's mock, with the server pointed at the oldest release of its CLI instead of the newest. */
export const mockedFloor = (name: AgentName): MockedAgent => {
  const mocked = mockedAgent(name);
  return { ...mocked, env: (mock, userHome) => ({ ...mocked.env(mock, userHome), [binEnvOf(name)]: floorBin(name) }) };
};
