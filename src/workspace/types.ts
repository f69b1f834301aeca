/**
 * The shapes of a job's workspace and of its changes, shared by the git layer (this folder), the
 * engine, the MCP tools and the command line.
 */

/** Where a job runs: in the user's checkout (`none`) or in a git worktree of its own. */
export type Isolation = 'none' | 'worktree';

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
