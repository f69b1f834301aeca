import { agentOf } from '../agents/registry.js';
import { invalid, ToolError } from '../errors.js';
import { readActivityTail, readNewLines, readRawTail } from '../jobs/eventlog.js';
import { fileSize, jobFiles, readStep } from '../jobs/files.js';
import { isJobId } from '../jobs/ids.js';
import { isFinal } from '../jobs/states.js';
import type { Job } from '../jobs/store.js';
import type { ListInput, WaitOptions, WaitOutcome } from './api.js';
import type { EngineParts } from './parts.js';
import { toResult, toSnapshot, toSummary, type JobResult, type JobSummary, type Snapshot } from './snapshot.js';
import { checkJobId, LIMITS, notFound } from './validate.js';

const OUTPUT_MAX_CHARS = 8000;

/**
 * Reading jobs: finding one by id or prefix, its snapshot, result, logs and the list; waiting for
 * jobs to finish and following their logs. Writes nothing but what `runner.refresh` records of an
 * exit it notices on the way.
 */
export class Reading {
  constructor(private readonly p: EngineParts) {}

  /**
   * The whole id for what a caller typed: the id itself, or a prefix only one job's id starts with
   * (as git and docker take them). Callers that look a job up repeatedly resolve once, so a job
   * created meanwhile cannot make their prefix ambiguous halfway through.
   */
  resolve(idOrPrefix: string): string {
    const id = checkJobId(idOrPrefix);
    if (isJobId(id)) return id;
    const matches = this.p.store.idsStartingWith(id);
    if (matches.length === 0) throw notFound(id);
    if (matches.length > 1) {
      const shown = matches.slice(0, 10).join(', ');
      throw invalid(`job id prefix "${id}" is ambiguous: ${matches.length} jobs start with it (${shown}${matches.length > 10 ? ', …' : ''}); give more characters`);
    }
    return matches[0]!;
  }

  get(id: string): Job {
    const whole = this.resolve(id);
    const job = this.p.store.get(whole);
    if (!job) throw notFound(whole);
    return job;
  }

  snapshotOf(job: Job, tailLines = 100): Snapshot {
    const fresh = this.p.runner.refresh(job);
    const files = jobFiles(this.p.layout, job.id);
    // Recorded when the job ends; until then, as far as the wrapper has got.
    if (fresh.status === 'running') fresh.setup = readStep(files, 'setup', fresh.setup_command);
    const output = readActivityTail(agentOf(job.agent).stream, files.events, tailLines, OUTPUT_MAX_CHARS);
    return toSnapshot(fresh, output, fresh.status === 'queued' ? this.p.store.queuePosition(fresh) : null, this.p.runner.phase(fresh));
  }

  poll(id: string, tailLines = 100): Snapshot {
    if (!Number.isInteger(tailLines) || tailLines < 0) throw invalid(`tail_lines must be a whole number from 0 up, got ${tailLines}`);
    return this.snapshotOf(this.get(id), tailLines);
  }

  /** The readable activity log, longer than poll's: for the `codex-job://{id}/output` resource. */
  activity(id: string): string {
    const job = this.get(id);
    return readActivityTail(agentOf(job.agent).stream, jobFiles(this.p.layout, job.id).events, 2000, 256 * 1024);
  }

  /** The raw JSONL event stream's last `maxBytes`, cut at a line start: for `codex-job://{id}/events`. */
  rawEvents(id: string, maxBytes = 1 << 20): string {
    return readRawTail(jobFiles(this.p.layout, this.get(id).id).events, maxBytes);
  }

  result(id: string): JobResult {
    const job = this.get(id);
    if (!isFinal(job.status)) {
      throw new ToolError(
        'not_finished',
        (t) => `job ${job.id} is still ${job.status}: call ${t('wait')} with job_ids ["${job.id}"] to block until it finishes, or ${t('poll')} to see its progress`,
      );
    }
    return toResult(job);
  }

  list(input: ListInput): { jobs: JobSummary[]; next_cursor: string | null } {
    const limit = input.limit ?? 20;
    if (!Number.isInteger(limit) || limit < 1 || limit > LIMITS.listLimit) {
      throw invalid(`limit must be a whole number from 1 to ${LIMITS.listLimit}, got ${limit}`);
    }
    let beforeSeq: number | undefined;
    if (input.cursor !== undefined) {
      const decoded = Number(Buffer.from(input.cursor, 'base64url').toString('utf8'));
      if (!Number.isInteger(decoded) || decoded < 1) throw invalid((t) => `cursor is not one ${t('list')} returned: pass next_cursor as given`);
      beforeSeq = decoded;
    }
    const rows = this.p.store.list({ status: input.status, cwd: input.cwd, label: input.label, beforeSeq, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      jobs: page.map(toSummary),
      next_cursor: rows.length > limit && last ? Buffer.from(String(last.seq)).toString('base64url') : null,
    };
  }

  /**
   * Calls `onChange` whenever the job changes (queued, started, finished — in any server process)
   * until the returned function is called. The job must exist.
   */
  watch(id: string, onChange: () => void): () => void {
    return this.p.waiters.watch(this.get(id).id, onChange);
  }

  /** Calls `onChange` with the job id whenever any job changes, in any server process. */
  watchAll(onChange: (id: string) => void): () => void {
    return this.p.waiters.watchAll(onChange);
  }

  /**
   * Follows a job's raw event log from byte `offset`: every complete line goes to `onLine` as it is
   * written, until the job is final and its log read to the end (or `signal` aborts). Event-log
   * writes do not wake anyone, so a running job's log is re-checked every `everyMs`.
   */
  async follow(idOrPrefix: string, offset: number, onLine: (line: string) => void, opts: { signal?: AbortSignal; everyMs?: number } = {}): Promise<Snapshot> {
    const id = this.resolve(idOrPrefix);
    const file = jobFiles(this.p.layout, this.get(id).id).events;
    for (;;) {
      const job = this.p.runner.refresh(this.get(id));
      const final = isFinal(job.status);
      for (let before = -1; offset !== before && !opts.signal?.aborted; ) {
        before = offset;
        const chunk = readNewLines(file, offset, final);
        offset = chunk.offset;
        for (const line of chunk.lines) onLine(line);
      }
      if (final || opts.signal?.aborted || this.p.closed) return this.snapshotOf(job, 0);
      await this.p.waiters.next([job.id], opts.everyMs ?? 250, opts.signal);
    }
  }

  /** The complete lines of a job's event log from byte `offset` (a fleet runner's `follow`, one step at a time). */
  readLog(id: string, offset: number): { lines: string[]; offset: number; final: boolean } {
    const job = this.p.runner.refresh(this.get(id));
    const final = isFinal(job.status);
    const file = jobFiles(this.p.layout, job.id).events;
    const chunk = readNewLines(file, offset, final);
    // Final only once read to the end: one call reads at most a chunk.
    return { lines: chunk.lines, offset: chunk.offset, final: final && chunk.offset >= fileSize(file) };
  }

  /** Where a job's event log ends now: `follow` from here shows only what comes next. */
  eventLogSize(id: string): number {
    return fileSize(jobFiles(this.p.layout, this.get(id).id).events);
  }

  /**
   * Returns as soon as one of the jobs is final, or at the timeout. `signal` aborts the wait, never
   * the jobs. `onTick` is called every `tickMs` with the first pending job, for progress reports.
   */
  async wait(ids: string[], timeoutMs: number, opts: WaitOptions = {}): Promise<WaitOutcome> {
    if (ids.length === 0) throw invalid('give at least one job id to wait for, or a group_id');
    const unique = [...new Set(ids.map((id) => this.resolve(id)))];
    for (const id of unique) this.get(id);
    const begun = Date.now();
    const deadline = begun + timeoutMs;
    let ticker: NodeJS.Timeout | null = null;
    const onTick = opts.onTick;
    if (onTick && opts.tickMs) {
      const tick = () => {
        try {
          const pending = unique.map((id) => this.p.store.get(id)).find((job) => job && !isFinal(job.status));
          if (pending) onTick(this.snapshotOf(pending, 0), Date.now() - begun);
        } catch (err) {
          this.p.log('warn', `progress report failed: ${(err as Error).message}`);
        }
      };
      tick();
      ticker = setInterval(tick, opts.tickMs);
    }
    try {
      for (;;) {
        const jobs = unique.map((id) => this.get(id));
        const finished = jobs.filter((job) => isFinal(job.status));
        const timedOut = Date.now() >= deadline;
        if (finished.length > 0 || timedOut || opts.signal?.aborted || this.p.closed) {
          return {
            finished: finished.map((job) => this.snapshotOf(job)),
            pending: jobs.filter((job) => !isFinal(job.status)).map((job) => job.id),
            timed_out: finished.length === 0 && timedOut,
          };
        }
        // Wake-ups come through the notify directory; re-reading once per sweep interval covers a
        // watcher that failed (inotify limits) at the cost of one query a second.
        await this.p.waiters.next(unique, Math.min(deadline - Date.now(), this.p.config.sweepIntervalMs), opts.signal);
      }
    } finally {
      if (ticker) clearInterval(ticker);
    }
  }
}
