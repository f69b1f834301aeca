import type { Agent } from '../agent.js';
import { buildGeminiArgs } from './argv.js';
import { readGeminiProvider } from './provider.js';
import { geminiStream } from './stream.js';

/** Google's Gemini CLI: `gemini -p "" -o stream-json`, the prompt on stdin, no OS sandbox. */
export const gemini: Agent = {
  name: 'gemini',
  title: 'Gemini CLI',
  command: 'gemini',
  install: 'npm install -g @google/gemini-cli',
  parseVersion: (stdout) => stdout.trim().split('\n').pop()!.trim(),
  stream: geminiStream,
  argv: buildGeminiArgs,
  // Without it gemini restarts itself in a second node with a larger heap and waits for it: two
  // node starts per job, and a parent between the wrapper and the run that signals must cross.
  env: () => ({ GEMINI_CLI_NO_RELAUNCH: 'true' }),
  // No flag for a reasoning budget, a JSON schema or images: they live in settings or the prompt.
  unsupported: ['reasoning_effort', 'output_schema', 'images'],
  // Interrupted (SIGINT), gemini exits 0 without a `result` line.
  exitZeroNeedsTurn: true,
  // Only the successful `result` line has these two keys together (a tool's result has no stats).
  turnCompletedMark: '"status":"success","stats":',
  provider: readGeminiProvider,
};
