import { setTimeout as sleep } from 'node:timers/promises';
import { ToolError } from '../errors.js';
import { isFinal } from '../jobs/states.js';
import { livingProcesses, stopJob } from '../supervise/terminate.js';
import type { EngineParts } from './parts.js';
import type { Reading } from './reading.js';
import type { Snapshot } from './snapshot.js';

/** How long cancel waits, in 50 ms ticks, for a launch in flight (a worktree being made) to record its process or end. */
const PREPARING_WAIT_TICKS = 1200;

/** Cancelling a job: whichever state it is in, and whichever process runs it. */
export class Stopping {
  constructor(
    private readonly p: EngineParts,
    private readonly reading: Reading,
  ) {}

  /** Stops a job and everything it started; returns only when they are gone. */
  async cancel(idOrPrefix: string): Promise<Snapshot> {
    const { store, runner } = this.p;
    const id = this.reading.resolve(idOrPrefix);
    let job = this.reading.get(id);
    // A job moves queued → running (claim) and, rarely, back (release): retry until one step holds.
    for (let attempt = 0; ; attempt++) {
      if (job.status === 'queued' && store.cancelQueued(job.id, Date.now())) {
        // A launch cut short by a crash may have left part of a worktree: nothing half-made stays.
        await this.p.workspaces.abandon(job);
        this.p.bus.publish(job.id);
        this.p.waiters.wake(job.id);
        return this.reading.snapshotOf(this.reading.get(id));
      }
      job = this.reading.get(id);
      if (isFinal(job.status)) return this.reading.snapshotOf(job);
      if (job.status === 'running' && (store.requestStop(job.id, 'cancelled', Date.now()) || job.stop_reason !== null)) break;
      if (attempt === 5) throw new ToolError('conflict', (t) => `job ${id} kept changing state; try ${t('cancel')} again`);
      job = this.reading.get(id);
    }
    let proc = runner.processOf(job);
    // Claimed by a server that is spawning it right now: give it a moment to record the pid. One
    // making the job's worktree finishes that first, then sees the stop and ends the job itself.
    for (let i = 0; proc.pgid === null && (i < 40 || (runner.launchInFlight(job) && i < PREPARING_WAIT_TICKS)); i++) {
      await sleep(50);
      job = this.reading.get(id);
      if (isFinal(job.status)) return this.reading.snapshotOf(job);
      proc = runner.processOf(job);
    }
    const stopped = await stopJob(proc, this.p.config.killGraceSeconds * 1000);
    runner.conclude(id);
    if (!stopped.gone) {
      throw new ToolError(
        'conflict',
        `job ${id} was marked cancelled, but processes ${livingProcesses(proc).join(', ')} did not exit after SIGKILL; check them with ps`,
      );
    }
    return this.reading.snapshotOf(this.reading.get(id));
  }
}
