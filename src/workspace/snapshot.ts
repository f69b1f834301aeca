/**
 * The user's checkout as git objects, without touching it: a private copy of its index takes in
 * every change, and git writes that index as a tree.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { commitTree, runGit, type TrustedDrivers } from './git.js';

/**
 * The checkout as the user sees it, as a tree object: HEAD plus every uncommitted change, tracked
 * or untracked (ignored files left out). Neither the checkout's index nor its files are touched.
 * `drivers`: the filters `git add` may run (git.ts driverOverrides). `exclude`: paths (from the
 * top) left out as if ignored.
 */
export async function snapshotTree(root: string, drivers?: TrustedDrivers, exclude: readonly string[] = []): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'codex-async-snapshot-'));
  const index = path.join(dir, 'index');
  try {
    const env = { GIT_INDEX_FILE: index };
    const userIndex = path.resolve(root, (await runGit(['rev-parse', '--git-path', 'index'], { cwd: root })).trim());
    const stat = fs.statSync(userIndex, { throwIfNoEntry: false });
    // Without an index (rare: a checkout whose index was deleted) the empty one makes add -A hash everything.
    if (stat) {
      // Starting from the user's index, `add -A` re-reads only files whose stat changed. The copy
      // keeps the index's mtime (rounded down): git treats entries as "racily clean" — and checks
      // their content — by comparing file mtimes with the index's own, and a newer copy would hide
      // a file changed in the same instant the user's index was written.
      fs.copyFileSync(userIndex, index);
      const mtime = Math.floor(stat.mtimeMs) / 1000;
      fs.utimesSync(index, mtime, mtime);
    }
    await runGit(['add', '--all', '--', ':/', ...exclude.map((p) => `:(top,exclude,literal)${p}`)], { cwd: root, env, drivers });
    return (await runGit(['write-tree'], { cwd: root, env })).trim();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * snapshotTree as a commit whose parent is HEAD: what a job's worktree starts from. A checkout
 * with nothing uncommitted gives HEAD itself, so the job's branch starts at the user's commit.
 */
export async function snapshotCommit(root: string, message: string, drivers?: TrustedDrivers): Promise<string> {
  const [tree, head] = await Promise.all([snapshotTree(root, drivers), runGit(['rev-parse', '--verify', 'HEAD^{commit}'], { cwd: root })]);
  const parent = head.trim();
  const headTree = (await runGit(['rev-parse', `${parent}^{tree}`], { cwd: root })).trim();
  return tree === headTree ? parent : commitTree(root, tree, [parent], message);
}
