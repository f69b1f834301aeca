import logUpdate from 'log-update';
import type { JobApi } from '../engine/api.js';
import { describeActivity, type Snapshot } from '../engine/snapshot.js';
import { isFinal } from '../jobs/states.js';
import { duration, fit, type Out } from './render.js';
import { safeText } from './safe-text.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const TICK_MS = 120;

/** "42s 3f9c0a1b2c3d running `npm test` — 4 commands, 2 files changed, 12k tokens" (plain text). */
function statusLine(snap: Snapshot, now: number): string {
  const since = Date.parse(snap.started_at ?? snap.created_at);
  return `${duration(now - since)} ${snap.job_id} ${safeText(describeActivity(snap))}`;
}

/**
 * Waits until every job is final (or `timeoutMs` passes) and returns their snapshots. On a terminal
 * the jobs' progress is one live line each, with a spinner; otherwise a plain line is printed
 * whenever a job's activity changes, so a log file reads as a history. Ctrl-C stops the waiting,
 * never the jobs.
 */
export async function waitLive(engine: JobApi, out: Out, ids: string[], timeoutMs = Infinity): Promise<{ snapshots: Snapshot[]; interrupted: boolean }> {
  const deadline = Date.now() + timeoutMs;
  const stop = new AbortController();
  const onInt = () => stop.abort();
  // `on`, not `once`: log-update's cursor restorer (signal-exit) re-raises SIGINT when it finds
  // itself the only listener, which a `once` listener stops being the moment it runs.
  process.on('SIGINT', onInt);
  const live = out.tty && !out.json;
  let frame = 0;
  let snaps: Snapshot[] = [];
  const lastPlain = new Map<string, string>();
  // The spinner turns every tick from what was last read; reading (which may fold new events into
  // the database) happens once per loop: on a change, or at least every second.
  const draw = () => {
    if (!live) return;
    const now = Date.now();
    frame = (frame + 1) % FRAMES.length;
    logUpdate(
      snaps
        .filter((s) => !isFinal(s.status))
        .map((s) => `${out.c.cyan(FRAMES[frame]!)} ${fit(statusLine(s, now), out.width - 3)}`)
        .join('\n'),
    );
  };
  const read = async () => {
    snaps = await Promise.all(ids.map((id) => engine.poll(id, 0)));
    if (live || out.json) return draw();
    const now = Date.now();
    for (const s of snaps.filter((x) => !isFinal(x.status))) {
      const text = s.status === 'queued' ? 'queued' : safeText(s.progress.current ?? s.status);
      if (lastPlain.get(s.job_id) === text) continue;
      lastPlain.set(s.job_id, text);
      process.stderr.write(`[${duration(now - Date.parse(s.started_at ?? s.created_at))}] ${s.job_id} ${text}\n`);
    }
  };
  const ticker = live ? setInterval(draw, TICK_MS) : null;
  try {
    for (;;) {
      await read();
      const pending = snaps.filter((s) => !isFinal(s.status)).map((s) => s.job_id);
      if (pending.length === 0 || stop.signal.aborted || Date.now() >= deadline) return { snapshots: snaps, interrupted: stop.signal.aborted };
      await engine.wait(pending, Math.min(1000, deadline - Date.now()), { signal: stop.signal });
    }
  } finally {
    if (ticker) clearInterval(ticker);
    if (live) logUpdate.clear();
    process.removeListener('SIGINT', onInt);
  }
}
