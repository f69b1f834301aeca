import { execFileSync } from 'node:child_process';
import type { Environment, Platform, ProcRow, ProcStat } from './platform.js';

/**
 * Supervision without /proc, as on macOS: processes from `ps`, open files and listening ports from
 * `lsof`, with the options and output formats macOS's BSD tools and Linux's procps and lsof share
 * (ps -o pid=,ppid=,pgid=,stat=,lstart=; lsof -t, -F). One difference is unavoidable and kept to a
 * flag: showing the environment is `-E` on macOS and `e` in procps.
 *
 * Identity: a start time from `lstart`, read in UTC and the C locale, has a resolution of one
 * second. A pid is reused only after the kernel has handed out every other free one (both kernels
 * allocate upwards and wrap: at 99,999 on macOS, pid_max on Linux), so the same pid started in the
 * same second by someone else would take that many process starts within one second. A stepped
 * clock can move `lstart` on Linux (it is boot time plus ticks); on macOS it is recorded at start.
 *
 * A job's marker is looked for in the environment, as `ps` shows a user their own processes'
 * (doctor checks that it does here), because nothing else reaches every process of a job: codex
 * closes every descriptor but 0–2 in the commands it runs (a descriptor the wrapper left open on fd 9
 * is gone in codex's shell, in every sandbox mode), so an inherited open file would not mark them,
 * and their argv is their own. Where `ps` shows no environment, a job's processes are its group and
 * the descendants of what is found (supervise/proc.ts).
 *
 * Each look is a process (~17 ms of CPU on Linux), where /proc costs none: a table is still read
 * once per turn of the event loop (supervise/proc.ts), and environments only for the processes a
 * query must check.
 */

const PS_ENV = { ...process.env, LC_ALL: 'C', TZ: 'UTC0' };
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const ENV_FLAGS = process.platform === 'darwin' ? ['-E', '-ww'] : ['eww'];

/** Runs a tool that exits 1 when it finds nothing (ps -p, lsof); its output either way. */
function run(tool: string, args: readonly string[]): string {
  try {
    // Bounded: lsof can hang on an unreachable network mount, and the server waits on it.
    return execFileSync(tool, args, { env: PS_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024, timeout: 10_000 });
  } catch (err) {
    const e = err as { status?: number | null; stdout?: string; stderr?: string; code?: string; message: string };
    if (e.status === 1 && !e.stderr?.trim()) return e.stdout ?? '';
    throw new Error(`${tool} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** "Mon Dec  7 18:38:51 2026" as Mon_Dec_7_18:38:51_2026: one token, so a "pid starttime" line splits in two. */
const token = (fields: readonly string[]) => fields.join('_');

/** `pid ppid pgid stat Wdy Mon D HH:MM:SS YYYY` lines into rows. */
function parseRows(text: string): ProcRow[] {
  const rows: ProcRow[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 9) continue;
    rows.push({ pid: Number(f[0]), ppid: Number(f[1]), pgrp: Number(f[2]), state: f[3]!, startTime: token(f.slice(4)) });
  }
  return rows;
}

const COLUMNS = ['-o', 'pid=', '-o', 'ppid=', '-o', 'pgid=', '-o', 'stat=', '-o', 'lstart='];

function stats(pids: readonly number[]): Map<number, ProcStat> {
  const found = new Map<number, ProcStat>();
  const wanted = pids.filter((pid) => Number.isInteger(pid) && pid > 0);
  if (wanted.length === 0) return found;
  for (const { pid, ...stat } of parseRows(run('ps', [...COLUMNS, '-p', wanted.join(',')]))) found.set(pid, stat);
  return found;
}

/** lsof, wherever this system keeps it (macOS: /usr/sbin, often not on a server's PATH). */
function lsof(args: readonly string[]): string {
  let last: Error | undefined;
  for (const tool of ['lsof', '/usr/sbin/lsof', '/usr/bin/lsof']) {
    try {
      return run(tool, args);
    } catch (err) {
      last = err as Error;
      if (!/ENOENT/.test(last.message)) throw last;
    }
  }
  throw new Error(`lsof is not installed, so which processes hold a file open cannot be known (${last?.message})`);
}

/**
 * The wrapper's shell functions: its own start time and another's from `ps` (one process each),
 * and a callback in a session of its own through Node's detached spawn, which calls setsid():
 * macOS has no setsid command. A listener's identity is asked of `ps` once; while the wrapper waits
 * for it, `kill -0` (a builtin) says it still exists: its pid reused by another process within
 * those seconds, or left a zombie, would only make the wrapper wait out its patience.
 */
const SHELL = `verified=
psof() {
  set -- $(LC_ALL=C TZ=UTC0 ps -o stat= -o lstart= -p "$1" 2>/dev/null)
  [ $# -eq 6 ] || return 1
  ps_state=$1; ps_start="$2_$3_$4_$5_$6"
}
selfstart() { st=; psof $$ && st=$ps_start; }
alive_as() {
  want=$2
  case " $verified " in *" $1:$want "*) kill -0 "$1" 2>/dev/null; return;; esac
  psof "$1" && [ "\${ps_state#Z}" = "$ps_state" ] && [ "$ps_start" = "$want" ] && verified="$verified $1:$want"
}
detached() { "$node" -e 'require("child_process").spawn(process.argv[1], process.argv.slice(2), { detached: true, stdio: ["ignore", "ignore", "inherit"] }).unref()' -- "$@"; }`;

export const posix: Platform = {
  name: 'posix',
  lookCostsAProcess: true,
  stat: (pid) => stats([pid]).get(pid) ?? null,
  stats,
  all: () => parseRows(run('ps', ['-A', ...COLUMNS])),
  owns: (startTime) => /^[A-Z][a-z]{2}_[A-Z][a-z]{2}_\d{1,2}_\d\d:\d\d:\d\d_\d{4}$/.test(startTime),
  order(startTime) {
    const [, mon, day, time, year] = startTime.split('_');
    const [h, m, s] = (time ?? '').split(':').map(Number);
    return Date.UTC(Number(year), MONTHS.indexOf(mon ?? ''), Number(day), h, m, s) / 1000;
  },
  // lstart is cut to the second: two seconds back is surely one second old.
  settledBefore: () => Math.floor(Date.now() / 1000) - 2,
  environments(pids) {
    const envs = new Map<number, Environment>();
    if (pids.length === 0) return envs;
    for (const line of run('ps', [...ENV_FLAGS, '-o', 'pid=', '-o', 'command=', '-p', pids.join(',')]).split('\n')) {
      const m = /^\s*(\d+) (.*)$/.exec(line);
      if (m) envs.set(Number(m[1]), ` ${m[2]} `);
    }
    return envs;
  },
  // Entries are separated by spaces after the command line; a value holding " NAME=value " would pass too.
  carries: (env, entry) => String(env).includes(` ${entry} `),
  holders(files) {
    if (files.length === 0) return [];
    return lsof(['-w', '-t', '--', ...files])
      .split('\n')
      .filter((l) => /^\d+$/.test(l.trim()))
      .map(Number);
  },
  listening() {
    const ports = new Set<number>();
    let text: string;
    try {
      text = lsof(['-w', '-nP', '-iTCP', '-sTCP:LISTEN', '-Fn']);
    } catch {
      return ports;
    }
    // "n*:3000", "n127.0.0.1:8080", "n[::1]:5173".
    for (const line of text.split('\n')) {
      const port = line.startsWith('n') ? Number(line.slice(line.lastIndexOf(':') + 1)) : NaN;
      if (Number.isInteger(port) && port > 0) ports.add(port);
    }
    return ports;
  },
  shell: SHELL,
};
