/**
 * A lock between processes on one machine, as a file: Node has no flock, so an exclusive create
 * (O_EXCL, not through a link), holding its holder's identity (pid and start time). One whose holder
 * is gone (it died holding it: a server killed mid-cap, a reader killed mid-recovery) is removed and
 * taken at once; one that names no holder (being written, or from an older version), or one older
 * than `staleMs` whatever it names (its pid reused), is removed once stale. Used by the log cap
 * (jobs/logcap.ts) and a landing's recovery (engine/landing.ts); the holder removes the file.
 */
import fs from 'node:fs';
import { identityAlive, selfIdentity } from '../supervise/proc.js';

export function takeLock(lock: string, staleMs: number): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(lock, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!lockAbandoned(lock, staleMs)) return false;
      fs.rmSync(lock, { force: true });
      continue;
    }
    try {
      fs.writeSync(fd, `${selfIdentity()}\n`);
    } catch (err) {
      fs.rmSync(lock, { force: true });
      throw err;
    } finally {
      fs.closeSync(fd);
    }
    return true;
  }
  return false;
}

function lockAbandoned(lock: string, staleMs: number): boolean {
  let holder: string;
  try {
    const fd = fs.openSync(lock, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      holder = fs.readFileSync(fd, 'utf8').trim();
    } finally {
      fs.closeSync(fd);
    }
    if (holder !== '' && !identityAlive(holder)) return true;
    return Date.now() - fs.lstatSync(lock).mtimeMs > staleMs;
  } catch {
    // Gone meanwhile: its holder finished, and the next attempt takes it.
    return true;
  }
}
