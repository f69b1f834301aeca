import fs from 'node:fs';
import path from 'node:path';
import { homeOf, type AgentWrites } from '../agent.js';

/**
 * Where Claude Code keeps its state, for our OS sandbox. Its sessions, settings and credentials are
 * in its config directory (CLAUDE_CONFIG_DIR, else ~/.claude), but its global config file is
 * ~/.claude.json in the home itself, which it replaces through a lock directory and a temporary file
 * beside it: neither can be made writable without the whole home, and with it read-only Claude Code
 * retries for ever. So a sandboxed job runs with CLAUDE_CONFIG_DIR=~/.claude, which moves only that
 * file (to ~/.claude/.claude.json); it is seeded from ~/.claude.json whenever that is newer, so
 * what the user configures there (MCP servers, their account) still reaches jobs.
 */
export function claudeSandboxWrites(_spec: unknown, env: NodeJS.ProcessEnv): AgentWrites {
  if (env.CLAUDE_CONFIG_DIR) return { dirs: [env.CLAUDE_CONFIG_DIR], files: [], ...locked(env.CLAUDE_CONFIG_DIR) };
  const home = homeOf(env);
  const dir = path.join(home, '.claude');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  seed(path.join(home, '.claude.json'), path.join(dir, '.claude.json'));
  return { dirs: [dir], files: [], ...locked(dir), env: { CLAUDE_CONFIG_DIR: dir } };
}

/**
 * Read-only inside the config directory: what the user's next `claude`, outside any sandbox, loads
 * and runs. Its settings (hooks, permission rules, key helper, status line), plugins (hooks and MCP
 * servers of their own), skills, commands and agents (which carry tools, hooks and shell snippets),
 * and `hooks/`, where hook scripts are usually kept.
 */
function locked(dir: string): Pick<AgentWrites, 'settings' | 'lockedDirs'> {
  return {
    settings: [path.join(dir, 'settings.json')],
    lockedDirs: ['plugins', 'skills', 'commands', 'agents', 'hooks'].map((d) => path.join(dir, d)),
  };
}

function seed(from: string, to: string): void {
  const mtime = (file: string) => fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? null;
  const source = mtime(from);
  const target = mtime(to);
  if (source === null || (target !== null && target >= source)) return;
  // A rename: a job starting beside this one reads the old file or the new, never half of one.
  const tmp = `${to}.seed.${process.pid}`;
  fs.copyFileSync(from, tmp);
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, to);
}
