import fs from 'node:fs';
import type { EventStream } from '../agents/agent.js';
import type { Progress } from '../agents/progress.js';
import { fileSize, openForReading, readTail } from './files.js';

const CHUNK = 1 << 20;
/** A longer line is not an event we can use (a huge command output); it is skipped. */
const MAX_LINE = 4 << 20;


/**
 * Folds the events written since `offset` into `progress`. Stops before a torn last line unless
 * `toEnd` (codex has exited, so nothing more will be appended). Returns the new offset.
 * Cost grows with what is new, not with the log's size, and at most `maxBacklog` bytes are read:
 * a job that floods its log has the older part of the backlog skipped (its progress counts then
 * miss what was in it) rather than stalling the server for seconds.
 */
export function foldNewEvents(stream: EventStream, file: string, offset: number, progress: Progress, toEnd: boolean, maxBacklog = Infinity): number {
  const size = fileSize(file);
  if (size <= offset) return offset;
  const fd = openForReading(file);
  if (fd === null) return offset;
  try {
    const skipTo = foldsFrom(offset, size, maxBacklog);
    // The thread id comes first and is needed to reply: never skip it.
    if (skipTo !== offset && progress.thread_id === null) foldFirstLine(stream, fd, offset, progress);
    let pos = skipTo;
    let carry = Buffer.alloc(0);
    // After a skip we are inside a line: drop it up to its newline.
    let skipping = skipTo !== offset;
    // Sized to what is new (a poll finds a few KB): a zeroed 1 MiB per call cost more than the
    // folding, and its garbage made the collector run beside every poll.
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, size - pos));
    while (pos + carry.length < size) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, size - pos - carry.length), pos + carry.length);
      if (n <= 0) break;
      let data = carry.length ? Buffer.concat([carry, buf.subarray(0, n)]) : buf.subarray(0, n);
      let start = 0;
      for (let nl = data.indexOf(10, start); nl !== -1; nl = data.indexOf(10, start)) {
        if (!skipping && nl - start <= MAX_LINE) stream.fold(data.toString('utf8', start, nl), progress);
        skipping = false;
        start = nl + 1;
      }
      pos += start;
      carry = Buffer.from(data.subarray(start));
      if (carry.length > MAX_LINE) {
        pos += carry.length;
        carry = Buffer.alloc(0);
        skipping = true;
      }
      data = Buffer.alloc(0);
    }
    if (toEnd && carry.length && !skipping) {
      stream.fold(carry.toString('utf8'), progress);
      pos += carry.length;
    }
    return pos;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Where the next fold of a log `size` bytes long reads from: the offset, or past a backlog of more
 * than `maxBacklog`, the last `maxBacklog` bytes (and the first line at the offset, while the thread
 * id is unknown).
 */
export function foldsFrom(offset: number, size: number, maxBacklog: number): number {
  return size - offset > maxBacklog ? size - maxBacklog : offset;
}

function foldFirstLine(stream: EventStream, fd: number, offset: number, progress: Progress): void {
  const buf = Buffer.alloc(64 << 10);
  const n = fs.readSync(fd, buf, 0, buf.length, offset);
  const nl = buf.subarray(0, n).indexOf(10);
  if (nl !== -1) stream.fold(buf.toString('utf8', 0, nl), progress);
}

/** How far back from the end `output` looks: it starts small and widens only while it needs more. */
const TAIL_FIRST = 16 << 10;
const TAIL_MAX = 1 << 20;

/**
 * The readable end of a job's activity: at most `maxLines` lines and `maxChars` characters,
 * rendered from the end of the event log only — 16 KiB, widened up to 1 MiB while that is not
 * enough — so reading it costs the same for a 1 KB log and a 1 GB one.
 */
export function readActivityTail(stream: EventStream, file: string, maxLines: number, maxChars: number): string {
  if (maxLines === 0) return '';
  const size = fileSize(file);
  if (size === 0) return '';
  const fd = openForReading(file);
  if (fd === null) return '';
  try {
    for (let window = TAIL_FIRST; ; window *= 4) {
      const start = Math.max(0, size - window);
      const buf = Buffer.allocUnsafe(size - start);
      const n = fs.readSync(fd, buf, 0, buf.length, start);
      const out = renderTail(stream, buf.toString('utf8', 0, n), start > 0, maxLines, maxChars);
      if (start === 0 || window >= TAIL_MAX || out.lines >= maxLines || out.text.length >= maxChars) return out.text;
    }
  } finally {
    fs.closeSync(fd);
  }
}

function renderTail(stream: EventStream, text: string, partialFirstLine: boolean, maxLines: number, maxChars: number): { text: string; lines: number } {
  const lines = text.split('\n');
  if (partialFirstLine) lines.shift();
  // A finished command replaces its "started" line, so each command reads once, with its result.
  const entries: Array<{ itemId: string | null; text: string }> = [];
  const startedAt = new Map<string, number>();
  for (const line of lines) {
    const shown = stream.render(line);
    if (!shown) continue;
    const { text, item } = shown;
    const itemId = item?.id ?? null;
    if (item?.done && startedAt.has(item.id)) {
      entries[startedAt.get(item.id)!] = { itemId, text };
      startedAt.delete(item.id);
      continue;
    }
    if (item && !item.done) startedAt.set(item.id, entries.length);
    entries.push({ itemId, text });
  }
  const rendered = entries.flatMap((e) => e.text.split('\n'));
  let out = rendered.slice(-maxLines).join('\n');
  if (out.length > maxChars) out = `…${out.slice(out.length - maxChars + 1)}`;
  return { text: out, lines: Math.min(rendered.length, maxLines) };
}

/**
 * The complete lines written since `offset` (at most `maxBytes` of them), for following a log as it
 * grows; with `toEnd` a last line without its newline is included too. Returns the new offset.
 */
export function readNewLines(file: string, offset: number, toEnd: boolean, maxBytes = CHUNK * 4): { lines: string[]; offset: number } {
  const size = fileSize(file);
  if (size <= offset) return { lines: [], offset: size < offset ? size : offset };
  const fd = openForReading(file);
  if (fd === null) return { lines: [], offset };
  try {
    const buf = Buffer.alloc(Math.min(size - offset, maxBytes));
    const n = fs.readSync(fd, buf, 0, buf.length, offset);
    const data = buf.subarray(0, n);
    const end = toEnd && offset + n === size ? n : data.lastIndexOf(10) + 1;
    if (end === 0) return { lines: [], offset: n === maxBytes ? skipLine(fd, offset + n, size, toEnd) ?? offset : offset };
    const lines = data.toString('utf8', 0, end).split('\n');
    if (lines.at(-1) === '') lines.pop();
    return { lines, offset: offset + end };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Past a line longer than anything worth showing (as `foldNewEvents` skips it): the offset after
 * its newline, the end if codex is done, or null while the line is still being written.
 */
function skipLine(fd: number, from: number, size: number, toEnd: boolean): number | null {
  const buf = Buffer.alloc(CHUNK);
  for (let pos = from; pos < size; ) {
    const n = fs.readSync(fd, buf, 0, Math.min(CHUNK, size - pos), pos);
    if (n <= 0) break;
    const nl = buf.subarray(0, n).indexOf(10);
    if (nl !== -1) return pos + nl + 1;
    pos += n;
  }
  return toEnd ? size : null;
}

/** The last `maxBytes` of the log as text, starting at a line boundary. */
export function readRawTail(file: string, maxBytes: number): string {
  const { text, cut } = readTail(file, maxBytes);
  return cut ? text.slice(text.indexOf('\n') + 1) : text;
}
