/** Which git checkout a directory belongs to, and whether a job's worktree can be made of it. */
import fs from 'node:fs';
import path from 'node:path';
import { GitError, listPaths, runGit, runGitBuffer, splitZ } from './git.js';

export interface Repo {
  /** The top of the checkout (work tree) that holds cwd. */
  root: string;
  /** cwd relative to root, '' at the top, with '/' separators. */
  subdir: string;
}

/**
 * The checkout holding `cwd`, or null when cwd is not inside a git work tree (no repository, a bare
 * repository, or the .git directory itself).
 */
export async function findRepo(cwd: string): Promise<Repo | null> {
  if (!fs.statSync(cwd, { throwIfNoEntry: false })?.isDirectory()) return null;
  let out: string;
  try {
    // --show-toplevel last, so a top-level path holding a newline still parses.
    out = await runGit(['rev-parse', '--is-inside-work-tree', '--show-toplevel'], { cwd, discover: true });
  } catch (e) {
    if (e instanceof GitError && e.code !== null) return null; // not a repository, or no work tree here
    throw e;
  }
  if (!out.startsWith('true\n')) return null;
  const root = out.slice('true\n'.length).replace(/\n$/, '');
  const subdir = path.relative(root, fs.realpathSync(cwd));
  return { root, subdir: subdir.split(path.sep).join('/') };
}

/**
 * Whether `cwd` may be inside a git checkout: a `.git` in it or above it. A quick look at the file
 * system, no git process: false means it is not (what git itself would find, short of GIT_DIR).
 */
export function mayBeInRepo(cwd: string): boolean {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    // A .git file (a worktree's or submodule's link) or a .git directory with a HEAD, as git checks.
    const dotGit = fs.statSync(path.join(dir, '.git'), { throwIfNoEntry: false });
    if (dotGit?.isFile() || (dotGit?.isDirectory() && fs.existsSync(path.join(dir, '.git', 'HEAD')))) return true;
    if (path.dirname(dir) === dir) return false;
  }
}

/**
 * The main checkout a linked worktree belongs to, read from its `.git` file ("gitdir:
 * <repo>/.git/worktrees/<name>"), so it is found even when git no longer has the registration.
 * Null when `dir` is not a linked worktree or its repository is gone.
 */
export function findRepoOfWorktree(dir: string): string | null {
  let link: string;
  try {
    link = fs.readFileSync(path.join(dir, '.git'), 'utf8');
  } catch {
    return null;
  }
  const gitdir = /^gitdir: (.+)$/m.exec(link)?.[1];
  if (!gitdir) return null;
  const common = path.dirname(path.dirname(path.resolve(dir, gitdir)));
  const root = path.dirname(common);
  return path.basename(common) === '.git' && fs.existsSync(path.join(common, 'HEAD')) ? root : null;
}

const ISOLATE_NONE = 'use isolation "none" to run the job in the checkout itself';

/** Why a worktree cannot be made of this checkout (no commit yet, submodules, LFS), or null. */
export async function unsupportedReason(root: string): Promise<string | null> {
  // One read of the index serves both questions (gitlinks, .gitattributes files); all at once.
  const [head, index, gitmodules, infoAttributes] = await Promise.all([
    runGit(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], { cwd: root }).then(
      () => true,
      () => false,
    ),
    runGitBuffer(['ls-files', '--stage', '-z'], { cwd: root }).then((out) => splitZ(out.toString('utf8'))),
    declaredSubmodules(root),
    runGit(['rev-parse', '--git-path', 'info/attributes'], { cwd: root }).then((out) => path.resolve(root, out.trim())),
  ]);
  if (!head) {
    return `the repository at ${root} has no commit yet, and a worktree starts from one: make a first commit, or ${ISOLATE_NONE}`;
  }
  const pathOf = (entry: string) => entry.slice(entry.indexOf('\t') + 1);
  const submodules = [...new Set([...gitmodules, ...index.filter((e) => e.startsWith('160000 ')).map(pathOf)])];
  if (submodules.length) {
    return `the repository at ${root} has submodules (${listPaths(submodules, 3)}), which a job's worktree would not check out: ${ISOLATE_NONE}`;
  }
  const attributeFiles = index.map(pathOf).filter((p) => p === '.gitattributes' || p.endsWith('/.gitattributes'));
  const lfs = [...attributeFiles.map((p) => path.join(root, p)), infoAttributes]
    .filter((file) => /\bfilter=lfs\b/.test(readIfThere(file)))
    .map((file) => path.relative(root, file));
  if (lfs.length) {
    return `the repository at ${root} stores files with Git LFS (filter=lfs in ${listPaths(lfs, 3)}), which a job's worktree would not reproduce faithfully: ${ISOLATE_NONE}`;
  }
  return null;
}

/** The paths .gitmodules declares. */
async function declaredSubmodules(root: string): Promise<string[]> {
  if (!fs.existsSync(path.join(root, '.gitmodules'))) return [];
  try {
    const out = await runGit(['config', '-z', '--file', '.gitmodules', '--get-regexp', '^submodule\\..*\\.path$'], { cwd: root });
    // Each entry is "key\nvalue".
    return splitZ(out).map((entry) => entry.slice(entry.indexOf('\n') + 1));
  } catch (e) {
    // Exit 1: no matching key, an empty .gitmodules.
    if (!(e instanceof GitError && e.code === 1)) throw e;
    return [];
  }
}

function readIfThere(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return ''; // info/attributes rarely exists; a tracked .gitattributes may be deleted in the checkout
  }
}
