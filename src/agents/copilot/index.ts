import type { Agent } from '../agent.js';
import { buildCopilotArgs } from './argv.js';
import { installedCopilotVersion, nativeCopilot } from './binary.js';
import { copilotSandboxWrites } from './state.js';
import { copilotStream } from './stream.js';
import { readCopilotUsage } from './usage.js';

/** GitHub Copilot CLI (`copilot`), run in prompt mode with its JSONL output. */
export const copilot: Agent = {
  name: 'copilot',
  title: 'GitHub Copilot CLI',
  command: 'copilot',
  binaryBehind: (found) => nativeCopilot(found),
  install: 'npm install -g @github/copilot',
  // Released 2026-09-05, the newest release three months before the adapter was last tested (2026-12-07);
  // test/cli-floors pins the same for the tests.
  floor: '1.0.83',
  installedVersion: installedCopilotVersion,
  parseVersion: (stdout) => /\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?/.exec(stdout)?.[0] ?? stdout.trim(),
  stream: copilotStream,
  argv: buildCopilotArgs,
  // COPILOT_ALLOW_ALL=true in the server's environment would approve every tool in every mode:
  // the access flags alone decide.
  env: () => ({ COPILOT_ALLOW_ALL: 'false' }),
  sandboxWrites: copilotSandboxWrites,
  // Copilot has no structured-output option.
  unsupported: ['output_schema'],
  // Interrupted, Copilot exits 0 (after an `abort` event).
  exitZeroNeedsTurn: true,
  // Its result line says exit code 0 after a completed turn, but also after an `abort`.
  turnCompletedMark: '"exitCode":0,',
  interruptedMark: '"type":"abort"',
  // Its stream has no token counts; --usage-output-file writes them as it ends.
  usageAtEnd: readCopilotUsage,
  provider: async (env) => (await import('./provider.js')).readCopilotProvider(env),
};
