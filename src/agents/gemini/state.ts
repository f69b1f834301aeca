import path from 'node:path';
import { homeOf, type AgentWrites } from '../agent.js';

/**
 * Where Gemini CLI keeps its state, for our OS sandbox: ~/.gemini (GEMINI_CLI_HOME stands for the
 * home in its paths) is writable, for its sessions, logs and memory. Read-only inside it is what a
 * later run loads and runs: its settings (hooks, MCP servers), the folders it trusts (whose own
 * `.gemini/settings.json` it then loads), `.env` (variables such as NODE_OPTIONS), its extensions
 * (MCP servers, and which are enabled), custom commands (shell injections), skills, agents, policies
 * (which tools run unasked) and the helper programs it downloads into `tmp/bin`. Otherwise a job could
 * plant what the user's next `gemini`, outside any sandbox, runs.
 */
export function geminiSandboxWrites(_spec: unknown, env: NodeJS.ProcessEnv): AgentWrites {
  const dir = path.join(env.GEMINI_CLI_HOME || homeOf(env), '.gemini');
  return {
    dirs: [dir],
    files: [],
    settings: ['settings.json', 'trustedFolders.json'].map((f) => path.join(dir, f)),
    lockedDirs: ['extensions', 'commands', 'skills', 'agents', 'policies', path.join('tmp', 'bin')].map((d) => path.join(dir, d)),
    lockedFiles: [path.join(dir, '.env')],
  };
}
