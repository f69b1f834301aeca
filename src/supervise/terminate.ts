import { setTimeout as sleep } from 'node:timers/promises';
import { JOB_ENV_MARKER } from './launch.js';
import { jobProcesses, ownsGroup } from './proc.js';

export interface JobProcess {
  jobId: string;
  /** The wrapper's pid, which is also the job's process group id. */
  pgid: number | null;
  startTime: string | null;
}

function send(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

const marker = (p: JobProcess) => `${JOB_ENV_MARKER}=${p.jobId}`;
const groupIsOurs = (p: JobProcess) => p.pgid !== null && ownsGroup(p.pgid, p.startTime);

/** The job's living processes; the group is only counted when its identity checks out. */
export function livingProcesses(p: JobProcess): number[] {
  return jobProcesses(p.pgid, groupIsOurs(p), marker(p));
}

/** The wrapper's process group only: codex and what it did not move to a session of its own. */
export function groupProcesses(p: JobProcess): number[] {
  return groupIsOurs(p) ? jobProcesses(p.pgid, true, null) : [];
}

function signalJob(p: JobProcess, signal: NodeJS.Signals): void {
  if (p.pgid !== null && groupIsOurs(p)) {
    try {
      // The whole group: the npm launcher is a Node script whose native codex child would
      // otherwise be orphaned.
      process.kill(-p.pgid, signal);
    } catch {
      // Group already empty.
    }
  }
  // Codex's shell commands leave the group (they get a session of their own): find them by the
  // environment marker the wrapper set.
  send(jobProcesses(null, false, marker(p)), signal);
}

async function waitGone(p: JobProcess, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (livingProcesses(p).length === 0) return true;
    if (Date.now() >= until) return false;
    await sleep(50);
  }
}

/** SIGINT (codex ends its turn cleanly and stays resumable), then SIGKILL after the grace period. */
export async function stopJob(p: JobProcess, graceMs: number): Promise<{ escalated: boolean; gone: boolean }> {
  signalJob(p, 'SIGINT');
  if (await waitGone(p, graceMs)) return { escalated: false, gone: true };
  signalJob(p, 'SIGKILL');
  return { escalated: true, gone: await waitGone(p, 5_000) };
}

/** The SIGINT half of stopJob, for a stop that another tick escalates. */
export const interruptJob = (p: JobProcess) => signalJob(p, 'SIGINT');
export const killJob = (p: JobProcess) => signalJob(p, 'SIGKILL');
