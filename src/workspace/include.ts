/**
 * What a job's worktree needs beyond HEAD and the uncommitted changes: the ignored files a
 * repository cannot work without (node_modules, .venv, .env), named in `.worktreeinclude` at the
 * repository's root (gitignore syntax, the convention Claude Code uses) or by the start's `include`,
 * and brought over from the user's checkout.
 *
 * How each entry comes over (the rule README's "What a job's worktree has" states):
 * - a file or a symlink is copied (a copy-on-write clone where the file system can make one);
 * - a directory of up to SMALL_DIR files and bytes is copied the same way;
 * - a larger directory is cloned where the file system clones (btrfs, XFS, APFS…): private and
 *   writable, sharing the blocks until written;
 * - otherwise, for a job in a sandbox (`share`), it is linked: a symlink to the checkout's
 *   directory, which every sandbox we run leaves read-only, so the job reads it and cannot change it
 *   — unless links inside it lead out of it (workspace packages, `file:` dependencies: through a link
 *   they would be the checkout's sources, not the job's);
 * - otherwise (danger-full-access: no sandbox stands between a link and the checkout) it is copied.
 * A virtualenv (a directory holding pyvenv.cfg) is skipped: its scripts name the checkout's own by
 * absolute path, so a copy would install into the checkout's; a setup makes one per worktree.
 * Hardlinks are never used: the worktree is the job's to write, and a write in place to a
 * hardlinked file (`>>`, `npm rebuild`, an editor that does not replace) changes the checkout's file.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { isWithin } from '../paths.js';
import { runGit, splitZ } from './git.js';

export const INCLUDE_FILE = '.worktreeinclude';

/** Up to this size a directory is copied whatever the file system: cheap, and writable. */
export const SMALL_DIR = { files: 1000, bytes: 64 * 1024 * 1024 } as const;

export type BroughtHow = 'copied' | 'cloned' | 'linked' | 'skipped';

export interface BroughtEntry {
  /** Relative to the repository's top, '/'-separated. */
  path: string;
  how: BroughtHow;
  /**
   * Files (and symlinks) copied or cloned, and the bytes copied (null for a clone, whose blocks stay
   * the checkout's until written); both null for a link (the checkout's own) or a skipped entry.
   */
  files: number | null;
  bytes: number | null;
}

export interface BroughtIn {
  entries: BroughtEntry[];
  /** What was copied or cloned in all. */
  files: number;
  bytes: number;
}

export class IncludeError extends Error {
  override name = 'IncludeError';
}

/**
 * A pattern that would name something outside the repository. gitignore patterns cannot reach
 * there, so `../x` would silently match nothing: it is refused instead, saying why.
 */
export function patternProblem(pattern: string, where: string): string | null {
  const body = pattern.replace(/^!/, '').trim();
  if (body.includes('\0')) return `${where}: a pattern contains a NUL character`;
  if (body.split('/').some((part) => part === '..')) {
    return `${where}: "${pattern}" reaches outside the repository; .worktreeinclude and include name ignored files inside it (gitignore syntax, relative to its top)`;
  }
  return null;
}

/** The patterns of the repository's .worktreeinclude (none without one) and the start's own. */
export function includePatterns(repo: string, extra: readonly string[] = []): string[] {
  let text = '';
  try {
    text = fs.readFileSync(path.join(repo, INCLUDE_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new IncludeError(`cannot read ${path.join(repo, INCLUDE_FILE)}: ${(err as Error).message}`);
  }
  const fromFile = text.split(/\r?\n/).filter((line) => line.trim() !== '' && !line.startsWith('#'));
  for (const p of fromFile) {
    const problem = patternProblem(p, path.join(repo, INCLUDE_FILE));
    if (problem) throw new IncludeError(problem);
  }
  for (const p of extra) {
    const problem = patternProblem(p, 'include');
    if (problem) throw new IncludeError(problem);
  }
  return [...fromFile, ...extra];
}

/**
 * The ignored paths of the checkout `repo` the patterns name: what git lists as untracked files
 * matching them (a directory matched whole as one entry), kept only where the repository's own
 * ignore rules ignore them too — tracked and untracked files are in the worktree already.
 */
export async function includedPaths(repo: string, patterns: readonly string[]): Promise<string[]> {
  if (patterns.length === 0) return [];
  const excludes = patterns.map((p) => `--exclude=${p}`);
  const named = splitZ(await runGit(['ls-files', '-z', '--others', '--ignored', ...excludes, '--directory', '--no-empty-directory'], { cwd: repo }));
  if (named.length === 0) return [];
  const ignored = await runGit(['check-ignore', '-z', '--stdin'], { cwd: repo, input: Buffer.from(named.map((p) => `${p}\0`).join('')), okCodes: [1] });
  return splitZ(ignored).map((p) => p.replace(/\/$/, ''));
}

/**
 * Whether `full` is small enough to copy whatever the file system (SMALL_DIR): a walk that stops
 * as soon as it is not, so a large directory costs a thousand entries to judge, not all of them.
 */
async function isSmall(full: string): Promise<boolean> {
  const st = await fs.promises.lstat(full);
  if (!st.isDirectory()) return true;
  let files = 0;
  let bytes = 0;
  const pending = [full];
  while (pending.length) {
    const dir = pending.pop()!;
    for (const e of await fs.promises.readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) pending.push(p);
      else if (++files > SMALL_DIR.files) return false;
      else if (e.isFile() && (bytes += (await fs.promises.lstat(p)).size) > SMALL_DIR.bytes) return false;
    }
  }
  return true;
}

/**
 * Whether a symlink near the top of `dir` (two levels: node_modules/<name>, node_modules/@scope/<name>,
 * where package managers put workspace packages and `file:` dependencies) leads out of it.
 */
async function linksOut(dir: string): Promise<boolean> {
  const level = async (d: string, depth: number): Promise<boolean> => {
    for (const e of await fs.promises.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isSymbolicLink()) {
        if (!isWithin(path.resolve(d, await fs.promises.readlink(p)), dir)) return true;
      } else if (e.isDirectory() && depth < 2 && (e.name.startsWith('@') || depth === 0)) {
        if (await level(p, depth + 1)) return true;
      }
    }
    return false;
  };
  return level(dir, 0);
}

/** Whether files can be cloned from `from`'s file system into `toDir`: one real clone, then removed. */
function canClone(from: string, toDir: string): boolean {
  const probe = path.join(toDir, `.codex-async-clone-probe-${process.pid}`);
  try {
    fs.copyFileSync(from, probe, fs.constants.COPYFILE_FICLONE_FORCE);
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(probe, { force: true });
  }
}

/** The first regular file under `full`, to try a clone with. */
function firstFile(full: string): string | null {
  const st = fs.lstatSync(full);
  if (st.isFile()) return full;
  if (!st.isDirectory()) return null;
  for (const e of fs.readdirSync(full, { withFileTypes: true })) {
    const found = e.isFile() ? path.join(full, e.name) : e.isDirectory() ? firstFile(path.join(full, e.name)) : null;
    if (found) return found;
  }
  return null;
}

/** A few file operations at a time: enough to keep the file system busy, few enough not to run out of descriptors. */
const PARALLEL = 32;

/** Runs the operations it is given at most `n` at a time. */
function limiter(n: number): <T>(op: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (op) => {
    while (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await op();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/**
 * Where a copied symlink must point: a place inside the checkout, the same place in the worktree
 * (relative targets stay as they are); a place outside it, that place (a relative target made
 * absolute, since from the worktree it would lead elsewhere).
 */
function relinked(target: string, link: string, o: { repo: string; worktree: string }): string {
  const resolved = path.resolve(path.dirname(link), target);
  if (!isWithin(resolved, o.repo)) return resolved;
  return path.isAbsolute(target) ? path.join(o.worktree, path.relative(o.repo, resolved)) : target;
}

/**
 * A copy of `from` at `to`, counted: directories made with their modes, files copied (`clone`: as
 * copy-on-write clones, refusing a real copy; otherwise cloned where possible), symlinks made
 * again (`relinked`: none leads the job back into the checkout, none breaks). All of it off the event
 * loop, so a server copying a large directory still answers.
 */
async function copyTree(from: string, to: string, o: { repo: string; worktree: string; clone: boolean }): Promise<{ files: number; bytes: number }> {
  const mode = o.clone ? fs.constants.COPYFILE_FICLONE_FORCE : fs.constants.COPYFILE_FICLONE;
  const run = limiter(PARALLEL);
  let files = 0;
  let bytes = 0;
  const copy = async (src: string, dst: string, st: fs.Stats): Promise<void> => {
    if (st.isDirectory()) {
      await run(() => fs.promises.mkdir(dst, { recursive: true, mode: st.mode & 0o7777 }));
      const names = await run(() => fs.promises.readdir(src));
      await Promise.all(names.map(async (name) => copy(path.join(src, name), path.join(dst, name), await run(() => fs.promises.lstat(path.join(src, name))))));
    } else if (st.isSymbolicLink()) {
      await run(() => fs.promises.rm(dst, { force: true }));
      await run(async () => fs.promises.symlink(relinked(await fs.promises.readlink(src), src, o), dst));
      files++;
    } else if (st.isFile()) {
      await run(() => fs.promises.copyFile(src, dst, mode));
      files++;
      bytes += st.size;
    }
    // Sockets, FIFOs and devices in an ignored directory are nothing a job can use: left out.
  };
  await copy(from, to, await fs.promises.lstat(from));
  return { files, bytes };
}

/**
 * A clone of the directory `from` at `to` by GNU cp, in one process: about 3× faster than a clone
 * per file through libuv's pool (bench `workenv`: 627 against 1915 ms for 20,000 files on XFS).
 * Then its symlinks are `relinked` and its files counted (not their bytes: a clone shares the
 * checkout's blocks until written). Null where cp cannot (not GNU cp, a special file): copyTree does it.
 */
async function cloneWithCp(from: string, to: string, o: { repo: string; worktree: string }): Promise<{ files: number; bytes: null } | null> {
  const ok = await new Promise<boolean>((resolve) => {
    execFile('cp', ['-R', '--preserve=mode,timestamps', '--no-dereference', '--reflink=always', '--', from, to], (err) => resolve(err === null));
  });
  if (!ok) {
    await fs.promises.rm(to, { recursive: true, force: true });
    return null;
  }
  const run = limiter(PARALLEL);
  let files = 0;
  const walk = async (dir: string): Promise<void> => {
    const entries = await run(() => fs.promises.readdir(dir, { withFileTypes: true }));
    await Promise.all(
      entries.map(async (e) => {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) return walk(p);
        files++;
        if (!e.isSymbolicLink()) return;
        const target = await run(() => fs.promises.readlink(p));
        const wanted = relinked(target, path.join(from, path.relative(to, p)), o);
        if (wanted === target) return;
        await run(() => fs.promises.rm(p, { force: true }));
        await run(() => fs.promises.symlink(wanted, p));
      }),
    );
  };
  await walk(to);
  return { files, bytes: null };
}

/**
 * Brings the ignored paths the patterns name from the checkout `repo` into the worktree. `share`:
 * the job runs in a sandbox that keeps the checkout read-only, so a large directory may be linked.
 * `writable`: the roots (relative to the top) the job is given to write — cwd, add_dirs: an entry
 * holding one is never linked, since that root would be the checkout's directory.
 */
export async function bringIn(o: { repo: string; worktree: string; patterns: readonly string[]; share: boolean; writable?: readonly string[] }): Promise<BroughtIn> {
  const paths = await includedPaths(o.repo, o.patterns);
  const entries: BroughtEntry[] = [];
  for (const rel of paths) {
    const from = path.join(o.repo, rel);
    const to = path.join(o.worktree, rel);
    let small: boolean;
    try {
      small = await isSmall(from);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // gone since git listed it
      throw err;
    }
    if (fs.existsSync(path.join(from, 'pyvenv.cfg'))) {
      entries.push({ path: rel, how: 'skipped', files: null, bytes: null });
      continue;
    }
    await fs.promises.mkdir(path.dirname(to), { recursive: true });
    let how: BroughtHow = 'copied';
    if (!small) {
      const sample = firstFile(from);
      // A writable root inside a link would be the checkout's directory once the sandbox resolves it.
      const written = (o.writable ?? []).some((w) => isWithin(w, rel));
      if (sample !== null && canClone(sample, path.dirname(to))) how = 'cloned';
      else if (o.share && !written && !fs.existsSync(to) && !(await linksOut(from))) how = 'linked';
    }
    if (how === 'linked') {
      // Not counted: it is the checkout's own directory, and counting 20,000 files would cost more than linking.
      await fs.promises.symlink(from, to);
      entries.push({ path: rel, how, files: null, bytes: null });
    } else {
      const counted = how === 'cloned' ? await cloneWithCp(from, to, o) : null;
      entries.push({ path: rel, how, ...(counted ?? (await copyTree(from, to, { repo: o.repo, worktree: o.worktree, clone: how === 'cloned' }))) });
    }
  }
  return { entries, files: entries.reduce((n, e) => n + (e.files ?? 0), 0), bytes: entries.reduce((n, e) => n + (e.bytes ?? 0), 0) };
}

/** What the server's git leaves out of a job's changes: the links, which gitignore's `dir/` patterns do not match. */
export function linkedPaths(brought: BroughtIn | null): string[] {
  return brought?.entries.filter((e) => e.how === 'linked').map((e) => e.path) ?? [];
}
