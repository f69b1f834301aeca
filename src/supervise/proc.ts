import fs from 'node:fs';
import { platform, platformOf, type Environment, type Platform, type ProcRow, type ProcStat } from './platform/index.js';

/**
 * Process identity and a job's processes, on whichever platform supervises (supervise/platform/).
 * A pid alone is not an identity: after a process exits the kernel hands its number to another
 * one. (pid, start time) is, so every signal we send is preceded by a check that the start time
 * still matches what we recorded when we spawned it.
 */

const living = (stat: ProcStat | null | undefined): stat is ProcStat => !!stat && !stat.state.startsWith('Z') && !stat.state.startsWith('X');

export function startTimeOf(pid: number): string | null {
  return platform().stat(pid)?.startTime ?? null;
}

/** A process as one look saw it: pid and start time name it, whatever happens to the pid later. */
export interface Seen {
  pid: number;
  startTime: string;
}

/** Those of `seen` still alive, the same processes (not others given their pids since). */
export function stillAlive(seen: readonly Seen[]): Seen[] {
  const byPlatform = new Map<Platform, Seen[]>();
  for (const s of seen) {
    const p = s.startTime ? platformOf(s.startTime) : null;
    if (p) byPlatform.set(p, [...(byPlatform.get(p) ?? []), s]);
  }
  const alive = new Set<Seen>();
  for (const [p, some] of byPlatform) {
    const now = statsNow(p, some.map((s) => s.pid));
    for (const s of some) {
      const stat = now.get(s.pid);
      if (living(stat) && stat.startTime === s.startTime) alive.add(s);
    }
  }
  return seen.filter((s) => alive.has(s));
}

/**
 * The stats of these processes now: read one by one where that is free (/proc), else from the
 * turn's table of every process, asking afresh only for those not in it (started since it was read,
 * or gone).
 */
function statsNow(p: Platform, pids: number[]): Map<number, ProcStat> {
  if (!p.lookCostsAProcess || p !== platform()) return p.stats(pids);
  const found = processTable().stats(pids);
  const missing = pids.filter((pid) => !found.has(pid));
  if (missing.length) for (const [pid, stat] of p.stats(missing)) found.set(pid, stat);
  return found;
}

/** Is this exact process (pid and start time) alive? Without a start time we cannot know: no. */
export function isAlive(pid: number, startTime: string | null): boolean {
  return startTime !== null && startTime !== '' && stillAlive([{ pid, startTime }]).length === 1;
}

/**
 * Is the process group still provably the job's? Only while its leader — our wrapper — is alive
 * with the recorded start time. Once the leader is gone its number may name someone else's group
 * (after a reboot, or a reused pid whose own leader exited), so the group as such is not trusted.
 */
export const ownsGroup = (pgid: number, startTime: string | null): boolean => isAlive(pgid, startTime);

let self: string | null = null;

/** This process as "pid starttime": how a claim names its owner. */
export function selfIdentity(): string {
  self ??= `${process.pid} ${startTimeOf(process.pid) ?? ''}`;
  return self;
}

/** Is the process named by selfIdentity() still alive (a stopped one counts)? */
export function identityAlive(identity: string | null): boolean {
  const [pid, startTime] = (identity ?? '').split(' ');
  const n = Number(pid);
  return Number.isInteger(n) && n > 0 && isAlive(n, startTime ?? null);
}

/** The processes that hold any of `files` (real paths) open. */
export function processesWithOpen(files: string[]): number[] {
  return platform().holders(files.filter((f) => fs.existsSync(f)));
}

/** The TCP ports something on this machine listens on: a port block holding one is not handed to a job. */
export const listeningPorts = (): Set<number> => platform().listening();

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

interface Row extends ProcRow {
  env?: Environment | null;
}

/**
 * Environments already read, by process (pid and start time), kept from one table to the next:
 * a process's environment changes only when it execs, which a process of ours does at once after
 * it forks (the wrapper's `CODEX_ASYNC_JOB_ID=… cmd`). So one read is kept only once the process is
 * a second old; a younger one is read again by each table.
 */
let settledEnvs = new Map<string, Environment | null>();

/**
 * One look at every process on the machine: each one's stat, and its environment only when a query
 * needs it. A look costs what the machine runs, not what we ask, so the queries made in one turn of
 * the event loop (a sweep over every running job, a stop and its first look) share one table; the
 * next turn reads a new one.
 */
class ProcessTable {
  private readonly p = platform();
  private readonly rows: Row[] = [];
  private readonly settled = new Map<string, Environment | null>();
  private readonly settledBefore = this.p.settledBefore();
  private children: Map<number, Row[]> | null = null;
  private byPid: Map<number, Row> | null = null;

  constructor() {
    for (const row of this.p.all() as Row[]) {
      if (row.pid === process.pid || !living(row)) continue;
      const key = `${row.pid} ${row.startTime}`;
      if (settledEnvs.has(key)) {
        row.env = settledEnvs.get(key);
        this.settled.set(key, row.env ?? null);
      }
      this.rows.push(row);
    }
    // What is no longer running is forgotten.
    settledEnvs = this.settled;
  }

  /**
   * The group's members (when trusted), the marker's carriers (in the group, or anywhere with
   * `anySession`), and every descendant of those: a child that cleared its environment is still
   * the job's, and where a platform does not show environments, descent is what is left.
   */
  find(q: ProcessQuery): Seen[] {
    const since = q.since && this.p.owns(q.since) ? this.p.order(q.since) : -Infinity;
    const inGroup = (row: Row) => q.pgid !== null && row.pgrp === q.pgid;
    const mayCarry = (row: Row) => (inGroup(row) || q.anySession) && this.p.order(row.startTime) >= since;
    const candidates = this.rows.filter((row) => !(inGroup(row) && q.trustGroup) && mayCarry(row));
    this.readEnvironments(candidates);
    const found = new Set<Row>();
    for (const row of this.rows) {
      if ((inGroup(row) && q.trustGroup) || (mayCarry(row) && this.carries(row, q.markers))) found.add(row);
    }
    for (const row of found) for (const child of this.childrenOf(row.pid)) found.add(child);
    return [...found].map(({ pid, startTime }) => ({ pid, startTime }));
  }

  /** Those of `pids` in the table (living, and not this process). */
  stats(pids: readonly number[]): Map<number, ProcStat> {
    this.byPid ??= new Map(this.rows.map((row) => [row.pid, row]));
    const found = new Map<number, ProcStat>();
    for (const pid of pids) {
      const row = this.byPid.get(pid);
      if (row) found.set(pid, row);
    }
    return found;
  }

  private readEnvironments(rows: Row[]): void {
    const unread = rows.filter((row) => row.env === undefined);
    if (unread.length === 0) return;
    const envs = this.p.environments(unread.map((row) => row.pid));
    for (const row of unread) {
      row.env = envs.get(row.pid) ?? null;
      if (this.p.order(row.startTime) < this.settledBefore) this.settled.set(`${row.pid} ${row.startTime}`, row.env);
    }
  }

  private carries(row: Row, markers: string[]): boolean {
    const env = row.env;
    return env !== undefined && env !== null && markers.some((marker) => this.p.carries(env, marker));
  }

  private childrenOf(pid: number): Row[] {
    if (!this.children) {
      this.children = new Map();
      for (const row of this.rows) this.children.set(row.ppid, [...(this.children.get(row.ppid) ?? []), row]);
    }
    return this.children.get(pid) ?? [];
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

/** The living processes that belong to a job: by group, environment marker and descent. */
export function findProcesses(q: ProcessQuery): Seen[] {
  return processTable().find(q);
}
