import fs from 'node:fs';

/**
 * Process identity from /proc. A pid alone is not an identity: after a process exits the kernel
 * hands its number to another one. (pid, start time) is, so every signal we send is preceded by
 * a check that the start time still matches what we recorded when we spawned it.
 */
interface Stat {
  state: string;
  pgrp: number;
  startTime: string;
}

function readStat(pid: number): Stat | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may contain spaces and parentheses; fields after it are fixed.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '?', pgrp: Number(fields[2]), startTime: fields[19] ?? '' };
}

export function startTimeOf(pid: number): string | null {
  return readStat(pid)?.startTime ?? null;
}

const living = (stat: Stat | null): stat is Stat => stat !== null && stat.state !== 'Z' && stat.state !== 'X';

/**
 * Is the process group still provably the job's? Only while its leader — our wrapper — is alive
 * with the recorded start time. Once the leader is gone its number may name someone else's group
 * (after a reboot, or a reused pid whose own leader exited), so the group as such is not trusted.
 */
export function ownsGroup(pgid: number, startTime: string | null): boolean {
  const leader = readStat(pgid);
  return living(leader) && startTime !== null && startTime !== '' && leader.startTime === startTime;
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

/** A marker (NAME=value) as it appears in an environment block: first, or after a NUL; ended by a NUL. */
const asEntry = (marker: string) => ({ first: Buffer.from(`${marker}\0`), inside: Buffer.from(`\0${marker}\0`) });

function hasEnvEntry(env: Buffer, entry: ReturnType<typeof asEntry>): boolean {
  return env.subarray(0, entry.first.length).equals(entry.first) || env.includes(entry.inside);
}

export interface ProcessQuery {
  /** The job's process group; members count when `trustGroup`, or when they carry the marker. */
  pgid: number | null;
  trustGroup: boolean;
  /** NAME=value entries the job's processes inherit: carrying any of them counts. */
  markers: string[];
  /** Also count marker carriers outside the group (codex runs shell commands in their own session). */
  anySession: boolean;
  /**
   * The start time of the job's wrapper, when known: every process of the job is its descendant, so
   * started no earlier, and nothing older needs its environment read.
   */
  since: string | null;
}

/** A process as one look at /proc saw it: pid and start time name it, whatever happens to the pid later. */
export interface Seen {
  pid: number;
  startTime: string;
}

interface Row extends Stat, Seen {
  env?: Buffer | null;
}

/** Clock ticks per second of /proc's start times: USER_HZ, 100 on every Linux we run on. */
const TICKS = 100;

/**
 * Environments already read, by process (pid and start time), kept from one table to the next:
 * a process's environment changes only when it execs, which a process of ours does at once after
 * it forks (the wrapper's `CODEX_ASYNC_JOB_ID=… cmd`). So one read is kept only once the process is
 * a second old; a younger one is read again by each table.
 */
let settledEnvs = new Map<string, Buffer | null>();

/**
 * One look at every process on the machine: each one's stat, and its environment only when a query
 * needs it. Reading /proc costs what the machine runs, not what we ask, so the queries made in one
 * turn of the event loop (a sweep over every running job, a stop and its first look) share one
 * table; the next turn reads a new one.
 */
class ProcessTable {
  private readonly rows: Row[] = [];
  private readonly settled: Map<string, Buffer | null>;
  private readonly settledBefore: number;

  constructor() {
    let uptime = 0;
    try {
      uptime = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    } catch {
      // Without it nothing counts as settled: every environment is read afresh.
    }
    this.settledBefore = (uptime - 1) * TICKS;
    this.settled = new Map();
    for (const pid of allPids()) {
      if (pid === process.pid) continue;
      const stat = readStat(pid);
      if (!living(stat)) continue;
      const row: Row = { ...stat, pid };
      const key = `${pid} ${stat.startTime}`;
      if (settledEnvs.has(key)) {
        row.env = settledEnvs.get(key);
        this.settled.set(key, row.env ?? null);
      }
      this.rows.push(row);
    }
    // What is no longer running is forgotten.
    settledEnvs = this.settled;
  }

  find(q: ProcessQuery): Seen[] {
    const since = q.since ? Number(q.since) : 0;
    const entries = q.markers.map(asEntry);
    const found: Seen[] = [];
    for (const row of this.rows) {
      const inGroup = q.pgid !== null && row.pgrp === q.pgid;
      if (inGroup && q.trustGroup) found.push(row);
      else if ((inGroup || q.anySession) && Number(row.startTime) >= since && this.carries(row, entries)) found.push(row);
    }
    return found.map(({ pid, startTime }) => ({ pid, startTime }));
  }

  private carries(row: Row, entries: ReturnType<typeof asEntry>[]): boolean {
    if (row.env === undefined) {
      try {
        row.env = fs.readFileSync(`/proc/${row.pid}/environ`);
      } catch {
        row.env = null;
      }
      if (Number(row.startTime) < this.settledBefore) this.settled.set(`${row.pid} ${row.startTime}`, row.env);
    }
    const env = row.env;
    return env !== null && entries.some((entry) => hasEnvEntry(env, entry));
  }
}

let current: ProcessTable | null = null;

function processTable(): ProcessTable {
  if (!current) {
    current = new ProcessTable();
    setImmediate(() => (current = null)).unref();
  }
  return current;
}

/** The living processes that belong to a job, by group and environment marker. */
export function findProcesses(q: ProcessQuery): Seen[] {
  return processTable().find(q);
}

/** Those of `seen` still alive, the same processes (not others given their pids since). */
export function stillAlive(seen: Seen[]): Seen[] {
  return seen.filter((s) => isAlive(s.pid, s.startTime));
}

/** Is this exact process (pid and start time) alive? Without a start time we cannot know: no. */
export function isAlive(pid: number, startTime: string | null): boolean {
  const stat = readStat(pid);
  return living(stat) && startTime !== null && startTime !== '' && stat.startTime === startTime;
}

/** This process as "pid starttime": how a claim names its owner. */
export function selfIdentity(): string {
  return `${process.pid} ${startTimeOf(process.pid) ?? ''}`;
}

/** Is the process named by selfIdentity() still alive (a stopped one counts)? */
export function identityAlive(identity: string | null): boolean {
  const [pid, startTime] = (identity ?? '').split(' ');
  const n = Number(pid);
  return Number.isInteger(n) && n > 0 && isAlive(n, startTime ?? null);
}

/** The processes that hold any of `files` open, by their /proc/<pid>/fd links. */
export function processesWithOpen(files: string[]): number[] {
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
}
