/** A job's git worktree: made on its own branch, removed with it, leftovers of a crash cleared. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GitError, runGit, type TrustedDrivers } from './git.js';

export interface WorktreeSpec {
  /** The user's checkout root the worktree belongs to. */
  repo: string;
  /** Where the worktree lives (under the state directory). */
  path: string;
  /** Its branch, e.g. codex/<job-id>. */
  branch: string;
}

/**
 * Parallel checkout: writing 10,000 files is most of a worktree's cost and waits on the file
 * system more than the CPU, so more workers than cores still help (bench `worktree`: 4 workers on
 * 2 cores took 0.65× the time of git's default single worker).
 */
const CHECKOUT_WORKERS = ['-c', `checkout.workers=${Math.max(4, os.availableParallelism())}`];

/**
 * Creates the worktree on a new branch at `base`. Clears leftovers of an earlier try first; on
 * failure leaves nothing. No hook runs (git.ts GUARD): a post-checkout hook would run outside any
 * sandbox, and hooks written for the user's checkout (dependency installers) need not suit it.
 * `drivers`: the filters the checkout may run (git.ts driverOverrides).
 */
export async function createWorktree(spec: WorktreeSpec, base: string, drivers?: TrustedDrivers): Promise<void> {
  await removeWorktree(spec);
  fs.mkdirSync(path.dirname(spec.path), { recursive: true });
  try {
    await runGit([...CHECKOUT_WORKERS, 'worktree', 'add', '--quiet', '-b', spec.branch, spec.path, base], { cwd: spec.repo, drivers });
  } catch (e) {
    await removeWorktree(spec).catch(() => {});
    throw e;
  }
}

/**
 * Removes the worktree, its registration and its branch; whatever part is already gone is fine
 * (including the user's repository). Throws only when something is still there afterwards.
 */
/**
 * `keepBranchUnlessAt`: keep the branch if it no longer points at this commit — someone committed
 * on it (a person reviewing in the worktree), and what they committed is not ours to delete.
 * Returns whether the branch is gone.
 */
export async function removeWorktree(spec: WorktreeSpec, opts: { keepBranchUnlessAt?: string } = {}): Promise<boolean> {
  const repoThere = fs.existsSync(spec.repo);
  if (repoThere && fs.existsSync(spec.path)) {
    // Twice --force: also a locked worktree, and one with changes (it is ours; the job's record keeps what it did).
    await quietly(runGit(['worktree', 'remove', '--force', '--force', spec.path], { cwd: spec.repo }));
  }
  fs.rmSync(spec.path, { recursive: true, force: true });
  if (!repoThere) return true;
  // A registration whose directory is gone (deleted above, or by a crash) blocks the branch's deletion.
  await quietly(removeRegistration(spec));
  const at = await branchCommit(spec.repo, spec.branch);
  if (at === null) return true;
  if (opts.keepBranchUnlessAt !== undefined && at !== opts.keepBranchUnlessAt) return false;
  // -D: the branch is ours, whether it was merged is of no concern.
  await runGit(['branch', '-D', spec.branch], { cwd: spec.repo });
  return true;
}

/** The commit a branch points at, or null when there is no such branch. */
export async function branchCommit(cwd: string, branch: string): Promise<string | null> {
  try {
    return (await runGit(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`], { cwd })).trim();
  } catch (e) {
    if (e instanceof GitError && e.code !== null) return null;
    throw e;
  }
}

/**
 * Removes git's record of the worktree at `spec.path`, and only that one: `git worktree prune` would
 * also drop the user's own worktrees whose directories are missing for now (an unmounted disk).
 */
async function removeRegistration(spec: WorktreeSpec): Promise<void> {
  const common = (await runGit(['rev-parse', '--path-format=absolute', '--git-common-dir'], { cwd: spec.repo })).trim();
  const admin = path.join(common, 'worktrees');
  // As given and with symlinks resolved: git records the real path.
  const place = path.resolve(spec.path);
  let real = place;
  try {
    real = path.join(fs.realpathSync(path.dirname(place)), path.basename(place));
  } catch {
    // The parent is gone too: the path as given is all there is.
  }
  const ours = new Set([path.join(place, '.git'), path.join(real, '.git')]);
  for (const name of fs.existsSync(admin) ? fs.readdirSync(admin) : []) {
    let gitdir: string;
    try {
      gitdir = fs.readFileSync(path.join(admin, name, 'gitdir'), 'utf8').trim();
    } catch {
      continue;
    }
    if (ours.has(path.resolve(admin, name, gitdir))) fs.rmSync(path.join(admin, name), { recursive: true, force: true });
  }
}

async function quietly(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch {
    // What it would have removed is checked, or removed another way, right after.
  }
}
