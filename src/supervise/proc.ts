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
 * Is the process group led by our wrapper still ours to signal? Yes if its leader is alive with the
 * recorded start time, or if the leader is gone: Linux does not reuse a pid while it still names a
 * process group, so remaining members of group `pgid` are the job's.
 */
export function ownsGroup(pgid: number, startTime: string | null): boolean {
  const leader = readStat(pgid);
  if (leader === null) return true;
  return startTime !== null && startTime !== '' && leader.startTime === startTime;
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

/**
 * Every living process of a job: its process group, plus (with a marker) anything that left the group (codex runs
 * shell commands in a session of their own) but still carries the job's environment marker.
 */
export function jobProcesses(pgid: number | null, groupIsOurs: boolean, envMarker: string | null): number[] {
  const found: number[] = [];
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    const stat = readStat(pid);
    if (!living(stat)) continue;
    const inGroup = groupIsOurs && pgid !== null && stat.pgrp === pgid;
    if (inGroup || (envMarker !== null && hasEnvMarker(pid, envMarker))) found.push(pid);
  }
  return found;
}

/** Is this exact process (pid and start time) alive? Without a start time we cannot know: no. */
export function isAlive(pid: number, startTime: string | null): boolean {
  const stat = readStat(pid);
  return living(stat) && startTime !== null && startTime !== '' && stat.startTime === startTime;
}
