import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { findExecutable } from '../agents/binary.js';
import { isWithin } from '../paths.js';
import { platform } from './platform/index.js';

/**
 * Our OS sandbox for the agents that have none of their own (Claude Code, Copilot CLI, Gemini CLI):
 * what a job may write (SandboxSpec, for either platform's sandbox), and on Linux bubblewrap: the
 * agent and everything it starts run in a bubblewrap mount namespace where the whole file
 * system is read-only except what the job's mode allows. (macOS: the same table as a Seatbelt
 * profile, supervise/seatbelt.ts; supervise/osSandbox.ts picks.) The agents' own permission checks stay on
 * as a second line, but this is what enforces the mode: a command their classifiers let through
 * (`git diff --output=~/.bashrc`, `GIT_EXTERNAL_DIFF=… git diff`) still cannot write outside.
 *
 * Reading is not all a read-only mount allows: `connect()` on a Unix socket file needs no write
 * access, and the sockets of the user's session run commands outside any sandbox (tmux's server,
 * the D-Bus session bus and `systemd-run --user`, docker, an ssh-agent). So every socket file found
 * where sessions keep them (/tmp, /run) when the job starts, and every one the session's variables
 * name, is covered with /dev/null (a connect is refused); the variables are unset, and the IPC
 * namespace is private. Emptying /tmp and /run instead (a tmpfs each) would take away what a job
 * legitimately reads there (a repository or a tool installed under /tmp, a PATH entry under /run)
 * with no way to know it all beforehand; covering sockets takes away only sockets.
 *
 * What stays as it was: the network (the agent reaches its model API from inside, so abstract Unix
 * sockets and loopback TCP services stay reachable), the pid space (the server finds a job's
 * processes by process group and environment marker, supervise/proc.ts) and the process group
 * (cancel signals it). A socket made after the job started is not covered.
 */

/** Variables that point a process at the user's session sockets. */
export const SESSION_SOCKET_VARS = ['SSH_AUTH_SOCK', 'DBUS_SESSION_BUS_ADDRESS', 'DOCKER_HOST', 'TMUX', 'XDG_RUNTIME_DIR'];

/**
 * Where sessions keep their sockets, and how deep to look: /tmp/tmux-1000/default,
 * /tmp/.X11-unix/X0 and /tmp/ssh-XXXX/agent.1 lie two levels down; /run/user/1000/systemd/private
 * and /run/user/1000/gnupg/S.gpg-agent four. /var/run is usually a link to /run (links are not
 * followed). Each walk stops after DIRS_AT_MOST directories, so a /tmp full of trees costs a bounded
 * time (a busy /tmp holds thousands of directories: a test run's own, here); /run is walked first.
 */
const SOCKET_PLACES: ReadonlyArray<[dir: string, depth: number]> = [['/run', 4], ['/var/run', 4], ['/tmp', 2]];
const DIRS_AT_MOST = 20_000;

/** What one job may write inside its sandbox. */
export interface SandboxSpec {
  /** workspace-write: cwd and add_dirs are writable too; read-only: they are not. */
  mode: 'read-only' | 'workspace-write';
  /** The job's cwd (or worktree) and add_dirs. */
  workspace: readonly string[];
  /** Always writable: the agent's own state, the job's temp directory, job files the agent writes. */
  writable: readonly string[];
  /**
   * Read-only again inside `writable`: the agent's settings and the code it loads on a later run
   * (AgentWrites.settings, AgentWrites.locked).
   */
  locked?: readonly string[];
  /** Covered with /dev/null: the socket files of the user's session (sessionSockets). */
  masked?: readonly string[];
  /**
   * Git directories kept read-only even inside a writable workspace (gitDirsOf): a job edits files
   * but never a repository's config, hooks, refs or objects, which the server's and the user's git
   * later read and run.
   */
  gitDirs: readonly string[];
}

/**
 * bwrap's arguments for a job, up to the command. Later mounts cover earlier ones: everything
 * read-only, then the workspace (writable or not by the mode), then its git directories
 * read-only again, then what the agent itself must write (never inside a git directory), then its
 * settings and code inside that read-only again, and last the session's socket files covered.
 * `--die-with-parent`: if bwrap itself is killed, the agent goes with it rather than run on outside
 * the job's wrapper.
 */
export function bwrapArgs(spec: SandboxSpec): string[] {
  const args = ['--die-with-parent', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--unshare-ipc'];
  for (const name of SESSION_SOCKET_VARS) args.push('--unsetenv', name);
  for (const dir of spec.workspace) args.push(spec.mode === 'workspace-write' ? '--bind' : '--ro-bind', dir, dir);
  for (const dir of spec.gitDirs) args.push('--ro-bind', dir, dir);
  for (const p of spec.writable) args.push('--bind', p, p);
  for (const p of lockedParents(spec.writable, spec.locked ?? [])) args.push('--bind', p, p);
  for (const p of spec.locked ?? []) args.push('--ro-bind', p, p);
  for (const p of spec.masked ?? []) args.push('--ro-bind', '/dev/null', p);
  return args;
}

/**
 * The socket files of the user's session a job must not reach: those under SOCKET_PLACES, and those
 * the session's variables name wherever they are (an ssh-agent's in the home). Real paths: bwrap
 * mounts at the path a link resolves to (a link such as ~/.ssh/agent.sock into /tmp is common).
 */
export function sessionSockets(env: NodeJS.ProcessEnv): string[] {
  // Every bound socket where the platform lists them: a walk stops after DIRS_AT_MOST directories,
  // and a /tmp of 26,000 test directories hid a socket from it (a job connected to it).
  const bound = platform().boundSockets?.();
  // As deep as the walk would look, no deeper: a job's own sockets lie deeper, in its $TMPDIR
  // (/tmp/…/jobs/<id>/tmp/cc-socks/…), where covering one fails (its place is read-only).
  const placed = bound ? bound.filter((p) => SOCKET_PLACES.some(([dir, depth]) => isWithin(p, dir) && path.relative(dir, p).split(path.sep).length <= depth)) : socketsIn(SOCKET_PLACES);
  const real = [...placed, ...namedSockets(env)].flatMap((p) => {
    try {
      const at = fs.realpathSync(p);
      return fs.statSync(at).isSocket() ? [at] : [];
    } catch {
      return []; // Gone since it was listed: nothing to reach.
    }
  });
  return [...new Set(real)];
}

/** The socket files the session variables name, in each of their forms (a path, `unix:path=…`, `unix://…`, tmux's `path,pid,n`). */
export function namedSockets(env: NodeJS.ProcessEnv): string[] {
  const named = SESSION_SOCKET_VARS.flatMap((name) => {
    const value = env[name] ?? '';
    return [value, value.split(',')[0]!, ...[...value.matchAll(/(?:path=|unix:\/\/)([^,;]+)/g)].map((m) => m[1]!)];
  });
  return [...new Set(named.filter((p) => path.isAbsolute(p) && fs.statSync(p, { throwIfNoEntry: false })?.isSocket()))];
}

/** Socket files under each directory, down to its depth, breadth first; links are not followed. */
export function socketsIn(places: ReadonlyArray<readonly [dir: string, depth: number]>): string[] {
  const found: string[] = [];
  for (const [top, depth] of places) {
    if (!fs.lstatSync(top, { throwIfNoEntry: false })?.isDirectory()) continue;
    let dirs = 0;
    let level = [top];
    for (let d = 1; d <= depth && level.length && dirs < DIRS_AT_MOST; d++) {
      const next: string[] = [];
      for (const dir of level) {
        if (++dirs > DIRS_AT_MOST) break;
        let entries: fs.Dirent[];
        try {
          entries = fs.readdirSync(dir, { withFileTypes: true });
        } catch {
          continue; // Not ours to read: nor the job's.
        }
        for (const e of entries) {
          const p = path.join(dir, e.name);
          if (e.isSocket()) found.push(p);
          else if (e.isDirectory()) next.push(p);
        }
      }
      level = next;
    }
  }
  return found;
}

/**
 * The directories between a writable root and a read-only path inside it (~/.gemini/tmp for
 * ~/.gemini/tmp/bin), bound onto themselves so each is a mount point: a mount point cannot be
 * renamed (EBUSY), so a job cannot move the directory aside and make a writable one in its place.
 */
function lockedParents(writable: readonly string[], locked: readonly string[]): string[] {
  const parents = new Set<string>();
  for (const p of locked) {
    const root = writable.find((w) => p.startsWith(`${w}/`));
    if (!root) continue;
    for (let dir = path.dirname(p); dir.startsWith(`${root}/`); dir = path.dirname(dir)) parents.add(dir);
  }
  return [...parents].sort((a, b) => a.length - b.length);
}

/**
 * The job's command run inside bwrap. Stopping a job sends SIGINT to its whole process group, bwrap
 * included; bwrap would die of it at once and the wrapper record an exit while the agent is still
 * ending its turn. So bwrap ignores INT, TERM and HUP (the shell's `trap ''`, kept across exec) and
 * `env --default-signal` gives the agent the default handling back. A SIGKILL still ends both.
 */
export function bwrapCommand(bwrap: string, spec: SandboxSpec, command: string, args: readonly string[]): { command: string; args: string[] } {
  return {
    command: '/bin/sh',
    args: ['-c', `trap '' INT TERM HUP; exec "$@"`, 'sandbox', bwrap, ...bwrapArgs(spec), '--', 'env', '--default-signal=INT,TERM,HUP', command, ...args],
  };
}

/**
 * The git directories a job must not write: `.git` (a directory, or the file a linked worktree or
 * submodule points through) at the top of each writable workspace directory. A git directory above
 * a workspace directory, and the one a worktree's `.git` file points to, lie outside it and are
 * read-only anyway.
 */
export function gitDirsOf(dirs: readonly string[]): string[] {
  return dirs.map((dir) => path.join(dir, '.git')).filter((p) => fs.existsSync(p));
}

/** What an agent writes in its sandbox, and what inside that stays read-only (AgentWrites). */
export interface Writes {
  dirs: readonly string[];
  files: readonly string[];
  settings?: readonly string[];
  lockedDirs?: readonly string[];
  lockedFiles?: readonly string[];
}

/**
 * Makes what the agent must write, and what stays read-only inside it, exist, since bwrap binds only
 * existing paths (and a read-only path made by nobody could be made by the job): directories, then
 * files (empty), then settings files (`{}`, an empty JSON object every CLI reads as no settings).
 * Returns the real paths of both.
 */
export function prepareWritable(writes: Writes): { writable: string[]; locked: string[] } {
  for (const dir of [...writes.dirs, ...(writes.lockedDirs ?? [])]) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const file of [...writes.files, ...(writes.lockedFiles ?? [])]) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.closeSync(fs.openSync(file, 'a', 0o600));
  }
  for (const file of writes.settings ?? []) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    try {
      fs.writeFileSync(file, '{}\n', { flag: 'wx', mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  // bwrap mounts at the path it resolves: binding the real path keeps a symlink in the way from mattering.
  const real = (paths: readonly string[]) => paths.map((p) => fs.realpathSync(p));
  return {
    writable: real([...writes.dirs, ...writes.files]),
    locked: real([...(writes.settings ?? []), ...(writes.lockedDirs ?? []), ...(writes.lockedFiles ?? [])]),
  };
}

/**
 * The OS sandbox a job runs in: bubblewrap on Linux, Seatbelt on macOS (supervise/seatbelt.ts);
 * supervise/osSandbox.ts picks one.
 */
export type SandboxKind = 'bubblewrap' | 'seatbelt';

/** How messages name each sandbox. */
export const SANDBOX_NAMES: Record<SandboxKind, string> = { bubblewrap: 'bubblewrap', seatbelt: 'Seatbelt (sandbox-exec)' };

export type SandboxProbe =
  | { ok: true; kind: SandboxKind; binary: string }
  | { ok: false; kind: SandboxKind; reason: string; fix: string };

const FIX_INSTALL =
  'install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`, Fedora: `dnf install bubblewrap`, Arch: `pacman -S bubblewrap`)';
const FIX_USERNS =
  'let unprivileged users create user namespaces (`sysctl kernel.unprivileged_userns_clone=1`; on Ubuntu 24.04 and later, allow bwrap in AppArmor or set `kernel.apparmor_restrict_unprivileged_userns=0`), or run the server where they are allowed';

/** Whether bwrap can make a job's sandbox here: found, and able to run a command the way jobs run (all read-only, signals reset). */
export async function probeBubblewrap(bwrapName: string, searchPath: string): Promise<SandboxProbe> {
  const kind = 'bubblewrap';
  const bwrap = findExecutable(bwrapName, searchPath);
  if (!bwrap) return { ok: false, kind, reason: `bubblewrap (${bwrapName}) is not installed`, fix: FIX_INSTALL };
  const spec: SandboxSpec = { mode: 'read-only', workspace: [], writable: [], gitDirs: [] };
  const { command, args } = bwrapCommand(bwrap, spec, 'true', []);
  const said = await failureOf(command, args);
  if (said === null) return { ok: true, kind, binary: bwrap };
  return {
    ok: false,
    kind,
    reason: `bubblewrap (${bwrap}) cannot make a sandbox here: ${said}`,
    fix: /default-signal/.test(said) ? 'install GNU coreutils 8.31 or later (its `env --default-signal`)' : FIX_USERNS,
  };
}

/** Runs a probe's command: null if it succeeded, else the first line it said (or how it failed). */
export function failureOf(command: string, args: readonly string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 20_000 }, (err, _stdout, stderr) => resolve(err ? stderr.trim().split('\n')[0] || err.message : null));
  });
}

/** Why a job cannot run sandboxed here, and what to do: one message for codex_start and a launch. */
export function sandboxRefusal(agent: { title: string }, access: { sandbox: string }, probe: Extract<SandboxProbe, { ok: false }>): string {
  return (
    `${agent.title} runs inside our ${SANDBOX_NAMES[probe.kind]} sandbox under sandbox "${access.sandbox}", and ${probe.reason}. ` +
    `To fix it: ${probe.fix} (\`codex-async-mcp doctor\` checks it). Until then, use agent "codex", which has a sandbox of its own, ` +
    `or, only if an agent unconfined on this machine is acceptable, sandbox "danger-full-access" (the operator allows it with CODEX_ASYNC_ALLOW_DANGEROUS=1).`
  );
}
