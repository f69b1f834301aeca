import type { EngineParts } from './parts.js';
import type { Reading } from './reading.js';
import type { ApplyResult, DiffResult, DiscardResult } from './workspaces.js';

/** Reviewing a job's changes: what it changed, bringing that into the checkout, throwing its worktree away (the git side: Workspaces). */
export class Review {
  constructor(
    private readonly p: EngineParts,
    private readonly reading: Reading,
  ) {}

  /** The job's changes against the commit it started from (see Workspaces.diff). */
  diff(id: string, opts: { statOnly?: boolean; paths?: string[]; maxBytes?: number } = {}): Promise<DiffResult> {
    return this.p.workspaces.diff(this.reading.get(id), { statOnly: opts.statOnly ?? false, paths: opts.paths, maxBytes: opts.maxBytes });
  }

  /** Brings a finished job's changes into the checkout it was started from (see Workspaces.apply). */
  apply(id: string, opts: { dryRun?: boolean } = {}): Promise<ApplyResult> {
    return this.p.workspaces.apply(this.reading.get(id), opts.dryRun ?? false);
  }

  /** Removes a finished job's worktree and branch; the job's record and logs stay. */
  discard(id: string, opts: { dryRun?: boolean } = {}): Promise<DiscardResult> {
    return this.p.workspaces.discard(this.reading.get(id), opts.dryRun ?? false);
  }
}
