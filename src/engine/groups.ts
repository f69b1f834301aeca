import { invalid, ToolError } from '../errors.js';
import { isFinal } from '../jobs/states.js';
import type { Job } from '../jobs/store.js';
import type { GroupView, WaitOptions, WaitOutcome } from './api.js';
import type { EngineParts } from './parts.js';
import type { Reading } from './reading.js';
import type { Stopping } from './stopping.js';
import { checkJobId } from './validate.js';

const size = (job: Job) => (job.changes ? job.changes.additions + job.changes.deletions : Number.MAX_SAFE_INTEGER);

/** Whether an attempt can be recommended at all: it completed, and passed its check if it had one. */
export const qualifies = (job: Job) => job.status === 'completed' && (job.check_command === null || job.check?.passed === true);

/**
 * Orders a group's attempts best first. What counts, in order: an attempt that qualifies, one that
 * changed something (an attempt that did nothing is rarely the answer), the smaller change, the
 * earlier finish. Unfinished attempts come last, in the order they were started.
 */
export function rankAttempts(jobs: Job[]): Job[] {
  const key = (job: Job): number[] => [
    isFinal(job.status) ? 0 : 1,
    qualifies(job) ? 0 : 1,
    job.changes && job.changes.files > 0 ? 0 : 1,
    size(job),
    job.finished_at ?? Number.MAX_SAFE_INTEGER,
    job.seq,
  ];
  return [...jobs].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!;
    return 0;
  });
}

export function toGroupView(groupId: string, jobs: Job[]): GroupView {
  const ranked = rankAttempts(jobs);
  const best = ranked[0];
  return {
    group_id: groupId,
    attempts: ranked.map((job) => ({
      job_id: job.id,
      status: job.status,
      check: job.check,
      changes: job.changes,
      finished_at: job.finished_at === null ? null : new Date(job.finished_at).toISOString(),
    })),
    best_job_id: best && qualifies(best) ? best.id : null,
    finished: jobs.filter((job) => isFinal(job.status)).length,
    total: jobs.length,
  };
}

/** One line for people: "2 of 3 attempts finished; best 3f9c0a1b2c3d (check passed, +12 -3 in 2 files)". */
export function describeGroup(g: GroupView): string {
  const head = `group ${g.group_id}: ${g.finished} of ${g.total} attempts finished`;
  const best = g.attempts.find((a) => a.job_id === g.best_job_id);
  if (!best) {
    const checked = g.attempts.some((a) => a.check);
    // Every attempt over: no "yet", there is nothing more to come.
    if (g.finished === g.total) return `${head}; none ${checked ? 'passed its check' : 'completed'}`;
    return `${head}; none completed${checked ? ' with its check passing' : ''} yet`;
  }
  const c = best.changes;
  const change = c ? `+${c.additions} -${c.deletions} in ${c.files} file${c.files === 1 ? '' : 's'}` : 'changes not measured';
  return `${head}; best ${best.job_id} (${best.check ? 'check passed, ' : ''}${change})`;
}

/** Groups of attempts (best-of-N): looked up by id or prefix, ranked, waited for and cancelled as one. */
export class Groups {
  constructor(
    private readonly p: EngineParts,
    private readonly reading: Reading,
    private readonly stopping: Stopping,
  ) {}

  /** The whole group id for what a caller typed (a prefix works as for jobs). */
  resolve(idOrPrefix: string): string {
    const id = checkJobId(idOrPrefix);
    const matches = this.p.store.groupIdsStartingWith(id);
    if (matches.length === 0) throw new ToolError('not_found', (t) => `no group of attempts with id "${id}": group ids are returned by ${t('start')} with attempts`);
    if (matches.length > 1) throw invalid(`group id prefix "${id}" is ambiguous: give more characters`);
    return matches[0]!;
  }

  /** A group's attempts ranked, best first; changes of finished attempts are measured if need be. */
  async group(idOrPrefix: string): Promise<GroupView> {
    const groupId = this.resolve(idOrPrefix);
    let jobs = this.p.store.group(groupId);
    const unmeasured = jobs.filter((job) => isFinal(job.status) && job.changes === null && job.workspace.state === 'ready');
    if (unmeasured.length) {
      await Promise.all(unmeasured.map((job) => this.p.workspaces.summarize(job)));
      jobs = this.p.store.group(groupId);
    }
    return toGroupView(groupId, jobs);
  }

  /** Waits until every attempt of the group is final (or the timeout), then ranks them. */
  async wait(idOrPrefix: string, timeoutMs: number, opts: WaitOptions = {}): Promise<WaitOutcome> {
    const groupId = this.resolve(idOrPrefix);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pending = this.p.store.group(groupId).filter((job) => !isFinal(job.status)).map((job) => job.id);
      if (pending.length === 0 || Date.now() >= deadline || opts.signal?.aborted || this.p.closed) break;
      await this.reading.wait(pending, deadline - Date.now(), opts);
    }
    const group = await this.group(groupId);
    const jobs = this.p.store.group(groupId);
    return {
      finished: jobs.filter((job) => isFinal(job.status)).map((job) => this.reading.snapshotOf(job, 0)),
      pending: jobs.filter((job) => !isFinal(job.status)).map((job) => job.id),
      timed_out: group.finished < group.total,
      group,
    };
  }

  /** Cancels every attempt of a group still queued or running. */
  async cancel(idOrPrefix: string): Promise<GroupView> {
    const groupId = this.resolve(idOrPrefix);
    await Promise.all(this.p.store.group(groupId).filter((job) => !isFinal(job.status)).map((job) => this.stopping.cancel(job.id)));
    return this.group(groupId);
  }
}
