// STUB — implemented by the git-layer work; signatures are the contract.
export interface WorktreeSpec {
  /** The user's checkout root the worktree belongs to. */
  repo: string;
  /** Where the worktree lives (under the state directory). */
  path: string;
  /** Its branch, e.g. codex/<job-id>. */
  branch: string;
}
/** Creates the worktree on a new branch at `base`. Clears leftovers of an earlier try first; on failure leaves nothing. */
export async function createWorktree(_spec: WorktreeSpec, _base: string): Promise<void> {
  throw new Error('not yet');
}
/** Removes the worktree, its registration and its branch; whatever part is already gone is fine. */
export async function removeWorktree(_spec: WorktreeSpec): Promise<void> {
  throw new Error('not yet');
}
