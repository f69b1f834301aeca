import { execFile } from 'node:child_process';
import fs from 'node:fs';

const BLOCK = 4096;

/**
 * Keeps a log that codex is still writing within `capBytes` of disk by punching a hole over its
 * oldest part (`fallocate --punch-hole`): the file keeps its length and codex its write offset,
 * the freed range reads back as zeros, and the tail — what `output` and the result need — stays.
 * Nothing at or after `keepFrom` is dropped (the event log's unread part). Resolves to the number
 * of bytes now holes at the start of the file, or `punched` unchanged when nothing was done.
 */
export async function capLog(file: string, capBytes: number, keepFrom: number, punched: number): Promise<number> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return punched;
  }
  if (!st.isFile() || st.size - punched <= capBytes) return punched;
  const end = Math.floor(Math.min(keepFrom, st.size - capBytes / 2) / BLOCK) * BLOCK;
  if (end <= punched) return punched;
  await new Promise<void>((resolve, reject) => {
    execFile('fallocate', ['--punch-hole', '--offset', '0', '--length', String(end), file], (err) => (err ? reject(err) : resolve()));
  });
  return end;
}
