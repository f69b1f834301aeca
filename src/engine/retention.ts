import fs from 'node:fs';
import path from 'node:path';
import { jobFiles, type HomeLayout } from '../jobs/files.js';
import { allLandings, landingFiles } from '../jobs/landings.js';
import type { Job, JobStore } from '../jobs/store.js';
import type { Workspaces } from './workspaces.js';

export interface Collected {
  jobs: Job[];
  /** Disk the deleted jobs' files used. */
  bytes: number;
  /** Jobs kept whose worktree went because it landed and still held what landed. */
  landed: Job[];
}

function dirBytes(dir: string): number {
  let total = 0;
  try {
    for (const name of fs.readdirSync(dir)) {
      const st = fs.lstatSync(path.join(dir, name));
      if (st.isFile()) total += st.blocks * 512;
    }
  } catch {
    // Already gone.
  }
  return total;
}

/**
 * Deletes finished jobs — rows, files, notify entries and the worktrees no remaining job uses — that
 * finished before `olderThanMs` ago, and the records of landings that ended before then (and removes
 * with `landed` the worktrees that landed, whatever their age), keeping the `keep` most recent finished jobs whatever their
 * age. A queued or running job is never touched: the DELETE itself re-checks the status, so a job
 * that another server is handling stays.
 */
export async function collectGarbage(
  store: JobStore,
  layout: HomeLayout,
  workspaces: Workspaces,
  opts: { olderThanMs: number; keep: number; dryRun: boolean; now?: number; landed?: boolean },
): Promise<Collected> {
  const candidates = store.collectable((opts.now ?? Date.now()) - opts.olderThanMs, opts.keep);
  const bytes = (jobs: Job[]) => jobs.reduce((sum, job) => sum + dirBytes(jobFiles(layout, job.id).dir), 0);
  // Landed worktrees go when a person runs gc (`landed`), not with automatic retention: a reply in one may still come.
  const landed = () => (opts.landed ? workspaces.removeLanded(opts.dryRun) : Promise.resolve([]));
  if (opts.dryRun) return { jobs: candidates, bytes: bytes(candidates), landed: await landed() };
  const deleted = new Set(store.deleteFinished(candidates.map((j) => j.id)));
  const jobs = candidates.filter((j) => deleted.has(j.id));
  const freed = bytes(jobs);
  // Worktrees before the jobs' directories: a worktree whose job directory is still there is no
  // orphan (see removeOrphans), so another sweep meanwhile (automatic retention as a command's
  // engine opens, another process's) leaves it to this one, which keeps a branch committed on.
  await workspaces.removeUnused(jobs);
  for (const job of jobs) {
    fs.rmSync(jobFiles(layout, job.id).dir, { recursive: true, force: true });
    fs.rmSync(path.join(layout.notifyDir, job.id), { force: true });
  }
  await workspaces.removeOrphans();
  // A landing's record goes with the jobs of its age: it is how they landed, nothing more.
  const cutoff = (opts.now ?? Date.now()) - opts.olderThanMs;
  for (const l of allLandings(layout)) {
    if (l.status !== 'running' && l.finished_at !== null && l.finished_at < cutoff) fs.rmSync(landingFiles(layout, l.id).dir, { recursive: true, force: true });
  }
  return { jobs, bytes: freed, landed: await landed() };
}
