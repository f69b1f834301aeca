// STUB — implemented by the git-layer work; signatures are the contract.
export interface Repo {
  /** The top of the checkout (work tree) that holds cwd. */
  root: string;
  /** cwd relative to root, '' at the top, with '/' separators. */
  subdir: string;
}
/** The checkout holding `cwd`, or null when cwd is not inside a git work tree. */
export async function findRepo(_cwd: string): Promise<Repo | null> {
  throw new Error('not yet');
}
/** Why a worktree cannot be made of this checkout (no commit yet, submodules, LFS), or null. */
export async function unsupportedReason(_root: string): Promise<string | null> {
  throw new Error('not yet');
}
