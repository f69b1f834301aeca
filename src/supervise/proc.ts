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

/** Does the process carry `marker` (NAME=value) in its environment? */
function hasEnvMarker(pid: number, marker: string): boolean {
  let env: Buffer;
  try {
    env = fs.readFileSync(`/proc/${pid}/environ`);
  } catch {
    return false;
  }
  const entry = Buffer.from(`${marker}\0`);
  return env.subarray(0, entry.length).equals(entry) || env.includes(Buffer.concat([Buffer.from([0]), entry]));
}

export interface ProcessQuery {
  /** The job's process group; members count when `trustGroup`, or when they carry the marker. */
  pgid: number | null;
  trustGroup: boolean;
  /** NAME=value entries the job's processes inherit: carrying any of them counts. */
  markers: string[];
  /** Also count marker carriers outside the group (codex runs shell commands in their own session). */
  anySession: boolean;
}

/** The living processes that belong to a job, by group and environment marker. */
export function findProcesses(q: ProcessQuery): number[] {
  const found: number[] = [];
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    const stat = readStat(pid);
    if (!living(stat)) continue;
    const inGroup = q.pgid !== null && stat.pgrp === q.pgid;
    if ((inGroup && q.trustGroup) || ((inGroup || q.anySession) && q.markers.some((m) => hasEnvMarker(pid, m)))) found.push(pid);
  }
  return found;
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
