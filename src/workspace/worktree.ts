/** A job's git worktree: made on its own branch, removed with it, leftovers of a crash cleared. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GitError, runGit } from './git.js';

export interface WorktreeSpec {
  /** The user's checkout root the worktree belongs to. */
  repo: string;
  /** Where the worktree lives (under the state directory). */
  path: string;
  /** Its branch, e.g. codex/<job-id>. */
  branch: string;
}

/**
 * The user's hooks do not run in a job's worktree: a post-checkout hook would run outside any
 * sandbox, and hooks written for the user's checkout (LFS, dependency installers) need not suit it.
 */
const NO_HOOKS = ['-c', 'core.hooksPath=/dev/null'];

/**
 * Parallel checkout: writing 10,000 files is most of a worktree's cost and waits on the file
 * system more than the CPU, so more workers than cores still help (bench `worktree`: 4 workers on
 * 2 cores took 0.65× the time of git's default single worker).
 */
const CHECKOUT_WORKERS = ['-c', `checkout.workers=${Math.max(4, os.availableParallelism())}`];

/** Creates the worktree on a new branch at `base`. Clears leftovers of an earlier try first; on failure leaves nothing. */
export async function createWorktree(spec: WorktreeSpec, base: string): Promise<void> {
  await removeWorktree(spec);
  fs.mkdirSync(path.dirname(spec.path), { recursive: true });
  try {
    await runGit([...NO_HOOKS, ...CHECKOUT_WORKERS, 'worktree', 'add', '--quiet', '-b', spec.branch, spec.path, base], { cwd: spec.repo });
  } catch (e) {
    await removeWorktree(spec).catch(() => {});
    throw e;
  }
}

/**
 * Removes the worktree, its registration and its branch; whatever part is already gone is fine
 * (including the user's repository). Throws only when something is still there afterwards.
 */
export async function removeWorktree(spec: WorktreeSpec): Promise<void> {
  const repoThere = fs.existsSync(spec.repo);
  if (repoThere && fs.existsSync(spec.path)) {
    // Twice --force: also a locked worktree, and one with changes (it is ours; the job's record keeps what it did).
    await quietly(runGit(['worktree', 'remove', '--force', '--force', spec.path], { cwd: spec.repo }));
  }
  fs.rmSync(spec.path, { recursive: true, force: true });
  if (!repoThere) return;
  // A registration whose directory is gone (deleted above, or by a crash) blocks the branch's deletion.
  await quietly(runGit(['worktree', 'prune'], { cwd: spec.repo }));
  if (await refExists(spec.repo, `refs/heads/${spec.branch}`)) {
    // -D: the branch is ours, whether it was merged is of no concern.
    await runGit(['branch', '-D', spec.branch], { cwd: spec.repo });
  }
}

async function refExists(cwd: string, ref: string): Promise<boolean> {
  try {
    await runGit(['rev-parse', '--verify', '--quiet', ref], { cwd });
    return true;
  } catch (e) {
    if (e instanceof GitError && e.code !== null) return false;
    throw e;
  }
}

async function quietly(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch {
    // What it would have removed is checked, or removed another way, right after.
  }
}
