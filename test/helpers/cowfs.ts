/**
 * A file system that clones files (copy-on-write), for the code that uses one where it can: an XFS
 * image with reflink, loop-mounted for the test. Needs root and xfsprogs (.ci/run installs it);
 * where either is missing the tests that need it say why and skip.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './harness.ts';

/** Why a cloning file system cannot be made here, or false. */
export function cloningFsMissing(): string | false {
  if (process.getuid?.() !== 0) return 'a loop mount needs root';
  try {
    execFileSync('mkfs.xfs', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'mkfs.xfs is not installed (Debian: xfsprogs; .ci/run installs it)';
  }
  return false;
}

/** Runs `fn` in a directory on a fresh XFS image with reflink, unmounted and deleted afterwards. */
export async function onCloningFs<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const base = tempDir('cowfs');
  const image = path.join(base, 'xfs.img');
  const mnt = path.join(base, 'mnt');
  fs.mkdirSync(mnt);
  fs.closeSync(fs.openSync(image, 'w'));
  fs.truncateSync(image, 300 * 1024 * 1024);
  execFileSync('mkfs.xfs', ['-q', '-m', 'reflink=1', image], { stdio: 'pipe' });
  execFileSync('mount', ['-o', 'loop', image, mnt], { stdio: 'pipe' });
  try {
    return await fn(mnt);
  } finally {
    try {
      execFileSync('umount', [mnt], { stdio: 'pipe' });
    } catch {
      execFileSync('umount', ['-l', mnt], { stdio: 'pipe' });
    }
    fs.rmSync(base, { recursive: true, force: true });
  }
}
