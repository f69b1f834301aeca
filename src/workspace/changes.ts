// STUB — implemented by the git-layer work; signatures are the contract.
import type { ApplyOutcome, Changes } from './types.js';
/** What changed in `checkout` (files, untracked included) against commit `base`. */
export async function changesOf(_checkout: string, _base: string, _opts: { paths?: string[]; statOnly?: boolean; maxPatchBytes: number }): Promise<Changes> {
  throw new Error('not yet');
}
/**
 * Brings `tree`'s changes against `base` into the checkout `target` as uncommitted changes, 3-way
 * where both sides changed a file; all or nothing. `since`: a tree already applied from the same
 * worktree, so only what changed after it is brought.
 */
export async function applyChanges(_o: { target: string; base: string; tree: string; since?: string | null; dryRun: boolean }): Promise<ApplyOutcome> {
  throw new Error('not yet');
}
