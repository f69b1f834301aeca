import type { z } from 'zod';
import type { groupOutput } from './shapes.js';
import { isFinal } from '../jobs/states.js';
import type { Job } from '../jobs/store.js';

/** The most attempts one codex_start may ask for: each is a codex process and a worktree. */
export const MAX_ATTEMPTS = 8;

export type GroupView = z.infer<typeof groupOutput>;
export type AttemptView = GroupView['attempts'][number];

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
