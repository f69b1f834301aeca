import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { findExecutable } from '../agents/binary.js';

/**
 * Our OS sandbox for the agents that have none of their own (Claude Code, Copilot CLI, Gemini CLI):
 * the agent and everything it starts run in a bubblewrap mount namespace where the whole file
 * system is read-only except what the job's mode allows. The agents' own permission checks stay on
 * as a second line, but this is what enforces the mode: a command their classifiers let through
 * (`git diff --output=~/.bashrc`, `GIT_EXTERNAL_DIFF=… git diff`) still cannot write outside.
 *
 * What stays as it was: the network (the agent reaches its model API from inside), the pid space
 * (the server finds a job's processes by process group and environment marker, supervise/proc.ts)
 * and the process group (cancel signals it).
 */

/** What one job may write inside its sandbox. */
export interface SandboxSpec {
  /** workspace-write: cwd and add_dirs are writable too; read-only: they are not. */
  mode: 'read-only' | 'workspace-write';
  /** The job's cwd (or worktree) and add_dirs. */
  workspace: readonly string[];
  /** Always writable: the agent's own state, the job's temp directory, job files the agent writes. */
  writable: readonly string[];
  /** Read-only again inside `writable`: the agent's settings that run commands (AgentWrites.settings). */
  settings?: readonly string[];
  /**
   * Git directories kept read-only even inside a writable workspace (gitDirsOf): a job edits files
   * but never a repository's config, hooks, refs or objects, which the server's and the user's git
   * later read and run.
   */
  gitDirs: readonly string[];
}

/**
 * bwrap's arguments for a job, up to the command. Later mounts cover earlier ones: everything
 * read-only, then the workspace writable, then its git directories read-only again, then what the
 * agent itself must write (never inside a git directory), then its settings inside that read-only
 * again. `--die-with-parent`: if bwrap itself is killed, the agent goes with it rather than run on
 * outside the job's wrapper.
 */
export function bwrapArgs(spec: SandboxSpec): string[] {
  const args = ['--die-with-parent', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc'];
  if (spec.mode === 'workspace-write') for (const dir of spec.workspace) args.push('--bind', dir, dir);
  for (const dir of spec.gitDirs) args.push('--ro-bind', dir, dir);
  for (const p of spec.writable) args.push('--bind', p, p);
  for (const p of spec.settings ?? []) args.push('--ro-bind', p, p);
  return args;
}

/**
 * The job's command run inside bwrap. Stopping a job sends SIGINT to its whole process group, bwrap
 * included; bwrap would die of it at once and the wrapper record an exit while the agent is still
 * ending its turn. So bwrap ignores INT, TERM and HUP (the shell's `trap ''`, kept across exec) and
 * `env --default-signal` gives the agent the default handling back. A SIGKILL still ends both.
 */
export function sandboxedCommand(bwrap: string, spec: SandboxSpec, command: string, args: readonly string[]): { command: string; args: string[] } {
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

/**
 * Makes what the agent must write exist, since bwrap binds only existing paths: directories, then
 * files (empty), then settings files (`{}`, an empty JSON object every CLI reads as no settings).
 */
export function prepareWritable(dirs: readonly string[], files: readonly string[], settings: readonly string[] = []): string[] {
  for (const dir of dirs) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const file of files) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.closeSync(fs.openSync(file, 'a', 0o600));
  }
  for (const file of settings) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    try {
      fs.writeFileSync(file, '{}\n', { flag: 'wx', mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  // bwrap mounts at the path it resolves: binding the real path keeps a symlink in the way from mattering.
  return [...dirs, ...files].map((p) => fs.realpathSync(p));
}

export type SandboxProbe = { ok: true; bwrap: string } | { ok: false; reason: string; fix: string };

const FIX_INSTALL =
  'install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`, Fedora: `dnf install bubblewrap`, Arch: `pacman -S bubblewrap`)';
const FIX_USERNS =
  'let unprivileged users create user namespaces (`sysctl kernel.unprivileged_userns_clone=1`; on Ubuntu 24.04 and later, allow bwrap in AppArmor or set `kernel.apparmor_restrict_unprivileged_userns=0`), or run the server where they are allowed';

const probes = new Map<string, Promise<SandboxProbe>>();

/**
 * Whether bwrap can make a job's sandbox here: found, and able to run a command the way jobs run
 * (all read-only, signals reset). Asked once per process and binary: a machine does not gain or
 * lose user namespaces while a server runs, and a start must not pay for a process each time.
 */
export function probeSandbox(bwrapName: string, searchPath: string): Promise<SandboxProbe> {
  const key = `${bwrapName}\0${searchPath}`;
  let probe = probes.get(key);
  if (!probe) {
    probe = runProbe(bwrapName, searchPath);
    probes.set(key, probe);
  }
  return probe;
}

async function runProbe(bwrapName: string, searchPath: string): Promise<SandboxProbe> {
  const bwrap = findExecutable(bwrapName, searchPath);
  if (!bwrap) return { ok: false, reason: `bubblewrap (${bwrapName}) is not installed`, fix: FIX_INSTALL };
  const spec: SandboxSpec = { mode: 'read-only', workspace: [], writable: [], gitDirs: [] };
  const { command, args } = sandboxedCommand(bwrap, spec, 'true', []);
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 20_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve({ ok: true, bwrap });
      const said = stderr.trim().split('\n')[0] || err.message;
      resolve({
        ok: false,
        reason: `bubblewrap (${bwrap}) cannot make a sandbox here: ${said}`,
        fix: /default-signal/.test(said) ? 'install GNU coreutils 8.31 or later (its `env --default-signal`)' : FIX_USERNS,
      });
    });
  });
}

/** Why a job cannot run sandboxed here, and what to do: one message for codex_start and a launch. */
export function sandboxRefusal(agent: { title: string }, access: { sandbox: string }, probe: Extract<SandboxProbe, { ok: false }>): string {
  return (
    `${agent.title} runs inside our bubblewrap sandbox under sandbox "${access.sandbox}", and ${probe.reason}. ` +
    `To fix it: ${probe.fix} (\`codex-async-mcp doctor\` checks it). Until then, use agent "codex", which has a sandbox of its own, ` +
    `or, only if an agent unconfined on this machine is acceptable, sandbox "danger-full-access" (the operator allows it with CODEX_ASYNC_ALLOW_DANGEROUS=1).`
  );
}
