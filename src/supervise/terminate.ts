import { setTimeout as sleep } from 'node:timers/promises';
import { readSmall } from '../jobs/files.js';
import { checkMarker, launchMarker, setupMarker } from './launch.js';
import { findProcesses, isAlive, ownsGroup, stillAlive, type Seen } from './proc.js';

export interface JobProcess {
  jobId: string;
  /** The launch (claim's fencing token): only this launch's processes are ever signalled. */
  launch: number;
  /** The wrapper's pid, which is also the job's process group id. */
  pgid: number | null;
  startTime: string | null;
}

/**
 * Who runs a job: the pid recorded in the database, or, if the launching server died before
 * recording it, the "pid starttime" line the wrapper wrote into `pidFile`.
 */
export function jobProcess(
  job: { id: string; pid: number | null; pid_start: string | null; launch_token: number },
  pidFile: string,
): JobProcess {
  const launch = job.launch_token;
  if (job.pid !== null) return { jobId: job.id, launch, pgid: job.pid, startTime: job.pid_start };
  const [pid, startTime] = (readSmall(pidFile, 64) ?? '').trim().split(' ');
  const pgid = Number(pid);
  return { jobId: job.id, launch, pgid: Number.isInteger(pgid) && pgid > 0 ? pgid : null, startTime: startTime || null };
}

function send(procs: Seen[], signal: NodeJS.Signals): void {
  for (const { pid } of procs) {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** The agent and its commands carry the launch marker; the setup, the check and theirs carry their own. */
const markers = (p: JobProcess) => [launchMarker(p.jobId, p.launch), setupMarker(p.jobId, p.launch), checkMarker(p.jobId, p.launch)];
const groupIsOurs = (p: JobProcess) => p.pgid !== null && ownsGroup(p.pgid, p.startTime);

/** Every living process of the job, in its group or not. */
export function livingProcesses(p: JobProcess): Seen[] {
  return findProcesses({ pgid: p.pgid, trustGroup: groupIsOurs(p), markers: markers(p), anySession: true, since: p.startTime });
}

/**
 * The job's processes in its own process group: codex itself and what it did not move elsewhere.
 * While any remain, codex is still at work, with or without its wrapper.
 */
export function groupProcesses(p: JobProcess): Seen[] {
  return findProcesses({ pgid: p.pgid, trustGroup: groupIsOurs(p), markers: markers(p), anySession: false, since: p.startTime });
}

/**
 * The wrapper (the group leader) and every process in its group have ended: codex is no longer
 * at work, whether or not an exit status was recorded. False while no process was ever recorded.
 */
export function jobGone(p: JobProcess): boolean {
  return p.pgid !== null && !isAlive(p.pgid, p.startTime) && groupProcesses(p).length === 0;
}

/** The processes carrying the job's markers, in its group or not. */
const carriers = (p: JobProcess) => findProcesses({ pgid: null, trustGroup: false, markers: markers(p), anySession: true, since: p.startTime });

/** Signals every process of the job; returns those it found (one look at the processes serves both). */
function signalJob(p: JobProcess, signal: NodeJS.Signals): Seen[] {
  const found = livingProcesses(p);
  if (p.pgid !== null && groupIsOurs(p)) {
    try {
      // The whole group: the npm launcher is a Node script whose native codex child would
      // otherwise be orphaned.
      process.kill(-p.pgid, signal);
    } catch {
      // Group already empty.
    }
  }
  // Everything else that carries the job's marker: codex's shell commands in sessions of their
  // own, and the group's members once its leader is gone and the group id proves nothing.
  send(carriers(p), signal);
  return found;
}

/**
 * SIGINT to the agent and its commands only (not the group, which holds the wrapper and, once the
 * agent is gone, the check): for an agent that lingers after its turn completed. If it exits on its
 * own just as this is sent, the check it starts is not hit.
 */
export function interruptAgent(p: JobProcess): void {
  send(findProcesses({ pgid: null, trustGroup: false, markers: [launchMarker(p.jobId, p.launch)], anySession: true, since: p.startTime }), 'SIGINT');
}

/**
 * Waits until `look` finds nothing: first until those `seen` are gone (each looked up by pid, not
 * every process), then one more look at everything, for what they started meanwhile.
 */
async function waitGone(look: () => Seen[], seen: Seen[], ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  let left = seen;
  for (;;) {
    left = stillAlive(left);
    if (left.length === 0) {
      // A fresh look, not the table the signal was sent from (it lasts until the loop's next check phase).
      await new Promise((resolve) => setImmediate(resolve));
      left = look();
      if (left.length === 0) return true;
    }
    if (Date.now() >= until) return false;
    await sleep(50);
  }
}

/**
 * `first` to what `signal` reaches, then SIGKILL to what is left after the grace period: what a
 * fresh look finds, and what the first one found that still lives (pid and start time), which a
 * fresh look may no longer tie to the job (its parent gone, where no environment shows the marker).
 */
async function escalate(look: () => Seen[], signal: (s: NodeJS.Signals) => Seen[], first: NodeJS.Signals, graceMs: number): Promise<{ escalated: boolean; gone: boolean }> {
  const seen = signal(first);
  if (seen.length === 0 || (await waitGone(look, seen, graceMs))) return { escalated: false, gone: true };
  const stubborn = stillAlive(seen);
  send(stubborn, 'SIGKILL');
  const killed = signal('SIGKILL');
  return { escalated: true, gone: await waitGone(look, [...stubborn, ...killed.filter((k) => !stubborn.some((s) => s.pid === k.pid))], 5_000) };
}

/** SIGINT to the whole job (codex ends its turn cleanly and stays resumable), then SIGKILL after the grace period. */
export const stopJob = (p: JobProcess, graceMs: number) =>
  escalate(() => livingProcesses(p), (signal) => signalJob(p, signal), 'SIGINT', graceMs);

/**
 * What a job that ended on its own left running (a backgrounded server, a sleeper): SIGTERM, then
 * SIGKILL after the grace, as systemd ends a unit's remaining processes. Only what carries the job's
 * markers, not its group: the wrapper is finishing there, and the shell it leaves to wait for the
 * outcome (supervise/launch.ts) is not the job's to end. (Once the wrapper has exited, which is
 * moments later, the group id proves nothing anyway.)
 */
export const endLeftovers = (p: JobProcess, graceMs: number) =>
  escalate(() => carriers(p), (signal) => {
    const found = carriers(p);
    send(found, signal);
    return found;
  }, 'SIGTERM', graceMs);

/** The SIGINT half of stopJob, for a stop that another tick escalates. */
export const interruptJob = (p: JobProcess) => void signalJob(p, 'SIGINT');
export const killJob = (p: JobProcess) => void signalJob(p, 'SIGKILL');
