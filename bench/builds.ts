/**
 * Builds of the server to measure side by side: today's checkout, or any git revision built once in
 * a temporary worktree and kept by commit under the OS temp directory; and a harness whose servers
 * run a given build.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, SERVER_MAIN, type Harness } from '../test/helpers/harness.ts';

export interface Build {
  /** The commit, short, with "+changes" when the checkout has uncommitted work. */
  rev: string;
  /** Its bin, `dist/cli/main.js`. */
  main: string;
}

const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/** Today's build (`npm run bench` has just built it). */
export function currentBuild(): Build {
  const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
  return { rev: `${git('rev-parse', '--short', 'HEAD')}${dirty ? '+changes' : ''}`, main: SERVER_MAIN };
}

/**
 * `rev` built as `npm run build` builds it, in a detached worktree under the OS temp directory (the
 * checkout's node_modules linked in), its dist/ and package.json then kept in
 * `<tmp>/cam-bench-builds/<commit>` beside a link to node_modules, and the worktree removed. A build
 * already kept is used as it is, so a rerun does not build again.
 */
export function buildOfRev(rev: string, log: (line: string) => void): Build {
  const commit = git('rev-parse', '--verify', `${rev}^{commit}`);
  const short = commit.slice(0, 7);
  const kept = path.join(os.tmpdir(), 'cam-bench-builds', commit);
  const main = path.join(kept, 'dist/cli/main.js');
  const nodeModules = fs.realpathSync(path.join(ROOT, 'node_modules'));
  if (fs.existsSync(path.join(kept, '.complete'))) {
    log(`build of ${short}: kept in ${kept}`);
    return { rev: short, main };
  }
  const tree = path.join(os.tmpdir(), `cam-bench-tree-${short}-${process.pid}`);
  log(`build of ${short}: building in ${tree}…`);
  git('worktree', 'add', '--detach', tree, commit);
  try {
    fs.symlinkSync(nodeModules, path.join(tree, 'node_modules'));
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: tree, stdio: ['ignore', 'inherit', 'inherit'] });
    fs.rmSync(kept, { recursive: true, force: true });
    fs.mkdirSync(kept, { recursive: true });
    fs.cpSync(path.join(tree, 'dist'), path.join(kept, 'dist'), { recursive: true });
    // The bin reads its version from ../../package.json and resolves its packages from node_modules above it.
    fs.copyFileSync(path.join(tree, 'package.json'), path.join(kept, 'package.json'));
    fs.symlinkSync(nodeModules, path.join(kept, 'node_modules'));
    fs.writeFileSync(path.join(kept, '.complete'), `${commit}\n`);
  } finally {
    try {
      git('worktree', 'remove', '--force', tree);
    } catch {
      fs.rmSync(tree, { recursive: true, force: true });
      git('worktree', 'prune');
    }
  }
  return { rev: short, main };
}

/**
 * `base` with its servers running `main` instead of today's bin: the same environment, homes and
 * mock, so a figure measured through it differs from `base`'s only by the build.
 */
export function serving(base: Harness, main: string): Harness {
  return { ...base, connect: (extra, options) => base.connect(extra, options, main) };
}

