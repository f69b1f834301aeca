/**
 * The shapes of a job's workspace and of its changes, shared by the git layer (this folder), the
 * engine, the MCP tools and the command line.
 */

/** Where a job runs: in the user's checkout (`none`) or in a git worktree of its own. */
import type { BroughtIn } from './include.js';

export type Isolation = 'none' | 'worktree';
export const ISOLATIONS = ['none', 'worktree'] as const satisfies readonly Isolation[];

export interface FileChange {
  path: string;
  /** The path before a rename; null otherwise. */
  old_path: string | null;
  status: 'added' | 'modified' | 'deleted' | 'renamed';
  additions: number;
  deletions: number;
  binary: boolean;
}

export interface Changes {
  files: FileChange[];
  additions: number;
  deletions: number;
  /** The unified diff (git's, with binary patches), null when only the stat was asked for. */
  patch: string | null;
  /** True when `patch` was cut at the size limit. */
  truncated: boolean;
  /** The tree the changes lead to (the checkout as it is now, untracked files included). */
  tree: string;
}

export interface ApplyConflict {
  path: string;
  reason: string;
}

export interface ApplyOutcome {
  /** Whether the checkout was changed (never on a dry run, never with conflicts or a refusal). */
  applied: boolean;
  dry_run: boolean;
  /** The files the apply changes (or would change) in the target checkout. */
  files: FileChange[];
  conflicts: ApplyConflict[];
  /** Why nothing was tried (e.g. uncommitted changes to the same files); null when it was. */
  refused: string | null;
}

/** Where a job works, as recorded on it. */
export interface JobWorkspace {
  kind: Isolation;
  /** The root of the user's checkout the job was started from; null when cwd is not in a git repository. */
  repo: string | null;
  /** cwd relative to `repo` ('' at its top). */
  subdir: string;
  /** The worktree (kind worktree), or the user's checkout; null while unknown. */
  path: string | null;
  branch: string | null;
  /** The commit the job started from: HEAD plus the uncommitted changes it saw. Null until recorded. */
  base_commit: string | null;
  /** preparing → ready (or failed); discarded once the worktree is removed. Null for an unrecorded checkout. */
  state: 'preparing' | 'ready' | 'failed' | 'discarded' | null;
  /** The worktree's tree as last applied to the checkout, so the next apply brings only what is newer. */
  applied_tree: string | null;
  applied_at: number | null;
  /** The landing that brought the worktree's changes in (engine/landing.ts), and when; null: none did. */
  landed_by: string | null;
  landed_at: number | null;
  /** The worktree's tree when it landed: while it still holds that, gc may remove it. */
  landed_tree: string | null;
  /** What was brought in from the checkout when the worktree was made (include.ts); null: nothing asked. */
  brought_in: BroughtIn | null;
}

/** The size of a finished job's changes, recorded when it finishes. */
export interface ChangeSummary {
  files: number;
  additions: number;
  deletions: number;
}

/** The outcome of a job's setup_command (run in its worktree before the agent) or check_command (after it). */
export interface StepResult {
  command: string;
  /** Null when the step did not run (no setup yet; a check after an agent that did not complete); a stopped one has the signal's status (130, 143). */
  exit_code: number | null;
  passed: boolean;
  duration_ms: number | null;
  output_tail: string;
}
