// STUB — implemented by the git-layer work; signatures are the contract.
/**
 * The checkout as the user sees it, as a tree object: HEAD plus every uncommitted change, tracked
 * or untracked (ignored files left out). Neither the checkout's index nor its files are touched.
 */
export async function snapshotTree(_root: string): Promise<string> {
  throw new Error('not yet');
}
/** snapshotTree as a commit whose parent is HEAD: what a job's worktree starts from. */
export async function snapshotCommit(_root: string, _message: string): Promise<string> {
  throw new Error('not yet');
}
