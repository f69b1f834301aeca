import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './harness.ts';

/** Runs git in `dir` and returns its output; a test's git never reads the machine's global config. */
export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C' },
  });
}

/** A new repository in a temporary directory with these files committed. */
export function gitRepo(files: Record<string, string>, prefix = 'repo'): string {
  const dir = tempDir(prefix);
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.name', 'Test User');
  git(dir, 'config', 'user.email', 'test@example.com');
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'initial');
  return dir;
}

/**
 * Everything about a checkout that an apply could change: `git status`, the index, HEAD, and the
 * bytes of every file outside .git. Two equal states mean the checkout was left exactly as it was.
 */
export function checkoutState(dir: string): string {
  const hashes: string[] = [];
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const name = path.join(rel, entry.name);
      if (name === '.git') continue;
      if (entry.isDirectory()) walk(name);
      else hashes.push(`${name} ${createHash('sha256').update(fs.readFileSync(path.join(dir, name))).digest('hex')}`);
    }
  };
  walk('');
  return [git(dir, 'status', '--porcelain=v1', '-uall'), git(dir, 'ls-files', '-s'), git(dir, 'rev-parse', 'HEAD'), ...hashes.sort()].join('\n');
}

/** The worktrees git knows of for this repository, as paths (the main checkout first). */
export function worktreePaths(dir: string): string[] {
  return git(dir, 'worktree', 'list', '--porcelain')
    .split('\n')
    .filter((line) => line.startsWith('worktree '))
    .map((line) => line.slice('worktree '.length));
}

/** The codex/* branches of the repository. */
export function codexBranches(dir: string): string[] {
  return git(dir, 'branch', '--list', 'codex/*', '--format=%(refname:short)').split('\n').filter(Boolean);
}
