/**
 * A worktree job's setup_command, made ready for the wrapper (supervise/launch.ts runs it): its
 * script, with the package managers' caches it may fill, and the directories the wrapper checks
 * afterwards.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { jobFiles, type HomeLayout } from '../jobs/files.js';
import type { Job } from '../jobs/store.js';
import type { launchJob } from '../supervise/launch.js';

export type SetupRun = NonNullable<Parameters<typeof launchJob>[0]['setup']>;

/** Where each package manager keeps its cache, pointed into the setup cache (their own are read-only in the sandbox). */
const CACHE_VARIABLES: Record<string, string> = {
  npm_config_cache: 'npm',
  YARN_CACHE_FOLDER: 'yarn',
  npm_config_store_dir: 'pnpm-store',
  PIP_CACHE_DIR: 'pip',
  UV_CACHE_DIR: 'uv',
  GOMODCACHE: 'go/mod',
  GOCACHE: 'go/build',
  XDG_CACHE_HOME: 'xdg',
};

/**
 * Writes the job's setup.sh and setup.expect (the real paths of `dirs`, where the agent is pointed:
 * a setup that moved one, or a directory above it, must not send the agent elsewhere) and says how
 * the setup runs. Under codex's sandbox (`codexPath`) it writes the worktree (not only cwd's part:
 * a monorepo installs at its top) and the repository's own cache directory; with network, since a
 * setup installs things. A job with danger-full-access runs it unconfined, as it runs its agent,
 * with the user's own caches: one a sandboxed setup could fill must not feed a setup that nothing
 * confines.
 */
export async function prepareSetup(layout: HomeLayout, job: Job, dirs: string[], codexPath: () => Promise<string>): Promise<SetupRun> {
  const files = jobFiles(layout, job.id);
  const expected = dirs.map((dir) => fs.realpathSync(dir));
  if (expected.some((dir) => dir.includes('\n'))) throw new Error(`cannot run the setup: a directory of the job has a line break in its name (${JSON.stringify(expected)})`);
  fs.writeFileSync(files.setupExpect, expected.map((dir) => `${dir}\n`).join(''), { mode: 0o600 });
  const unconfined = job.bypass || job.sandbox === 'danger-full-access';
  const cache = unconfined ? null : setupCache(layout, job.workspace.repo!);
  fs.writeFileSync(files.setup, setupScript(job.setup_command!, cache), { mode: 0o600 });
  if (cache === null) return { mode: 'none', roots: [], sandboxPath: '' };
  return { mode: 'workspace-write', roots: [job.workspace.path!, cache], sandboxPath: await codexPath() };
}

/**
 * The caches a sandboxed setup may fill, one directory per repository: later jobs install from
 * what an earlier one fetched, and no repository's setup can put something in another's cache (a
 * setup is the repository's code, run with network).
 */
export function setupCache(layout: HomeLayout, repo: string): string {
  const dir = path.join(layout.setupCacheDir, createHash('sha256').update(repo).digest('hex').slice(0, 16));
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** The setup as the wrapper runs it: the caches named (when it has its own), then the command as given. */
export function setupScript(command: string, cache: string | null): string {
  const exports = cache === null ? [] : Object.entries(CACHE_VARIABLES).map(([name, sub]) => `export ${name}=${shellQuote(path.join(cache, sub))}\n`);
  return `${exports.join('')}${command}\n`;
}
