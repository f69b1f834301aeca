import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { Environment, Platform, ProcRow, ProcStat } from './platform.js';

/** Clock ticks per second of /proc's start times: USER_HZ, 100 on every Linux we run on. */
const TICKS = 100;

/** TCP_LISTEN in the `st` column of /proc/net/tcp{,6} (include/net/tcp_states.h). */
const LISTEN = '0A';

function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may contain spaces and parentheses; fields after it are fixed.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '?', ppid: Number(fields[1]), pgrp: Number(fields[2]), startTime: fields[19] ?? '' };
}

function allPids(): number[] {
  try {
    return fs
      .readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return [];
  }
}

/** A NAME=value entry in an environment block: first, or after a NUL; ended by a NUL. */
function hasEntry(env: Buffer, entry: string): boolean {
  const first = Buffer.from(`${entry}\0`);
  return env.subarray(0, first.length).equals(first) || env.includes(`\0${entry}\0`);
}

/**
 * The wrapper's shell functions on Linux: its own start time and another's from /proc/<pid>/stat
 * with builtins alone (field 22, after the command name, which may hold spaces and parentheses),
 * and util-linux's `setsid -f` to start a callback in a session of its own.
 */
const SHELL = `selfstart() { read -r stat < /proc/$$/stat; set -- \${stat##*) }; st=; [ $# -ge 20 ] && shift 19 && st=$1; }
alive_as() {
  read -r stat < "/proc/$1/stat" 2>/dev/null || return 1
  want=$2; set -- \${stat##*) }
  [ "$1" != Z ] && [ $# -ge 20 ] && shift 19 && [ "$1" = "$want" ]
}
detached() { setsid -f "$@"; }`;

export const linux: Platform = {
  name: 'linux',
  lookCostsAProcess: false,
  stat: readStat,
  stats(pids) {
    const found = new Map<number, ProcStat>();
    for (const pid of pids) {
      const stat = readStat(pid);
      if (stat) found.set(pid, stat);
    }
    return found;
  },
  all() {
    const rows: ProcRow[] = [];
    for (const pid of allPids()) {
      const stat = readStat(pid);
      if (stat) rows.push({ ...stat, pid });
    }
    return rows;
  },
  owns: (startTime) => /^\d+$/.test(startTime),
  order: Number,
  settledBefore() {
    try {
      return (Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]) - 1) * TICKS;
    } catch {
      // Without it nothing counts as settled: every environment is read afresh.
      return 0;
    }
  },
  environments(pids) {
    const envs = new Map<number, Environment>();
    for (const pid of pids) {
      try {
        envs.set(pid, fs.readFileSync(`/proc/${pid}/environ`));
      } catch {
        // Gone, or not ours to read.
      }
    }
    return envs;
  },
  carries: (env, entry) => hasEntry(Buffer.isBuffer(env) ? env : Buffer.from(env), entry),
  holders(files) {
    const wanted = new Set(files);
    return allPids().filter((pid) => {
      let fds: string[];
      try {
        fds = fs.readdirSync(`/proc/${pid}/fd`);
      } catch {
        return false;
      }
      return fds.some((fd) => {
        try {
          return wanted.has(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        } catch {
          return false;
        }
      });
    });
  },
  listening() {
    const ports = new Set<number>();
    for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
      let text: string;
      try {
        text = fs.readFileSync(file, 'latin1');
      } catch {
        continue;
      }
      // "sl local_address rem_address st …": local_address is ADDR:PORT in hex.
      for (const line of text.split('\n').slice(1)) {
        const fields = line.trim().split(/\s+/);
        if (fields[3] !== LISTEN) continue;
        const port = parseInt(fields[1]?.split(':')[1] ?? '', 16);
        if (Number.isInteger(port)) ports.add(port);
      }
    }
    return ports;
  },
  boundSockets() {
    let text: string;
    try {
      text = fs.readFileSync('/proc/net/unix', 'utf8');
    } catch {
      return [];
    }
    // "Num: RefCount Protocol Flags Type St Inode Path": the path (absent for unbound and abstract
    // ones, "@…") is the rest of the line, spaces and all.
    const paths: string[] = [];
    for (const line of text.split('\n').slice(1)) {
      const m = /^\S+:(?:\s+\S+){6}\s(\/.*)$/.exec(line);
      if (m) paths.push(m[1]!);
    }
    return paths;
  },
  // util-linux's fallocate works on a path: ours names our own descriptor (O_NOFOLLOW, opened by the caller).
  punchHole: (fd, length) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn('fallocate', ['--punch-hole', '--offset', '0', '--length', String(length), '/proc/self/fd/3'], {
        stdio: ['ignore', 'ignore', 'pipe', fd],
      });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`fallocate exited ${code}: ${stderr.trim()}`))));
    }),
  shell: SHELL,
};
