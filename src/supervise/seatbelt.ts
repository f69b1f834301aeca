import path from 'node:path';
import { findExecutable } from '../agents/binary.js';
import { failureOf, SESSION_SOCKET_VARS, type SandboxProbe, type SandboxSpec } from './sandbox.js';

/**
 * Our OS sandbox on macOS: the same access-mode table as bubblewrap on Linux (supervise/sandbox.ts),
 * written as a Seatbelt profile for `sandbox-exec -p PROFILE -D… -- command`. Everything else stays
 * as it was (`allow default`: reading, processes, the network, which the agent needs for its model
 * API); what the profile takes away:
 *
 * - Writing anywhere but the writable roots (the agent's own state, the job's private TMPDIR, job
 *   files, and under workspace-write cwd and add_dirs) and a few devices a shell writes (/dev/null).
 *   Inside the roots the read-only paths stay read-only: each workspace's `.git`, the agent's
 *   settings and code (`locked`), the session's socket files. Seatbelt decides by the real path a
 *   write lands on, not by mounts, so every directory on the way down from a root to a read-only path
 *   is kept too (the node itself, not what is in it): renamed aside or replaced by a link, it would
 *   send the user's next run somewhere the job could write (bwrap gets the same from mount points,
 *   which cannot be renamed). Hard links are refused but to a file the job may write: one made
 *   inside a root to a read-only file, or to a socket outside the roots, would be a second path to
 *   it that these rules let through (bwrap's mounts refuse such links: EXDEV).
 * - Connecting to Unix sockets, bar the DNS resolver's (/private/var/run/mDNSResponder, which every
 *   name lookup goes through) and sockets under the writable roots (a tool's own, in the job's
 *   TMPDIR): the session's sockets (an ssh-agent's under /private/tmp, Docker's, tmux's) run
 *   commands outside any sandbox, and on macOS they are found by no fixed place, so all are refused
 *   rather than those found (`masked` are refused even under a root). Their variables are unset.
 * - Apple Events and LaunchServices: `osascript` telling Terminal to run a script, or `open` on a
 *   `.command` file, would run it outside the sandbox.
 *
 * Not made writable: the per-user cache and temp directories under /private/var/folders (the user's
 * tools trust what is cached there; the job has its own TMPDIR). Not taken away: System V IPC (no
 * way to run a command; bwrap's private IPC namespace has no Seatbelt twin), and launchd itself
 * (whether a `launchctl submit` from inside runs its command unconfined is to be tried on a Mac).
 *
 * Paths never enter the profile's text: each is a parameter (`-DW0=/path`, read by `(param "W0")`),
 * so no quote, backslash or parenthesis in a path can change the profile. They must be real paths
 * (/private/tmp, not /tmp), as Seatbelt compares the path a file really has.
 *
 * Signals: sandbox-exec applies the profile to itself and execs the command (sandbox-exec(1),
 * sandbox_init(3): "places the current process into a sandbox"), and /usr/bin/env, which unsets the
 * session's variables, execs in turn; so the agent is the process the wrapper started, and a signal
 * to the job's process group reaches it directly, with its own handling. bwrap's trap and
 * `env --default-signal` (sandbox.ts bwrapCommand) are not needed here.
 *
 * Generated and tested as text on Linux; no Mac runs it in this project's tests.
 */

/** Devices any command may write: discarding output, a terminal, the shell's /dev/fd. */
const DEVICES = [
  '(literal "/dev/null")',
  '(literal "/dev/zero")',
  '(literal "/dev/tty")',
  '(literal "/dev/ptmx")',
  '(literal "/dev/dtracehelper")',
  '(regex #"^/dev/ttys[0-9]+$")',
  '(subpath "/dev/fd")',
];

/** The DNS resolver's socket: getaddrinfo on macOS asks mDNSResponder through it. */
const RESOLVER = '/private/var/run/mDNSResponder';

/** The profile's text and the parameters it reads, in the order given to sandbox-exec. */
export interface SeatbeltProfile {
  profile: string;
  params: Array<[name: string, value: string]>;
}

/**
 * The Seatbelt profile for a job. The writable roots, then what stays read-only inside them (a
 * path and all under it), what stays on the way to those (the node only), and the socket files.
 * Later rules win over earlier ones, which the profile is written in the order of.
 */
export function seatbeltProfile(spec: SandboxSpec): SeatbeltProfile {
  const roots = unique([...(spec.mode === 'workspace-write' ? spec.workspace : []), ...spec.writable]);
  const readOnly = unique([...spec.gitDirs, ...(spec.locked ?? [])]);
  const sockets = unique(spec.masked ?? []);
  const kept = unique([...readOnly, ...sockets].flatMap((p) => above(p, roots))).filter((p) => !readOnly.includes(p));

  const params: SeatbeltProfile['params'] = [];
  const named = (prefix: string, paths: readonly string[]) =>
    paths.map((p, i) => {
      params.push([`${prefix}${i}`, p]);
      return `(param "${prefix}${i}")`;
    });
  const [W, R, K, S] = [named('W', roots), named('R', readOnly), named('K', kept), named('S', sockets)];

  const exceptions = [
    ...R.flatMap((r) => [`(require-not (literal ${r}))`, `(require-not (subpath ${r}))`]),
    ...K.map((k) => `(require-not (literal ${k}))`),
    ...S.map((s) => `(require-not (literal ${s}))`),
  ];
  const writable = W.map((w) => (exceptions.length ? `(require-all (subpath ${w}) ${exceptions.join(' ')})` : `(subpath ${w})`));

  const profile = [
    '(version 1)',
    '(allow default)',
    '(deny file-write*)',
    `(allow file-write*\n  ${[...DEVICES, ...writable].join('\n  ')})`,
    '(deny file-link)',
    ...(writable.length ? [`(allow file-link\n  ${writable.join('\n  ')})`] : []),
    '(deny network-outbound (remote unix-socket))',
    `(allow network-outbound (remote unix-socket (path-literal "${RESOLVER}")))`,
    ...W.map((w) => `(allow network-outbound (remote unix-socket (subpath ${w})))`),
    ...S.map((s) => `(deny network-outbound (remote unix-socket (subpath ${s})))`),
    '(deny appleevent-send)',
    '(deny mach-lookup (global-name "com.apple.coreservices.launchservicesd"))',
  ].join('\n');
  return { profile, params };
}

/** sandbox-exec's arguments for a job, up to the command: the profile, its parameters, and the session's variables unset. */
export function seatbeltArgs(spec: SandboxSpec): string[] {
  const { profile, params } = seatbeltProfile(spec);
  return ['-p', profile, ...params.map(([name, value]) => `-D${name}=${value}`), '--', '/usr/bin/env', ...SESSION_SOCKET_VARS.flatMap((v) => ['-u', v])];
}

/** The job's command run inside Seatbelt. */
export function seatbeltCommand(sandboxExec: string, spec: SandboxSpec, command: string, args: readonly string[]): { command: string; args: string[] } {
  return { command: sandboxExec, args: [...seatbeltArgs(spec), command, ...args] };
}

/** A job's profile with one of each kind of rule; no path need exist. */
const PROBE_SPEC: SandboxSpec = {
  mode: 'workspace-write',
  workspace: ['/private/var/empty/w'],
  writable: ['/private/var/empty/state'],
  gitDirs: ['/private/var/empty/w/.git'],
  locked: ['/private/var/empty/state/code/bin'],
  masked: ['/private/var/empty/w/agent.sock'],
};

/**
 * Whether sandbox-exec can make a job's sandbox here: found, and able to run a command under a
 * profile with every rule a job's has (so a macOS that no longer knows one refuses jobs at the start,
 * saying so, rather than fail each at launch). It fails inside another Seatbelt sandbox (an app's,
 * or an agent's own).
 */
export async function probeSeatbelt(sandboxExecName: string, searchPath: string): Promise<SandboxProbe> {
  const kind = 'seatbelt';
  const sandboxExec = findExecutable(sandboxExecName, searchPath);
  if (!sandboxExec) {
    return {
      ok: false,
      kind,
      reason: `sandbox-exec (${sandboxExecName}), which makes macOS's Seatbelt sandbox, is not here`,
      fix:
        'run the server on macOS, where sandbox-exec is part of the system (/usr/bin/sandbox-exec), and point CODEX_ASYNC_SEATBELT at it if it lies elsewhere; ' +
        'elsewhere leave CODEX_ASYNC_SANDBOX_KIND unset to use the platform\'s own sandbox (bubblewrap on Linux)',
    };
  }
  const { command, args } = seatbeltCommand(sandboxExec, PROBE_SPEC, 'true', []);
  const said = await failureOf(command, args);
  if (said === null) return { ok: true, kind, binary: sandboxExec };
  return {
    ok: false,
    kind,
    reason: `sandbox-exec (${sandboxExec}) cannot make a Seatbelt sandbox here: ${said}`,
    fix: `start the server outside any other sandbox (sandbox-exec cannot nest: an app's or an agent's own sandbox refuses it); \`${sandboxExec} -p '(version 1)(allow default)' true\` shows the error`,
  };
}

/** `p`'s directories, and `p` itself, that lie inside one of the roots (a root included). */
function above(p: string, roots: readonly string[]): string[] {
  const found: string[] = [];
  for (let dir = p; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (roots.some((root) => dir === root || dir.startsWith(`${root}/`))) found.push(dir);
  }
  return found;
}

const unique = (paths: readonly string[]) => [...new Set(paths)];
