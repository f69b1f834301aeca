import type { Agent } from '../agent.js';
import { buildExecArgs } from './argv.js';
import { readCodexProvider } from './provider.js';
import { codexStream } from './stream.js';

/** The OpenAI Codex CLI: `codex exec --json`, the prompt on stdin, its own OS sandbox. */
export const codex: Agent = {
  name: 'codex',
  title: 'Codex CLI',
  command: 'codex',
  install: 'npm install -g @openai/codex',
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
  provider(env) {
    const reading = readCodexProvider(env);
    if (!reading.ok) return { ok: false, detail: reading.problem, fix: reading.fix };
    const p = reading.provider;
    const where = `${p.id} (${p.baseUrl ?? "OpenAI's API"})${p.profile ? `, profile ${p.profile}` : ''}`;
    if (p.envKey && !env[p.envKey]) {
      return {
        ok: false,
        detail: `provider ${where} needs ${p.envKey}, not set`,
        fix: `set ${p.envKey} where the server is started (the MCP client's server entry, or this shell)`,
      };
    }
    const key = p.envKey ? `key from ${p.envKey}` : p.tokenInConfig ? 'token from config.toml' : p.requiresOpenaiAuth ? 'needs an OpenAI login' : 'no key needed';
    return { ok: true, detail: `provider ${where}, ${key}` };
  },
};
