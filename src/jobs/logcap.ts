import fs from 'node:fs';
import { platform, type Platform } from '../supervise/platform/index.js';
import { takeLock } from './lockfile.js';

const BLOCK = 4096;
/** The tail every reader looks at first (output's widest look, stderr's 2 KiB, the wrapper's `tail -n 5`): restored first. */
const TAIL_FIRST = 1 << 20;
/**
 * Rounds of reading what a writer added meanwhile before truncating all the same: a flood that never
 * pauses is capped then, losing what it writes between the last read and the truncation, as a cap
 * of a quieter writer can (the race truncateKeepingTail describes), rather than never capped.
 */
const MAX_CATCH_UP = 64;
const READ_CHUNK = 16 << 20;
/** A cap lock older than this is taken over even if its holder seems alive (its pid reused) or names none: a cap takes well under a second. */
const STALE_LOCK_MS = 60_000;
/** How often a cap that must happen looks again at a lock another process holds. */
const LOCK_POLL_MS = 200;

/**
 * Keeps a log an agent is still writing within `capBytes` of disk by freeing its oldest part: the
 * file keeps its length and the agent its write offset, the freed range reads back as zeros, and
 * the tail — what `output` and the result need — stays. Nothing at or after `keepFrom` is dropped
 * (the event log's unread part), except in the portable method's race (see truncateKeepingTail).
 * Resolves to the number of bytes now holes at the start of the file, or `punched` unchanged when
 * nothing was done. `on`: the platform whose way of punching holes is used, if it has one.
 * `mustCap`: no later cap comes (the job has ended), so another process's cap of the log is waited
 * out rather than taken as a reason to leave the log as it is.
 */
export async function capLog(file: string, capBytes: number, keepFrom: number, punched: number, on: Platform = platform(), mustCap = false): Promise<number> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return punched;
  }
  if (!st.isFile() || st.size - punched <= capBytes) return punched;
  const end = Math.floor(Math.min(keepFrom, st.size - capBytes / 2) / BLOCK) * BLOCK;
  if (end <= punched) return punched;
  // Our own O_NOFOLLOW descriptor: fallocate works on a path and would follow a symlink.
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_NOFOLLOW);
  try {
    if (!fs.fstatSync(fd).isFile()) return punched;
    const punchHole = on.punchHole;
    if (punchHole) {
      try {
        await punchHole(fd, end);
        return end;
      } catch {
        // No fallocate, or a file system that cannot punch holes: truncating still frees the space.
      }
    }
    // What is kept is held in memory meanwhile: from `keepFrom` (recorder.capLogs keeps at most the
    // last half of the cap the reader will still read) and at most half the cap more that the agent
    // writes during the cap.
    return (await truncateKeepingTail(file, fd, end, Math.max(BLOCK, Math.floor(capBytes / 2)), mustCap)) ? end : punched;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Frees [0, end) without a hole punch, every byte keeping its position: the kept part [end, size)
 * is read into memory, the file truncated to nothing and the kept part written back where it was.
 * The agent opened the log without O_APPEND (the wrapper's `>`), so it keeps writing at its own
 * offset and the file stays as long as before, sparse over [0, end).
 *
 * What the agent writes meanwhile is read too, up to `budget` bytes in all. Without that bound a
 * writer faster than this reading (a flood, a loaded machine) was chased until it paused: the log
 * went uncapped while it was written, all of it was held in memory, and the server was blocked
 * for seconds writing it back (a cap begun at 40 MB truncated a 1 GiB flood once it had ended).
 * Where more is new than the budget allows, only the newest part is read; what lies before it
 * reads back as zeros, as a lost write does.
 *
 * The residual race: what the agent writes between the last fstat and the ftruncate is lost — a
 * run of zeros in the log. When the last fstat found nothing new both are synchronous calls back to
 * back, a window of microseconds; a writer that never pauses also loses what it writes during the
 * last read, at most the tail readers look at first (a MiB, some hundred microseconds).
 * Readers in other processes see zeros over [end, size) until it is
 * written back (the last MiB first, so the tails readers look at return at once). Needs a file
 * system that keeps sparse files (APFS, ext4, xfs, btrfs, tmpfs; not HFS+ or exFAT, which would
 * write the zeros out). A lock file keeps any other cap of this log out, in this process or another.
 * From the first look for what was written during the bulk read to the end of the write-back all
 * is synchronous. False when nothing was done.
 */
async function truncateKeepingTail(file: string, fd: number, end: number, budget: number, mustCap: boolean): Promise<boolean> {
  const lock = `${file}.cap`;
  while (!takeLock(lock, STALE_LOCK_MS)) {
    if (!mustCap) return false;
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
  try {
    let size = fs.fstatSync(fd).size;
    if (size <= end) return false;
    const kept: Array<{ at: number; buf: Buffer }> = [];
    // At most CODEX_ASYNC_MAX_LOG_MB (capLog): read a chunk at a time, the server answering in between.
    for (let from = end; from < size; from += READ_CHUNK) {
      const buf = readRange(fd, from, Math.min(size, from + READ_CHUNK));
      if (buf === null) return false;
      kept.push({ at: from, buf });
      await new Promise((resolve) => setImmediate(resolve));
    }
    for (let round = 0, left = budget; ; round++) {
      const now = fs.fstatSync(fd).size;
      // Shrunk: someone else emptied it (a new launch's `>`); its old positions mean nothing now.
      if (now < size) return false;
      if (now === size) break;
      // The read right before the truncation is at most the tail readers look at first, so the
      // window in which a write is lost stays short and what is lost lies before that tail.
      const last = left <= 0 || round >= MAX_CATCH_UP;
      const from = now - Math.min(now - size, last ? TAIL_FIRST : Math.max(left, TAIL_FIRST));
      const buf = readRange(fd, from, now);
      if (buf === null) return false;
      kept.push({ at: from, buf });
      left -= now - from;
      size = now;
      if (last) break;
    }
    fs.ftruncateSync(fd, 0);
    const split = size - TAIL_FIRST;
    for (const { at, buf } of kept) writeRange(fd, buf.subarray(Math.max(0, split - at)), Math.max(at, split));
    for (const { at, buf } of kept) writeRange(fd, buf.subarray(0, Math.max(0, split - at)), at);
    return true;
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/** Reads [from, to) whole, or null if the file ends first (it shrank under us). */
function readRange(fd: number, from: number, to: number): Buffer | null {
  const buf = Buffer.allocUnsafe(to - from);
  for (let off = 0; off < buf.length; ) {
    const n = fs.readSync(fd, buf, off, buf.length - off, from + off);
    if (n === 0) return null;
    off += n;
  }
  return buf;
}

function writeRange(fd: number, buf: Buffer, at: number): void {
  for (let off = 0; off < buf.length; ) off += fs.writeSync(fd, buf, off, buf.length - off, at + off);
}

