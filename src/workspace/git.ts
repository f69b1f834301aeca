/**
 * Runs git as a child process (argv, never a shell string) with settings that make its output
 * predictable (C locale, no pager, no prompt for credentials, paths printed as they are) and that
 * keep it from running anything a job could have planted in the repository (see GUARD).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';

export class GitError extends Error {
  override name = 'GitError';
  constructor(
    message: string,
    readonly stderr: string,
    readonly code: number | null,
  ) {
    super(message);
  }
}

export interface GitOptions {
  /** Where git runs: the top of a checkout, which is also its work tree (see `discover`). */
  cwd: string;
  env?: Record<string, string>;
  input?: string | Buffer;
  /** Exit codes that are answers rather than failures (e.g. 1 from `merge-tree` when it found conflicts). */
  okCodes?: number[];
  /**
   * Let git find the checkout holding cwd, only to learn where its top is. Otherwise cwd is the
   * work tree, whatever core.worktree or core.bare in the repository's config say.
   */
  discover?: boolean;
  /**
   * The filter and merge drivers configured before the job (`configuredDrivers` when its workspace
   * was made): only these run. Without it none of the repository's drivers does.
   */
  drivers?: TrustedDrivers;
}

export interface GitResult {
  stdout: Buffer;
  stderr: string;
  code: number;
}

/**
 * Variables that, inherited from a parent git (a hook, `git rebase --exec`), would point git at
 * another repository or index than the cwd's.
 */
const REPO_VARS = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_COMMON_DIR',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_NAMESPACE',
  'GIT_PREFIX',
  'GIT_LITERAL_PATHSPECS',
  'GIT_GLOB_PATHSPECS',
  'GIT_ICASE_PATHSPECS',
  'GIT_NOGLOB_PATHSPECS',
];

/**
 * What every git we run is told, because a job may have written the repository's config (a linked
 * worktree shares the user's .git; an agent without a sandbox, or in danger-full-access, can write
 * it) and our git runs outside any sandbox: when a job ends (the snapshot's `git add`), on
 * diff, apply, discard and gc, and on the user's checkout. `-c` on the command line outranks every
 * config file, include.path and includeIf included, and reaches the gits git starts itself.
 * Not listed, and why:
 * - core.worktree, core.bare: GIT_WORK_TREE (set to cwd, see runGitResult) outranks both; a planted
 *   core.worktree would otherwise make our snapshot read another directory (a home, a secret).
 * - filters and merge drivers: named by attributes the job can write, defined in config; the ones
 *   configured before the job keep running (the user's git-lfs, git-crypt), see driverOverrides.
 * - diff drivers (diff.external, diff.<driver>.command, textconv, GIT_EXTERNAL_DIFF): every diff
 *   gets --no-ext-diff --no-textconv (DIFF_COMMANDS); an empty value would not turn them off but
 *   run "".
 * - transport (core.sshCommand, credential helpers, remotes, protocol.<name>.allow): no protocol
 *   is allowed at all (GIT_ALLOW_PROTOCOL in gitEnv).
 * - aliases: git never lets an alias shadow a built-in command, and we run built-ins only.
 * - core.editor, sequence.editor, gpg.program: nothing we run opens an editor or signs
 *   (commit-tree gets --no-gpg-sign).
 * - safe.directory: git reads it only from the user's and the system's config, never from the
 *   repository's or from -c; we leave git's ownership check as it is.
 * - GIT_CONFIG_* in our own environment: the operator's, not a job's; -c is read after them.
 */
const GUARD = [
  // A command git runs to learn which files changed, on every index refresh (add, status, apply).
  'core.fsmonitor=false',
  // Hooks: worktree add runs post-checkout, a ref update (worktree add -b, branch -D) runs
  // reference-transaction, every index write (the snapshot's add) post-index-change. /dev/null is
  // no directory, so no hook is found in it, and no job can write one into it, as it could into
  // an empty directory of ours.
  'core.hooksPath=/dev/null',
  // --no-pager and GIT_PAGER already keep any pager from running; pinned for a call without them.
  'core.pager=cat',
].flatMap((setting) => ['-c', setting]);

/**
 * Built-ins that read no work-tree file and merge nothing, so no filter or merge driver can run in
 * them. Not write-tree: writing the index back, it re-reads racily clean files through their filter.
 */
const NO_DRIVERS = new Set(['rev-parse', 'commit-tree', 'diff-tree', 'ls-tree', 'branch', 'config', '--version']);

/** Commands that make diffs: external diff tools and textconv are off in every one. */
const DIFF_COMMANDS = new Set(['diff', 'diff-tree', 'diff-index', 'diff-files', 'log', 'show']);

/**
 * The filter and merge driver settings of a repository (`filter.<name>.*`, `merge.<name>.*`,
 * `merge.default`) as git reads them, each "key\nvalue", in git's order.
 */
export type TrustedDrivers = readonly string[];

const DRIVER_KEY = /^(?:(filter|merge)\.(.*)\.[^.]+|merge\.default)$/s;

/** Which driver a config key belongs to ("filter\0<name>", "merge\0<name>", "merge.default"), or null. */
function driverOf(key: string): string | null {
  const m = DRIVER_KEY.exec(key);
  return m ? (m[1] ? `${m[1]}\0${m[2]}` : key) : null;
}

/** The driver settings git reads in `cwd` now: what a job's workspace records before the job runs. */
export function configuredDrivers(cwd: string, opts: { discover?: boolean } = {}): Promise<string[]> {
  return readDrivers(cwd, opts.discover, 'git config -z --list');
}

/** configuredDrivers, failing in the name of `command`: the one a caller asked for when it is read first. */
async function readDrivers(cwd: string, discover: boolean | undefined, command: string): Promise<string[]> {
  const out = await run(['config', '-z', '--list'], { cwd, okCodes: [1], discover }, command);
  // Each entry is "key\nvalue" ("key" alone for a bare boolean).
  return splitZ(out.stdout.toString('utf8')).filter((entry) => driverOf(entry.split('\n', 1)[0]!) !== null);
}

/**
 * The settings that switch off every driver that is new or changed since `trusted`. A changed
 * driver is not run at all, rather than run as it was: it may be named by attributes the job
 * wrote. A filter's commands go empty (git then keeps the bytes as they are) and it stops being
 * required; a merge driver becomes `false`, so the merge reports a conflict on that file rather
 * than taking one side (an empty driver would run "" and fail the whole merge).
 */
export function driverOverrides(current: readonly string[], trusted: TrustedDrivers): [string, string][] {
  const byDriver = (entries: readonly string[]) => {
    const map = new Map<string, string[]>();
    for (const entry of entries) {
      const id = driverOf(entry.split('\n', 1)[0]!)!;
      map.set(id, [...(map.get(id) ?? []), entry]);
    }
    return map;
  };
  const before = byDriver(trusted);
  const overrides: [string, string][] = [];
  for (const [id, entries] of byDriver(current)) {
    if (before.get(id)?.join('\0') === entries.join('\0')) continue;
    const [kind, name] = id.split('\0');
    if (kind === 'filter') {
      overrides.push([`filter.${name}.clean`, ''], [`filter.${name}.smudge`, ''], [`filter.${name}.process`, ''], [`filter.${name}.required`, 'false']);
    } else if (kind === 'merge') {
      overrides.push([`merge.${name}.driver`, 'false']);
    } else {
      overrides.push(['merge.default', 'text']); // git's own line merge, its default
    }
  }
  return overrides;
}

/**
 * Config as environment (GIT_CONFIG_COUNT, git 2.31+), after any the server inherited: unlike -c
 * it takes a driver name holding "=" as it is.
 */
function configEnv(settings: [string, string][]): Record<string, string> {
  if (!settings.length) return {};
  const start = Number(process.env.GIT_CONFIG_COUNT) || 0;
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(start + settings.length) };
  settings.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${start + i}`] = key;
    env[`GIT_CONFIG_VALUE_${start + i}`] = value;
  });
  return env;
}

function gitEnv(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of REPO_VARS) delete env[name];
  return {
    ...env,
    GIT_TERMINAL_PROMPT: '0',
    // Never refresh the user's index as a side effect of a read (git status and diff would).
    GIT_OPTIONAL_LOCKS: '0',
    GIT_PAGER: 'cat',
    PAGER: 'cat',
    LC_ALL: 'C',
    // No transport at all. We never fetch, but a partial clone fetches missing objects on demand,
    // which would run what the repository names: core.sshCommand, a credential helper, an ext::
    // remote. Unlike protocol.allow=never this outranks a planted protocol.<name>.allow.
    GIT_ALLOW_PROTOCOL: '',
    ...extra,
  };
}

/** The full result of one git command; throws GitError unless it exits 0 or with one of `okCodes`. */
export function runGitResult(args: string[], opts: GitOptions): Promise<GitResult> {
  return run(args, opts, `git ${args.join(' ')}`);
}

async function run(args: string[], opts: GitOptions, command: string): Promise<GitResult> {
  // The subcommand, past any -c the caller gave.
  let at = 0;
  while (args[at] === '-c') at += 2;
  const sub = args[at] ?? '';
  const guarded = DIFF_COMMANDS.has(sub) ? [...args.slice(0, at + 1), '--no-ext-diff', '--no-textconv', ...args.slice(at + 1)] : args;
  // Read just before the command, so a driver planted at any time before is seen. A sandboxed job
  // still running (codex_diff allows that) cannot race this read: every agent's sandbox keeps .git
  // read-only. A danger-full-access job still running can (it may rewrite the config between this
  // read and git's), and a driver it planted before a later job's workspace was made is recorded
  // by that job as trusted; neither is guarded, since such a job runs anything as the user anyway.
  const drivers = NO_DRIVERS.has(sub) ? [] : driverOverrides(await readDrivers(opts.cwd, opts.discover, command), opts.drivers ?? []);
  const env = { ...(opts.discover ? {} : { GIT_WORK_TREE: opts.cwd }), ...configEnv(drivers), ...opts.env };
  return spawnGit(['-c', 'core.quotepath=off', ...GUARD, '--no-pager', ...guarded], { ...opts, env }, command);
}

function spawnGit(argv: string[], opts: GitOptions, command: string): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    // Output is collected in chunks, so patches of any size come back whole (no maxBuffer).
    const child = spawn('git', argv, { cwd: opts.cwd, env: gitEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      const why =
        e.code === 'ENOENT' && !fs.existsSync(opts.cwd)
          ? `the directory ${opts.cwd} does not exist`
          : e.code === 'ENOENT'
            ? 'git is not installed or not on PATH'
            : e.message;
      reject(new GitError(`${command} could not run: ${why}`, '', null));
    });
    child.on('close', (code) => {
      const stderr = Buffer.concat(err).toString('utf8').trim();
      const status = code ?? -1;
      if (status === 0 || opts.okCodes?.includes(status)) {
        resolve({ stdout: Buffer.concat(out), stderr, code: status });
      } else {
        reject(new GitError(`${command} failed (exit ${code ?? 'by signal'})${stderr ? `: ${stderr}` : ''}`, stderr, code));
      }
    });
    // git may exit before reading all its input (e.g. on a bad argument); its exit status says why.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** git's standard output as bytes (binary patches, NUL-separated listings with any path bytes). */
export async function runGitBuffer(args: string[], opts: GitOptions): Promise<Buffer> {
  return (await runGitResult(args, opts)).stdout;
}

/** git's standard output as text. */
export async function runGit(args: string[], opts: GitOptions): Promise<string> {
  return (await runGitBuffer(args, opts)).toString('utf8');
}

/** Splits git's `-z` output into its fields (the trailing NUL ends the last one). */
export function splitZ(out: string): string[] {
  const parts = out.split('\0');
  if (parts.at(-1) === '') parts.pop();
  return parts;
}

/** The empty tree's id in this repository's hash (SHA-1 or SHA-256): the "before" of a repository with no commit. */
export async function emptyTree(cwd: string): Promise<string> {
  return (await runGit(['hash-object', '-t', 'tree', '--stdin'], { cwd, input: '' })).trim();
}

/** Author and committer for the commits this layer makes, so it works where user.name is unset. */
export const COMMIT_ENV: Record<string, string> = {
  GIT_AUTHOR_NAME: 'codex-async-mcp',
  GIT_AUTHOR_EMAIL: 'codex-async-mcp@localhost',
  GIT_COMMITTER_NAME: 'codex-async-mcp',
  GIT_COMMITTER_EMAIL: 'codex-async-mcp@localhost',
};

/**
 * Records `tree` as a commit (parents optional), unsigned whatever the user's commit.gpgSign says.
 * `author`: who made the change (a landed job's agent); the committer stays codex-async-mcp.
 */
export async function commitTree(cwd: string, tree: string, parents: string[], message: string, author?: { name: string; email: string }): Promise<string> {
  const args = ['commit-tree', '--no-gpg-sign', tree, ...parents.flatMap((p) => ['-p', p])];
  const env = author ? { ...COMMIT_ENV, GIT_AUTHOR_NAME: author.name, GIT_AUTHOR_EMAIL: author.email } : COMMIT_ENV;
  return (await runGit(args, { cwd, env, input: `${message}\n` })).trim();
}

/** Paths for a message: the first `max`, then how many more. */
export function listPaths(paths: string[], max: number): string {
  return paths.length > max ? `${paths.slice(0, max).join(', ')} and ${paths.length - max} more` : paths.join(', ');
}
