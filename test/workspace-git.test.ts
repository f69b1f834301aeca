/**
 * The workspace layer's own tests, on real temporary git repositories: snapshots, worktrees,
 * changes and apply. (The end-to-end tests drive the same code through the server's tools.)
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { applyChanges, changesOf } from '../src/workspace/changes.ts';
import { configuredDrivers, runGit } from '../src/workspace/git.ts';
import { findRepo, unsupportedReason } from '../src/workspace/repo.ts';
import { snapshotCommit, snapshotTree } from '../src/workspace/snapshot.ts';
import { createWorktree, removeWorktree, type WorktreeSpec } from '../src/workspace/worktree.ts';

// The machine's git configuration must not leak in (nor an identity the code relies on by accident).
const HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'cam-wsgit-home-'));
Object.assign(process.env, { HOME, GIT_CONFIG_GLOBAL: path.join(HOME, 'none'), GIT_CONFIG_NOSYSTEM: '1' });

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'core.quotepath=off', ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function tmp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cam-wsgit-${prefix}-`));
}

function write(root: string, file: string, content: string | Buffer, mode?: number): void {
  fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  fs.writeFileSync(path.join(root, file), content);
  if (mode !== undefined) fs.chmodSync(path.join(root, file), mode);
}

/** A repository with a commit of `files`; no user.name beyond the repo's own config. */
function repo(files: Record<string, string> = { 'README.md': 'hello\n' }): string {
  const root = tmp('repo');
  git(root, 'init', '-q', '-b', 'main');
  git(root, 'config', 'user.name', 'Test');
  git(root, 'config', 'user.email', 'test@example.com');
  for (const [file, content] of Object.entries(files)) write(root, file, content);
  if (Object.keys(files).length) {
    git(root, 'add', '-A');
    git(root, 'commit', '-qm', 'initial');
  }
  return root;
}

/** Path → blob (and mode) of a tree, as git lists it. */
function treeListing(cwd: string, tree: string): Map<string, string> {
  const out = git(cwd, 'ls-tree', '-r', '-z', tree);
  return new Map(
    out
      .split('\0')
      .filter(Boolean)
      .map((line) => {
        const tab = line.indexOf('\t');
        return [line.slice(tab + 1), line.slice(0, tab)];
      }),
  );
}

/** Everything about a checkout a user could see change: status (index and files), and each file's bytes. */
function fingerprint(root: string): string {
  const hash = createHash('sha256');
  hash.update(git(root, 'status', '--porcelain=v2', '-z', '--untracked-files=all', '--ignored'));
  hash.update(fs.readFileSync(path.join(root, '.git/index')));
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name === '.git' && dir === root) continue;
      const full = path.join(dir, entry.name);
      hash.update(full);
      if (entry.isSymbolicLink()) hash.update(`-> ${fs.readlinkSync(full)}`);
      else if (entry.isDirectory()) walk(full);
      else hash.update(fs.readFileSync(full)).update(String(fs.statSync(full).mode));
    }
  };
  walk(root);
  return hash.digest('hex');
}

function leftovers(root: string): { worktrees: number; branches: string } {
  const worktrees = git(root, 'worktree', 'list', '--porcelain').split('\n').filter((l) => l.startsWith('worktree ')).length;
  return { worktrees, branches: git(root, 'branch', '--list', '--format=%(refname:short)', 'codex/*').trim() };
}

function spec(root: string, name = 'job1'): WorktreeSpec {
  return { repo: root, path: path.join(tmp('state'), 'worktrees', name), branch: `codex/${name}` };
}

/** A job: a worktree from the user's checkout as it is now, changed by `edit`, and its tree. */
async function job(root: string, name: string, edit: (dir: string) => void): Promise<{ base: string; tree: string; dir: string }> {
  const base = await snapshotCommit(root, `codex-async-mcp: base of ${name}`);
  const s = spec(root, name);
  await createWorktree(s, base);
  edit(s.path);
  const tree = await snapshotTree(s.path);
  return { base, tree, dir: s.path };
}

describe('snapshotTree: the checkout as the user sees it, the checkout untouched', () => {
  it('holds staged, unstaged, untracked, deleted, renamed, binary, executable, symlinked and oddly named files, and leaves out ignored ones', async () => {
    const root = repo({ 'a.txt': 'a\n', 'b.txt': 'b\n', 'gone.txt': 'gone\n', 'old name.txt': 'moved\n', '.gitignore': 'ignored/\n*.log\n' });
    write(root, 'a.txt', 'a staged\n');
    git(root, 'add', 'a.txt');
    write(root, 'a.txt', 'a staged then unstaged\n');
    write(root, 'b.txt', 'b unstaged\n');
    fs.rmSync(path.join(root, 'gone.txt'));
    git(root, 'mv', 'old name.txt', 'new name.txt');
    write(root, 'dir/with space/ünïcødé\nnewline.txt', 'odd\n');
    write(root, 'bin.dat', Buffer.from([0, 1, 2, 255, 0, 10]));
    write(root, 'run.sh', '#!/bin/sh\n', 0o755);
    fs.symlinkSync('a.txt', path.join(root, 'link'));
    write(root, 'ignored/big.txt', 'no\n');
    write(root, 'debug.log', 'no\n');
    const before = fingerprint(root);

    const tree = await snapshotTree(root);

    assert.equal(fingerprint(root), before, 'the checkout (index and files) is untouched');
    const listing = treeListing(root, tree);
    const blob = (p: string) => listing.get(p)?.split(' ')[2];
    const hashOf = (content: string | Buffer) => execFileSync('git', ['hash-object', '--stdin'], { cwd: root, input: content, encoding: 'utf8' }).trim();
    assert.equal(blob('a.txt'), hashOf('a staged then unstaged\n'), 'the working copy wins over the staged one');
    assert.equal(blob('b.txt'), hashOf('b unstaged\n'));
    assert.equal(listing.has('gone.txt'), false);
    assert.equal(listing.has('old name.txt'), false);
    assert.equal(blob('new name.txt'), hashOf('moved\n'));
    assert.equal(blob('dir/with space/ünïcødé\nnewline.txt'), hashOf('odd\n'));
    assert.equal(blob('bin.dat'), hashOf(Buffer.from([0, 1, 2, 255, 0, 10])));
    assert.match(listing.get('run.sh')!, /^100755 /);
    assert.match(listing.get('link')!, /^120000 /);
    assert.equal(listing.has('ignored/big.txt'), false);
    assert.equal(listing.has('debug.log'), false);
  });

  it('sees a change made in the same instant the index was written (racily clean entries are checked)', async () => {
    const root = repo({ 'f.txt': 'aaaa\n' });
    const file = path.join(root, 'f.txt');
    const index = path.join(root, '.git/index');
    // The index records f.txt at instant T and was itself written at T; then f.txt changes within
    // T, keeping its size: only its content tells. git checks such entries because their mtime is
    // not older than the index's, which a copy of the index must keep.
    const t = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    fs.utimesSync(file, t, t);
    git(root, 'update-index', '--refresh');
    fs.utimesSync(index, t, t);
    fs.writeFileSync(file, 'bbbb\n');
    fs.utimesSync(file, t, t);
    assert.match(git(root, '--no-optional-locks', 'status', '--porcelain'), /M f\.txt/, 'git itself sees the change');
    const tree = await snapshotTree(root);
    assert.equal(git(root, 'cat-file', 'blob', `${tree}:f.txt`), 'bbbb\n');
  });

  it('snapshotCommit is HEAD itself when nothing is uncommitted, else a commit on top of HEAD, without user.name configured', async () => {
    const root = repo();
    git(root, 'config', '--unset', 'user.name');
    git(root, 'config', '--unset', 'user.email');
    const head = git(root, 'rev-parse', 'HEAD').trim();
    assert.equal(await snapshotCommit(root, 'snap'), head);
    write(root, 'new.txt', 'new\n');
    const commit = await snapshotCommit(root, 'snap');
    assert.notEqual(commit, head);
    assert.equal(git(root, 'rev-parse', `${commit}^`).trim(), head);
    assert.equal(git(root, 'cat-file', 'blob', `${commit}:new.txt`), 'new\n');
    assert.equal(git(root, 'rev-parse', 'HEAD').trim(), head, 'HEAD does not move');
  });
});

describe('findRepo and unsupportedReason', () => {
  it('finds the checkout top and the subdirectory; not in a work tree is null', async () => {
    const root = repo({ 'src/deep/x.txt': 'x\n' });
    const found = await findRepo(path.join(root, 'src/deep'));
    assert.equal(found?.root, fs.realpathSync(root));
    assert.equal(found?.subdir, 'src/deep');
    assert.equal((await findRepo(root))?.subdir, '');
    assert.equal(await findRepo(tmp('plain')), null);
    assert.equal(await findRepo(path.join(root, '.git')), null);
    const bare = tmp('bare');
    git(bare, 'init', '-q', '--bare');
    assert.equal(await findRepo(bare), null);
    assert.equal(await findRepo(path.join(root, 'does-not-exist')), null);
  });

  it('refuses a repository with no commit, with submodules, with LFS attributes, and says to use isolation "none"', async () => {
    const empty = repo({});
    assert.match((await unsupportedReason(empty)) ?? '', /no commit yet.*isolation "none"/);

    const plain = repo();
    assert.equal(await unsupportedReason(plain), null);

    const withSub = repo();
    const sub = repo({ 'inner.txt': 'inner\n' });
    git(withSub, '-c', 'protocol.file.allow=always', 'submodule', '--quiet', 'add', sub, 'vendor/sub');
    assert.match((await unsupportedReason(withSub)) ?? '', /submodules \(vendor\/sub\).*isolation "none"/);

    const gitlinkOnly = repo();
    git(gitlinkOnly, 'update-index', '--add', '--cacheinfo', `160000,${git(sub, 'rev-parse', 'HEAD').trim()},linked`);
    assert.match((await unsupportedReason(gitlinkOnly)) ?? '', /submodules \(linked\)/);

    const lfs = repo({ 'assets/.gitattributes': '*.psd filter=lfs diff=lfs merge=lfs -text\n' });
    assert.match((await unsupportedReason(lfs)) ?? '', /Git LFS.*assets\/\.gitattributes.*isolation "none"/);
  });
});

describe('worktrees', () => {
  it('create then remove leaves no worktree, branch or directory behind', async () => {
    const root = repo();
    write(root, 'wip.txt', 'uncommitted\n');
    const s = spec(root);
    await createWorktree(s, await snapshotCommit(root, 'base'));
    assert.equal(fs.readFileSync(path.join(s.path, 'wip.txt'), 'utf8'), 'uncommitted\n', 'the job sees the uncommitted file');
    assert.deepEqual(leftovers(root), { worktrees: 2, branches: 'codex/job1' });
    await removeWorktree(s);
    assert.deepEqual(leftovers(root), { worktrees: 1, branches: '' });
    assert.equal(fs.existsSync(s.path), false);
    await removeWorktree(s); // idempotent
  });

  it('createWorktree over a half-made leftover (directory, stale registration, branch) succeeds', async () => {
    const root = repo();
    const s = spec(root);
    await createWorktree(s, 'HEAD');
    // A crash after git registered the worktree and made the branch: the directory's files are
    // gone but the directory is back (half-copied), and the registration points at it.
    fs.rmSync(s.path, { recursive: true });
    write(s.path, 'half.txt', 'partial\n');
    await createWorktree(s, 'HEAD');
    assert.equal(fs.existsSync(path.join(s.path, 'half.txt')), false);
    assert.equal(fs.readFileSync(path.join(s.path, 'README.md'), 'utf8'), 'hello\n');
    assert.deepEqual(leftovers(root), { worktrees: 2, branches: 'codex/job1' });

    // Only the branch left over.
    await removeWorktree(s);
    git(root, 'branch', s.branch);
    await createWorktree(s, 'HEAD');
    assert.deepEqual(leftovers(root), { worktrees: 2, branches: 'codex/job1' });
    await removeWorktree(s);
    assert.deepEqual(leftovers(root), { worktrees: 1, branches: '' });
  });

  it('a failed create leaves nothing; remove works when the repository itself is gone', async () => {
    const root = repo();
    const s = spec(root);
    await assert.rejects(createWorktree(s, 'no-such-commit'), /worktree add/);
    assert.deepEqual(leftovers(root), { worktrees: 1, branches: '' });
    assert.equal(fs.existsSync(s.path), false);

    await createWorktree(s, 'HEAD');
    fs.rmSync(root, { recursive: true });
    await removeWorktree(s);
    assert.equal(fs.existsSync(s.path), false);
  });
});

describe('changesOf', () => {
  it('lists added, modified, deleted, renamed and binary files with counts, and the patch', async () => {
    const root = repo({ 'keep.txt': 'one\ntwo\nthree\n', 'drop.txt': 'x\ny\n', 'move me.txt': 'a fairly long line so rename detection is sure\nsecond\n', 'img.bin': 'v1' });
    const j = await job(root, 'c1', (dir) => {
      write(dir, 'keep.txt', 'one\n2\nthree\nfour\n');
      fs.rmSync(path.join(dir, 'drop.txt'));
      fs.renameSync(path.join(dir, 'move me.txt'), path.join(dir, 'moved.txt'));
      write(dir, 'img.bin', Buffer.from([0, 0, 1, 2]));
      write(dir, 'new/ü.txt', 'hi\n');
    });
    const c = await changesOf(j.dir, j.base, { maxPatchBytes: 1 << 20 });
    const by = Object.fromEntries(c.files.map((f) => [f.path, f]));
    assert.deepEqual(by['keep.txt'], { path: 'keep.txt', old_path: null, status: 'modified', additions: 2, deletions: 1, binary: false });
    assert.deepEqual(by['drop.txt'], { path: 'drop.txt', old_path: null, status: 'deleted', additions: 0, deletions: 2, binary: false });
    assert.deepEqual(by['moved.txt'], { path: 'moved.txt', old_path: 'move me.txt', status: 'renamed', additions: 0, deletions: 0, binary: false });
    assert.deepEqual(by['img.bin'], { path: 'img.bin', old_path: null, status: 'modified', additions: 0, deletions: 0, binary: true });
    assert.deepEqual(by['new/ü.txt'], { path: 'new/ü.txt', old_path: null, status: 'added', additions: 1, deletions: 0, binary: false });
    assert.equal(c.files.length, 5);
    assert.equal(c.additions, 3);
    assert.equal(c.deletions, 3);
    assert.equal(c.truncated, false);
    assert.equal(c.tree, j.tree);
    assert.match(c.patch!, /GIT binary patch/);
    assert.match(c.patch!, /rename from move me.txt/);
    assert.match(c.patch!, /\+four\n/);

    const stat = await changesOf(j.dir, j.base, { statOnly: true, maxPatchBytes: 1 << 20 });
    assert.equal(stat.patch, null);
    assert.equal(stat.files.length, 5);

    const only = await changesOf(j.dir, j.base, { paths: ['new', 'keep.txt', '*.bin'], maxPatchBytes: 1 << 20 });
    assert.deepEqual(only.files.map((f) => f.path).sort(), ['keep.txt', 'new/ü.txt'], 'paths are literal: a folder or a file, never a pattern');
    assert.doesNotMatch(only.patch!, /drop\.txt/);
  });

  it('cuts a long patch on a line boundary and says so', async () => {
    const root = repo({ 'big.txt': '' });
    const j = await job(root, 'c2', (dir) => write(dir, 'big.txt', Array.from({ length: 2000 }, (_, i) => `line ${i} ünïcødé\n`).join('')));
    const c = await changesOf(j.dir, j.base, { maxPatchBytes: 5000 });
    assert.equal(c.truncated, true);
    assert.ok(Buffer.byteLength(c.patch!) <= 5000);
    assert.ok(c.patch!.endsWith('\n'));
    assert.equal(c.files[0]!.additions, 2000, 'the stat is whole even when the patch is cut');
  });
});

describe('applyChanges', () => {
  const lines = (n: number, tag = '') => Array.from({ length: n }, (_, i) => `line ${i}${tag}\n`).join('');

  it('two jobs changing different files both apply; the tree ends with both changes, unstaged, and nothing else', async () => {
    const root = repo({ 'a.txt': lines(5), 'b.txt': lines(5) });
    const one = await job(root, 'j1', (dir) => write(dir, 'a.txt', lines(5, ' by one')));
    const two = await job(root, 'j2', (dir) => {
      write(dir, 'b.txt', lines(5, ' by two'));
      write(dir, 'added-by-two.bin', Buffer.from([0, 9, 8]));
    });
    const r1 = await applyChanges({ target: root, base: one.base, tree: one.tree, dryRun: false });
    assert.deepEqual(r1, { applied: true, dry_run: false, files: [{ path: 'a.txt', old_path: null, status: 'modified', additions: 5, deletions: 5, binary: false }], conflicts: [], refused: null });
    const r2 = await applyChanges({ target: root, base: two.base, tree: two.tree, dryRun: false });
    assert.equal(r2.applied, true, JSON.stringify(r2));
    assert.equal(fs.readFileSync(path.join(root, 'a.txt'), 'utf8'), lines(5, ' by one'));
    assert.equal(fs.readFileSync(path.join(root, 'b.txt'), 'utf8'), lines(5, ' by two'));
    assert.deepEqual(fs.readFileSync(path.join(root, 'added-by-two.bin')), Buffer.from([0, 9, 8]));
    assert.equal(git(root, 'status', '--porcelain'), ' M a.txt\n M b.txt\n?? added-by-two.bin\n', 'unstaged, and nothing else');
  });

  it('a second job on the same lines reports the conflict per file and leaves the checkout byte-identical', async () => {
    const root = repo({ 'a.txt': lines(5), 'other.txt': 'x\n' });
    const one = await job(root, 'j1', (dir) => write(dir, 'a.txt', lines(5, ' by one')));
    const two = await job(root, 'j2', (dir) => {
      write(dir, 'a.txt', lines(5, ' by two'));
      write(dir, 'other.txt', 'clean change\n');
    });
    assert.equal((await applyChanges({ target: root, base: one.base, tree: one.tree, dryRun: false })).applied, true);
    const before = fingerprint(root);
    const r = await applyChanges({ target: root, base: two.base, tree: two.tree, dryRun: false });
    assert.equal(r.applied, false);
    assert.equal(r.refused, null);
    assert.equal(r.conflicts.length, 1);
    assert.equal(r.conflicts[0]!.path, 'a.txt');
    assert.match(r.conflicts[0]!.reason, /CONFLICT \(content\).*a\.txt/);
    assert.equal(fingerprint(root), before);
  });

  it('is refused when the user has uncommitted changes to a file the job changed, and names the file', async () => {
    const root = repo({ 'a.txt': lines(10), 'b.txt': lines(5) });
    const j = await job(root, 'j1', (dir) => write(dir, 'a.txt', lines(10).replace('line 0\n', 'line 0 by job\n')));
    // Lines far apart: a 3-way merge would be clean, but it would mix the job's change into work in progress.
    write(root, 'a.txt', lines(10).replace('line 9\n', 'line 9 by user\n'));
    const before = fingerprint(root);
    const r = await applyChanges({ target: root, base: j.base, tree: j.tree, dryRun: false });
    assert.equal(r.applied, false);
    assert.match(r.refused ?? '', /a\.txt; commit or stash your changes to these files, then apply again/);
    assert.equal(fingerprint(root), before);
  });

  it('is not refused when the user\'s uncommitted file is as it was when the job started, nor for a change the user committed since', async () => {
    const root = repo({ 'a.txt': lines(5), 'b.txt': lines(5) });
    write(root, 'a.txt', lines(5, ' wip')); // uncommitted before the job: the job starts from it
    const j = await job(root, 'j1', (dir) => {
      write(dir, 'a.txt', `${lines(5, ' wip')}job line\n`);
      write(dir, 'b.txt', `${lines(5)}job line\n`);
    });
    write(root, 'b.txt', `first\n${lines(5)}`);
    git(root, 'commit', '-qm', 'user commits b', 'b.txt');
    const r = await applyChanges({ target: root, base: j.base, tree: j.tree, dryRun: false });
    assert.equal(r.applied, true, JSON.stringify(r));
    assert.equal(fs.readFileSync(path.join(root, 'a.txt'), 'utf8'), `${lines(5, ' wip')}job line\n`);
    assert.equal(fs.readFileSync(path.join(root, 'b.txt'), 'utf8'), `first\n${lines(5)}job line\n`, '3-way: both changes');
  });

  it('a dry run reports the files and touches nothing; the user\'s staged changes survive a real apply', async () => {
    const root = repo({ 'a.txt': lines(5), 'staged.txt': 's\n' });
    const j = await job(root, 'j1', (dir) => write(dir, 'a.txt', lines(5, ' by job')));
    write(root, 'staged.txt', 's staged\n');
    git(root, 'add', 'staged.txt');
    const before = fingerprint(root);
    const dry = await applyChanges({ target: root, base: j.base, tree: j.tree, dryRun: true });
    assert.deepEqual(dry, { applied: false, dry_run: true, files: [{ path: 'a.txt', old_path: null, status: 'modified', additions: 5, deletions: 5, binary: false }], conflicts: [], refused: null });
    assert.equal(fingerprint(root), before);

    const stagedBefore = git(root, 'diff', '--cached');
    assert.equal((await applyChanges({ target: root, base: j.base, tree: j.tree, dryRun: false })).applied, true);
    assert.equal(git(root, 'diff', '--cached'), stagedBefore, 'the index is as the user left it');
    assert.equal(git(root, 'status', '--porcelain'), ' M a.txt\nM  staged.txt\n');
  });

  it('since= the tree already applied brings nothing; later work in the worktree brings only itself', async () => {
    const root = repo({ 'a.txt': lines(5), 'b.txt': lines(5) });
    const j = await job(root, 'j1', (dir) => write(dir, 'a.txt', lines(5, ' by job')));
    assert.equal((await applyChanges({ target: root, base: j.base, tree: j.tree, dryRun: false })).applied, true);
    const again = await applyChanges({ target: root, base: j.base, tree: j.tree, since: j.tree, dryRun: false });
    assert.deepEqual(again.files, []);
    assert.equal(again.applied, false);
    assert.equal(again.refused, null);
    // Without since the same apply is a dirty overlap, not a double change.
    assert.match((await applyChanges({ target: root, base: j.base, tree: j.tree, dryRun: false })).refused ?? '', /a\.txt/);

    write(j.dir, 'b.txt', lines(5, ' later'));
    const later = await snapshotTree(j.dir);
    const r = await applyChanges({ target: root, base: j.base, tree: later, since: j.tree, dryRun: false });
    assert.deepEqual(r.files.map((f) => f.path), ['b.txt']);
    assert.equal(r.applied, true);
    assert.equal(fs.readFileSync(path.join(root, 'b.txt'), 'utf8'), lines(5, ' later'));
  });

  it('does not overwrite an ignored file in the way: refused, nothing written', async () => {
    const root = repo({ '.gitignore': 'out.txt\n', 'a.txt': 'a\n' });
    const j = await job(root, 'j1', (dir) => {
      fs.writeFileSync(path.join(dir, '.gitignore'), '');
      write(dir, 'out.txt', 'from the job\n');
      write(dir, 'a.txt', 'changed\n');
    });
    write(root, 'out.txt', 'the user\'s ignored file\n');
    const before = fingerprint(root);
    const r = await applyChanges({ target: root, base: j.base, tree: j.tree, dryRun: false });
    assert.equal(r.applied, false);
    assert.match(r.refused ?? '', /out\.txt/);
    assert.equal(fingerprint(root), before);
  });
});

describe("the server's git runs nothing a job planted in the repository", () => {
  const lines = (n: number, tag = '') => Array.from({ length: n }, (_, i) => `line ${i}${tag}\n`).join('');
  const markers = tmp('markers');
  /** A shell command that leaves a marker named `name`: it ran. */
  const touch = (name: string) => `touch '${path.join(markers, name)}'`;
  const ran = () => fs.readdirSync(markers);
  const hook = (dir: string, name: string) => write(dir, name, `#!/bin/sh\n${touch(path.basename(name))}\n`, 0o755);

  interface Planted {
    root: string;
    wt: string;
    /** The user's .git, which a linked worktree shares. */
    gitDir: string;
  }

  /**
   * A job in a worktree that plants something, then every git step the server takes on it after
   * the job: the end-of-job snapshot, diff, apply to the user's checkout (which committed a change
   * to the same files since, so apply merges them), discard. Returns the markers that appeared,
   * each with the step that ran it, and what apply said.
   */
  async function afterJobThatPlants(plant: (p: Planted) => void): Promise<{ ran: string[]; applied: boolean | null }> {
    for (const m of ran()) fs.rmSync(path.join(markers, m));
    const root = repo({ 'a.txt': lines(10), 'b.txt': lines(10) });
    const drivers = await configuredDrivers(root);
    const base = await snapshotCommit(root, 'base', drivers);
    const s = spec(root, 'planting');
    await createWorktree(s, base, drivers);
    // The job's own work, and the user's committed meanwhile: line 0 by the job, line 9 by the user.
    write(s.path, 'a.txt', lines(10).replace('line 0\n', 'line 0 by the job\n'));
    write(s.path, 'b.txt', lines(10).replace('line 0\n', 'line 0 by the job\n'));
    write(root, 'a.txt', lines(10).replace('line 9\n', 'line 9 by the user\n'));
    write(root, 'b.txt', lines(10).replace('line 9\n', 'line 9 by the user\n'));
    git(root, 'commit', '-qam', 'the user works on');
    plant({ root, wt: s.path, gitDir: path.join(root, '.git') });
    assert.deepEqual(ran(), [], 'planting itself ran nothing');

    const seen: string[] = [];
    let applied: boolean | null = null;
    let tree: string | null = null;
    const step = async (name: string, fn: () => Promise<unknown>) => {
      // Failing is fine (a planted setting may break git); running the job's command is not.
      await fn().catch(() => {});
      for (const m of ran()) if (!seen.some((x) => x.endsWith(` ${m}`))) seen.push(`${name}: ${m}`);
    };
    await step('end of the job', async () => (tree = await snapshotTree(s.path, drivers)));
    await step('diff', () => changesOf(s.path, base, { maxPatchBytes: 1 << 20, drivers }));
    await step('apply', async () => {
      if (tree) applied = (await applyChanges({ target: root, base, tree, dryRun: false, drivers })).applied;
    });
    await step('discard', () => removeWorktree(s));
    return { ran: seen, applied };
  }

  const planted: [string, (p: Planted) => void][] = [
    ['core.fsmonitor', ({ wt }) => git(wt, 'config', 'core.fsmonitor', `${touch('fsmonitor')}; false`)],
    [
      'hooks in the repository (post-index-change, post-checkout, reference-transaction)',
      ({ gitDir }) => ['post-index-change', 'post-checkout', 'reference-transaction'].forEach((h) => hook(gitDir, `hooks/${h}`)),
    ],
    [
      'core.hooksPath to hooks the job wrote',
      ({ wt }) => {
        ['post-index-change', 'reference-transaction'].forEach((h) => hook(wt, `.hooks/${h}`));
        git(wt, 'config', 'core.hooksPath', path.join(wt, '.hooks'));
      },
    ],
    [
      'a filter driver named by a .gitattributes the job wrote',
      ({ wt }) => {
        git(wt, 'config', 'filter.evil.clean', `${touch('clean')}; cat`);
        git(wt, 'config', 'filter.evil.smudge', `${touch('smudge')}; cat`);
        git(wt, 'config', 'filter.evil.required', 'true');
        write(wt, '.gitattributes', '* filter=evil\n');
      },
    ],
    [
      'merge drivers, by attribute and by merge.default',
      ({ wt, gitDir }) => {
        git(wt, 'config', 'merge.evil.driver', `${touch('merge-driver')}; true`);
        git(wt, 'config', 'merge.default', 'other');
        git(wt, 'config', 'merge.other.driver', `${touch('merge-default')}; true`);
        write(gitDir, 'info/attributes', 'a.txt merge=evil\n');
      },
    ],
    [
      'include.path pulling in fsmonitor and a filter',
      ({ wt }) => {
        write(wt, '.inc', `[core]\n\tfsmonitor = "${touch('included-fsmonitor')}; false"\n[filter "inc"]\n\tclean = "${touch('included-clean')}; cat"\n`);
        write(wt, '.gitattributes', '* filter=inc\n');
        git(wt, 'config', 'include.path', path.join(wt, '.inc'));
      },
    ],
    [
      "the worktree's .git link pointed at a repository the job made",
      ({ wt }) => {
        git(wt, 'init', '-q', '--bare', '.evil');
        git(path.join(wt, '.evil'), 'config', 'core.bare', 'false');
        git(path.join(wt, '.evil'), 'config', 'core.fsmonitor', `${touch('fake-fsmonitor')}; false`);
        hook(path.join(wt, '.evil'), 'hooks/post-index-change');
        fs.writeFileSync(path.join(wt, '.git'), `gitdir: ${path.join(wt, '.evil')}\n`);
      },
    ],
  ];
  for (const [what, plant] of planted) {
    it(`${what}: not run when the job ends, nor by diff, apply or discard`, async () => {
      const { ran: which } = await afterJobThatPlants(plant);
      assert.deepEqual(which, []);
    });
  }

  it('diff drivers (diff.external, command, textconv), pagers and aliases: not run (not run before the guard either: diffs are plumbing)', async () => {
    const { ran: which, applied } = await afterJobThatPlants(({ wt }) => {
      git(wt, 'config', 'diff.external', touch('diff-external'));
      git(wt, 'config', 'diff.evil.command', touch('diff-command'));
      git(wt, 'config', 'diff.evil.textconv', `${touch('textconv')}; cat`);
      git(wt, 'config', 'core.pager', touch('core-pager'));
      git(wt, 'config', 'pager.diff-tree', touch('pager'));
      for (const cmd of ['add', 'apply', 'diff-tree', 'merge-tree', 'worktree', 'rev-parse']) git(wt, 'config', `alias.${cmd}`, `!${touch(`alias-${cmd}`)}`);
      write(wt, '.gitattributes', '* diff=evil\n');
    });
    assert.deepEqual(which, []);
    assert.equal(applied, true, 'the job\'s changes still apply');
  });

  it('a filter configured before the job still runs; one the job changed does not', async () => {
    const root = repo({ '.gitattributes': '*.up filter=upper\n', 'x.up': 'ONE\n' });
    git(root, 'config', 'filter.upper.clean', 'tr a-z A-Z');
    git(root, 'config', 'filter.upper.smudge', 'cat');
    const drivers = await configuredDrivers(root);
    const base = await snapshotCommit(root, 'base', drivers);
    const s = spec(root, 'filtered');
    await createWorktree(s, base, drivers);
    write(s.path, 'x.up', 'two\n');
    const blob = async () => git(s.path, 'cat-file', 'blob', `${await snapshotTree(s.path, drivers)}:x.up`);
    assert.equal(await blob(), 'TWO\n', "the user's filter cleaned the job's file");
    git(s.path, 'config', 'filter.upper.clean', `${touch('changed-clean')}; tr a-z A-Z`);
    write(s.path, 'x.up', 'three\n');
    assert.equal(await blob(), 'three\n', 'the changed filter is not run: the bytes are kept as they are');
    assert.deepEqual(ran().filter((m) => m === 'changed-clean'), []);
    await removeWorktree(s);
  });

  it('a partial clone fetches no missing object through a remote the job named (ext::, protocol.ext.allow)', async () => {
    for (const m of ran()) fs.rmSync(path.join(markers, m));
    const origin = repo({ 'a.txt': 'one\n' });
    git(origin, 'config', 'uploadpack.allowFilter', 'true');
    git(origin, 'checkout', '-qb', 'other');
    write(origin, 'a.txt', 'two\n');
    git(origin, 'commit', '-qam', 'two');
    git(origin, 'checkout', '-q', 'main');
    const clone = path.join(tmp('clone'), 'c');
    git(path.dirname(clone), 'clone', '-q', '--filter=blob:none', `file://${origin}`, clone);
    // Branch other's blob is missing here: a diff against it would fetch it from the remote.
    git(clone, 'config', 'remote.origin.url', `ext::sh -c touch% ${path.join(markers, 'transport')}`);
    git(clone, 'config', 'protocol.ext.allow', 'always');
    const base = git(clone, 'rev-parse', 'origin/other').trim();
    await changesOf(clone, base, { maxPatchBytes: 1 << 20 }).catch(() => {});
    assert.deepEqual(ran(), []);
  });

  it("core.worktree and core.bare planted in the user's checkout: a job's diff there still shows that checkout, not another directory", async () => {
    const root = repo({ 'a.txt': 'a\n' });
    const base = await snapshotCommit(root, 'base', await configuredDrivers(root));
    const elsewhere = tmp('elsewhere');
    write(elsewhere, 'secret.txt', 'a key\n');
    write(root, 'a.txt', 'changed by the job\n');
    git(root, 'config', 'core.worktree', elsewhere);
    const c = await changesOf(root, base, { maxPatchBytes: 1 << 20 });
    assert.deepEqual(c.files.map((f) => f.path), ['a.txt']);
    assert.doesNotMatch(c.patch ?? '', /a key/);
    git(root, '--work-tree', root, 'config', '--unset', 'core.worktree');
    git(root, 'config', 'core.bare', 'true');
    assert.deepEqual((await changesOf(root, base, { maxPatchBytes: 0, statOnly: true })).files.map((f) => f.path), ['a.txt']);
  });
});

describe('runGit', () => {
  it("a failure names the command the caller ran, also when reading the repository's config before it is what failed", async () => {
    const missing = path.join(tmp('gone'), 'no-such-dir');
    await assert.rejects(runGit(['status', '--porcelain'], { cwd: missing }), (err: Error) => {
      assert.match(err.message, /^git status --porcelain could not run: the directory .*no-such-dir does not exist$/);
      return true;
    });
    const root = repo();
    fs.appendFileSync(path.join(root, '.git', 'config'), '[broken\n');
    await assert.rejects(runGit(['diff', 'HEAD'], { cwd: root }), (err: Error) => {
      assert.match(err.message, /^git diff HEAD failed \(exit \d+\): .*bad config/s);
      return true;
    });
  });
});
