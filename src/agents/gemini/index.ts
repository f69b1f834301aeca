import type { Agent } from '../agent.js';
import { buildGeminiArgs } from './argv.js';
import { geminiSandboxWrites } from './state.js';
import { geminiStream } from './stream.js';

/** Google's Gemini CLI: `gemini -p "" -o stream-json`, the prompt on stdin, inside our OS sandbox. */
export const gemini: Agent = {
  name: 'gemini',
  title: 'Gemini CLI',
  command: 'gemini',
  install: 'npm install -g @google/gemini-cli',
  // Released 2026-09-01, the newest release three months before the adapter was last tested (2026-12-07);
  // test/cli-floors pins the same for the tests.
  floor: '0.58.0',
  parseVersion: (stdout) => stdout.trim().split('\n').pop()!.trim(),
  stream: geminiStream,
  argv: buildGeminiArgs,
  // Without it gemini restarts itself in a second node with a larger heap and waits for it: two
  // node starts per job, and a parent between the wrapper and the run that signals must cross.
  // GEMINI_CLI_TRUST_WORKSPACE in the server's environment would trust the repository's own
  // .gemini/settings.json, whose hooks and MCP servers then run commands in any mode.
  env: () => ({ GEMINI_CLI_NO_RELAUNCH: 'true', GEMINI_CLI_TRUST_WORKSPACE: 'false' }),
  sandboxWrites: geminiSandboxWrites,
  // No flag for a reasoning budget, a JSON schema or images: they live in settings or the prompt.
  unsupported: ['reasoning_effort', 'output_schema', 'images'],
  // It splits --include-directories at commas: such a path would name other directories.
  pathProblem: (dir) => (dir.includes(',') ? `Gemini CLI splits directory lists at commas, so "${dir}" would name other directories` : null),
  // It finds sessions by the project of the directory it runs in.
  resumesInPlaceOnly: true,
  // Interrupted (SIGINT), gemini exits 0 without a `result` line.
  exitZeroNeedsTurn: true,
  // Only the successful `result` line has these two keys together (a tool's result has no stats).
  turnCompletedMark: '"status":"success","stats":',
  provider: async (env) => (await import('./provider.js')).readGeminiProvider(env),
};
