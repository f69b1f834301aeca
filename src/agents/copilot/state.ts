import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { homeOf, type AgentWrites, type RunSpec } from '../agent.js';
import { USAGE_FILE } from './argv.js';
import { installedCopilotVersion } from './binary.js';

/** $COPILOT_HOME, else ~/.copilot: its config, login and sessions. */
export const copilotHome = (env: NodeJS.ProcessEnv): string => env.COPILOT_HOME || path.join(homeOf(env), '.copilot');

/** Its cache (XDG_CACHE_HOME/copilot), where the native binary unpacks the program it runs. */
const copilotCache = (env: NodeJS.ProcessEnv): string => path.join(env.XDG_CACHE_HOME || path.join(homeOf(env), '.cache'), 'copilot');

/** Where the binary unpacks its program, as its loader picks it. */
const unpackedRoot = (env: NodeJS.ProcessEnv): string =>
  path.join(env.COPILOT_PKG_CACHE_HOME || env.COPILOT_CACHE_HOME || copilotCache(env), 'pkg');

/**
 * Where Copilot CLI keeps its state, for our OS sandbox: its home and its cache are writable (its
 * sessions, logs, history), and the job's usage report. Read-only inside them is what a later run
 * loads and runs: the unpacked program (`pkg`, in the cache and, where the loader also looks, in
 * its home), its plugins, agents, skills, extensions and hooks, and the config files that hold MCP
 * and language servers, hooks and permission rules. Otherwise a job could edit `app.js` or plant a
 * hook that the user's next `copilot`, outside any sandbox, runs.
 *
 * So the program must be unpacked before the job starts: if the installed version's is not yet, the
 * binary unpacks it now, outside the sandbox and before the job exists (COPILOT_SEA_EXTRACT_ONLY:
 * it unpacks and exits; seconds, once per version).
 */
export async function copilotSandboxWrites(spec: RunSpec, env: NodeJS.ProcessEnv, binary: string): Promise<AgentWrites> {
  const home = copilotHome(env);
  await unpack(binary, env);
  return {
    dirs: [
      home,
      copilotCache(env),
      // A directory: it replaces the report through a temporary file beside it.
      path.dirname(path.join(spec.jobDir, USAGE_FILE)),
    ],
    files: [],
    // Not config.json, which can hold hooks too: Copilot rewrites it at every start, and fails if it cannot.
    settings: ['mcp-config.json', 'lsp-config.json', 'permissions-config.json'].map((f) => path.join(home, f)),
    lockedDirs: [
      path.join(copilotCache(env), 'pkg'),
      ...['pkg', 'hooks', 'plugins', 'installed-plugins', 'agents', 'skills', 'extensions'].map((d) => path.join(home, d)),
    ],
  };
}

async function unpack(binary: string, env: NodeJS.ProcessEnv): Promise<void> {
  const version = installedCopilotVersion(binary);
  const root = unpackedRoot(env);
  const done = (platform: string) => fs.existsSync(path.join(root, platform, version!, '.extraction-complete'));
  if (version && fs.existsSync(root) && fs.readdirSync(root).some(done)) return;
  await promisify(execFile)(binary, [], { env: { ...env, COPILOT_SEA_EXTRACT_ONLY: '1' }, timeout: 120_000 });
}
