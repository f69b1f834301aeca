import type { Agent } from '../agent.js';
import { buildExecArgs } from './argv.js';
import { codexStream } from './stream.js';

/** The OpenAI Codex CLI: `codex exec --json`, the prompt on stdin, its own OS sandbox. */
export const codex: Agent = {
  name: 'codex',
  title: 'Codex CLI',
  command: 'codex',
  install: 'npm install -g @openai/codex',
  // Released 2026-09-05, the newest release three months before the adapter was last tested (2026-12-07);
  // test/cli-floors pins the same for the tests.
  floor: '0.153.4',
  parseVersion: (stdout) => stdout.trim().replace(/^codex-cli\s+/, ''),
  stream: codexStream,
  argv: (spec) =>
    buildExecArgs({
      cwd: spec.cwd,
      access: spec.access,
      lastMessageFile: spec.lastMessageFile,
      model: spec.model,
      reasoningEffort: spec.reasoningEffort,
      outputSchemaFile: spec.outputSchemaFile,
      images: spec.images,
      addDirs: spec.addDirs,
      resumeThreadId: spec.resume,
      privateTmp: spec.privateTmp,
    }),
  env: () => ({}),
  unsupported: [],
  // codex exits 0 only after a turn it completed; its own SIGINT exit is 1.
  exitZeroNeedsTurn: false,
  turnCompletedMark: '"type":"turn.completed"',
  provider: async (env) => (await import('./provider.js')).codexProviderReading(env),
};
