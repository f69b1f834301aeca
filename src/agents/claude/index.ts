import type { Agent } from '../agent.js';
import { buildClaudeArgs } from './argv.js';
import { COMPLETED_MARK } from './events.js';
import { claudeSandboxWrites } from './state.js';
import { claudeStream } from './stream.js';

/** Claude Code (`claude -p`), Anthropic's coding agent CLI. */
export const claude: Agent = {
  name: 'claude',
  title: 'Claude Code',
  command: 'claude',
  install: 'npm install -g @anthropic-ai/claude-code',
  // Released 2026-09-06, the newest release three months before the adapter was last tested (2026-12-07);
  // test/cli-floors pins the same for the tests.
  floor: '2.1.263',
  parseVersion: (stdout) => stdout.trim().replace(/\s*\(Claude Code\)\s*$/, ''),
  stream: claudeStream,
  argv: buildClaudeArgs,
  env(spec) {
    // A job must not update the binary under the server (or under the jobs running beside it).
    const env: Record<string, string> = { DISABLE_AUTOUPDATER: '1' };
    // Claude Code refuses bypassPermissions to root unless told it runs in a sandbox. The operator
    // opted in to danger-full-access (CODEX_ASYNC_ALLOW_DANGEROUS); a root server is their choice.
    if (spec.access.sandbox === 'danger-full-access' && process.getuid?.() === 0) env.IS_SANDBOX = '1';
    return env;
  },
  sandboxWrites: claudeSandboxWrites,
  // Images: the prompt arrives as plain text on stdin, which cannot carry one.
  unsupported: ['images'],
  // SIGINT ends Claude Code with exit 0 and an error result; SIGTERM to a tool alone lets it go on.
  exitZeroNeedsTurn: true,
  turnCompletedMark: COMPLETED_MARK,
  provider: async (env) => (await import('./provider.js')).readClaudeProvider(env),
};
