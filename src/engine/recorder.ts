import fs from 'node:fs';
import { emptyProgress, type Progress } from '../agents/progress.js';
import { agentOf } from '../agents/registry.js';
import type { Config } from '../config.js';
import type { Bus } from '../jobs/bus.js';
import { foldNewEvents, foldsFrom } from '../jobs/eventlog.js';
import { capLog } from '../jobs/logcap.js';
import { fileMtime, fileSize, jobFiles, readStep, readExitStatus, readSmall, readTail, touch, type HomeLayout } from '../jobs/files.js';
import { isDiskFull, type Reserve } from '../jobs/reserve.js';
import type { Job, JobStore } from '../jobs/store.js';
import type { Logger } from '../log.js';
import { identityAlive } from '../supervise/proc.js';
import { endLeftovers, jobProcess, killJob, type JobProcess } from '../supervise/terminate.js';
import { decide, setupFailure, stoppedIn, type Verdict } from './outcome.js';
import type { Waiters } from './waiters.js';
import type { Workspaces } from './workspaces.js';

/** Per job, how much of the start of each log is already a hole (see capLogs). */
interface Punched {
  events: number;
  stderr: number;
  check: number;
  setup: number;
}

/**
 * Reads what a job's agent wrote and records outcomes: folds new events into progress, decides how
 * a job ended once its agent is gone, records the verdict (one process wins), ends what the job
 * left running, and keeps logs within their cap.
 */
export class Recorder {
  /** Per job, how much of the start of events.jsonl / stderr.log is already a hole. */
  private readonly punched = new Map<string, Punched>();
  private readonly capping = new Map<string, Promise<void>>();
  private capWarned = false;
  private reserveReleased = false;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly store: JobStore,
    private readonly bus: Bus,
    private readonly layout: HomeLayout,
    private readonly waiters: Waiters,
    private readonly reserve: Reserve,
    private readonly workspaces: Workspaces,
    private readonly track: (work: Promise<void>) => void,
    /** A job finished: its slot is free for the next queued one. */
    private readonly onFinished: () => void,
  ) {}

  /** Puts the reserve back once the disk has room again, after it was released to record an outcome. */
  restoreReserve(): void {
    if (!this.reserveReleased) return;
    this.reserve.ensure();
    this.reserveReleased = !fs.existsSync(this.reserve.file);
  }

  /** Folds events written since the last look into the job's progress. */
  refresh(job: Job): Job {
    if (job.status !== 'running') return job;
    const progress = job.progress ?? emptyProgress();
    const offset = foldNewEvents(agentOf(job.agent).stream, jobFiles(this.layout, job.id).events, job.events_offset, progress, false, this.config.maxLogBytes / 2);
    if (offset === job.events_offset) return job;
    try {
      this.store.saveProgress(job.id, progress, offset);
    } catch (err) {
      // Progress is rebuilt from the log later; a full disk must not break a poll.
      if (!isDiskFull(err)) throw err;
    }
    return { ...job, progress, events_offset: offset, thread_id: job.thread_id ?? progress.thread_id };
  }

  /**
   * Keeps a job's logs within CODEX_ASYNC_MAX_LOG_MB each, dropping their oldest part: while it runs,
   * and once more at its end (`last`), when everything in them is read. One cap of a job at a time,
   * the next after it: a sweep's cap still running when the job ends would otherwise hold the log's
   * lock (jobs/logcap.ts) against the last cap, and the log stay over.
   */
  capLogs(id: string, last = false): Promise<void> {
    const run = (this.capping.get(id) ?? Promise.resolve()).then(() => this.capLogsNow(id, last));
    this.capping.set(id, run);
    return run.finally(() => {
      if (this.capping.get(id) === run) this.capping.delete(id);
    });
  }

  private async capLogsNow(id: string, last: boolean): Promise<void> {
    try {
      // The job as it is now, not as it was when this cap was asked for: a cap waiting behind a long
      // one would keep, read and write back all that the reader has read since, after the job's end.
      const job = this.store.get(id);
      const running = job?.status === 'running';
      if (!job || (!running && !last)) {
        this.punched.delete(id);
        return;
      }
      const done = this.punched.get(id) ?? { events: 0, stderr: 0, check: 0, setup: 0 };
      const files = jobFiles(this.layout, id);
      const over = (file: string, punched: number) => fileSize(file) - punched > this.config.maxLogBytes;
      if (over(files.events, done.events) || over(files.stderr, done.stderr) || over(files.checkLog, done.check) || over(files.setupLog, done.setup)) {
        // Once the job has ended everything is read, and no cap comes after this one: it waits out
        // another process's cap of the same log rather than leave the log over.
        const keepFrom = running ? this.unreadFrom(job, files.events) : Number.MAX_SAFE_INTEGER;
        done.events = await capLog(files.events, this.config.maxLogBytes, keepFrom, done.events, undefined, !running);
        // stderr and the setup's and check's output are only ever read from their tail.
        done.stderr = await capLog(files.stderr, this.config.maxLogBytes, Number.MAX_SAFE_INTEGER, done.stderr, undefined, !running);
        done.check = await capLog(files.checkLog, this.config.maxLogBytes, Number.MAX_SAFE_INTEGER, done.check, undefined, !running);
        done.setup = await capLog(files.setupLog, this.config.maxLogBytes, Number.MAX_SAFE_INTEGER, done.setup, undefined, !running);
      }
      // Remembered only while the job runs, so finished jobs leave no entry behind.
      if (running && this.store.get(id)?.status === 'running') this.punched.set(id, done);
      else this.punched.delete(id);
    } catch (err) {
      if (!this.capWarned) this.log('warn', `cannot cap job logs (${(err as Error).message.split('\n')[0]}); they may grow without bound`);
      this.capWarned = true;
    }
  }

  /**
   * Where the reader of a running job's event log will next read from: what a cap must keep. Not
   * its offset as such: a flood writes hundreds of MB between two looks, and what the next look
   * skips (all but the last half of the cap) need not be kept, read and written back by a cap.
   * While the thread id is unknown the next look also reads the first line at the offset, so the
   * log is kept from there.
   */
  private unreadFrom(job: Job, events: string): number {
    if (!job.progress?.thread_id) return job.events_offset;
    return foldsFrom(job.events_offset, fileSize(events), this.config.maxLogBytes / 2);
  }

  /**
   * Decides and records the outcome of a job whose agent is gone. Reads the row afresh: the verdict
   * depends on the stop reason, which another process may have just set; the store only accepts the
   * verdict if the stop reason is still the one it was made with. Only one process wins.
   */
  conclude(id: string): boolean {
    for (let attempt = 0; attempt < 3; attempt++) {
      const job = this.store.get(id);
      if (!job || job.status !== 'running') return false;
      // Its owner is spawning it right now (or was paused doing so): only the owner may decide.
      if (this.launchInFlight(job)) return false;
      const files = jobFiles(this.layout, id);
      const exitCode = readExitStatus(files);
      const progress = job.progress ?? emptyProgress();
      const agent = agentOf(job.agent);
      const offset = foldNewEvents(agent.stream, files.events, job.events_offset, progress, true, this.config.maxLogBytes / 2);
      progress.usage ??= agent.usageAtEnd?.(files.dir) ?? null;
      const verdict = decide(job, exitCode, progress, readTail(files.stderr, 2048).text, { stoppedIn: stoppedIn(files, job), setupFailed: setupFailure(files, job) });
      if (verdict.error?.kind === 'lost' && this.diskWasFull()) {
        verdict.error.message += '; the disk holding the state directory was full, so the agent could not write its output or exit status';
      }
      try {
        if (this.record({ ...job, progress, events_offset: offset }, verdict, exitCode)) return true;
      } catch (err) {
        // The outcome must be recorded even on a full disk: that is what the reserve is for.
        if (!isDiskFull(err) || !this.reserve.release()) throw err;
        this.reserveReleased = true;
        this.log('warn', `the disk holding ${this.config.home} is full; released the reserve to record job ${id}'s outcome`);
      }
    }
    return false;
  }

  /** Begun but with no process recorded anywhere, by an owner still alive. */
  launchInFlight(job: Job): boolean {
    return job.launched_at !== null && this.processOf(job).pgid === null && identityAlive(job.claim_owner);
  }

  private diskWasFull(): boolean {
    if (this.reserveReleased) return true;
    try {
      // Another process (a server, the job's callback) may have just released the reserve to record
      // something: then the free space is about the reserve's size, still a full disk.
      const st = fs.statfsSync(this.config.home);
      return st.bavail * st.bsize < 1024 * 1024 + 2 * this.config.reserveBytes;
    } catch {
      return false;
    }
  }

  /** Records a verdict as the job's outcome, then ends what the job left running and tells everyone. */
  record(job: Job, verdict: Verdict, exitCode: number | null): boolean {
    const progress: Progress = job.progress ?? emptyProgress();
    const files = jobFiles(this.layout, job.id);
    const written = readSmall(files.lastMessage)?.trim();
    // When codex exited, not when someone next looked: the wrapper wrote `exit` at that moment.
    const finishedAt = (exitCode !== null ? fileMtime(files.exit) : null) ?? Date.now();
    const done = this.store.finish(
      job.id,
      {
        ...verdict,
        exit_code: exitCode,
        final_message: written || progress.last_agent_message,
        thread_id: progress.thread_id,
        progress,
        events_offset: job.events_offset,
        finished_at: finishedAt,
        check: readStep(files, 'check', job.check_command),
        setup: readStep(files, 'setup', job.setup_command),
      },
      job,
    );
    if (!done) return false;
    // A crash before this line loses nothing: a final job's block counts as free anyway.
    this.store.releasePorts(job.id);
    this.bus.publish(job.id);
    this.waiters.wake(job.id);
    // The rest waits a turn, so the answers just woken (codex_wait) go out before a look at the processes,
    // a git process or the next launch's spawn; tracked, so a callback's process stays for it.
    this.track(new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.afterRecord(job, verdict.error?.kind === 'lost')));
    return true;
  }

  /** What a job's end still needs once it is recorded: its changes, its logs, what it left running, the next job. */
  private async afterRecord(job: Job, lost: boolean): Promise<void> {
    const files = jobFiles(this.layout, job.id);
    this.onFinished();
    this.track(job.workspace.state === 'preparing' ? this.workspaces.abandon(job) : this.workspaces.summarize(job));
    // Everything is read now: the finished logs keep their tail within the cap too. Nothing caps
    // a finished job's logs later, so its end is over only once they are.
    const capped = this.capLogs(job.id, true);
    // A stopped or lost job's tree goes with it, including anything that ignored SIGINT; a job
    // that ended on its own takes what it left running (SIGTERM, then SIGKILL after the grace).
    // Then the job's end is over: what its wrapper waits for (supervise/launch.ts).
    const proc = this.processOf(job);
    if (job.stop_reason !== null || lost) killJob(proc);
    else await endLeftovers(proc, this.config.killGraceSeconds * 1000);
    await capped;
    touch(files.recorded);
  }

  processOf(job: Job): JobProcess {
    return jobProcess(job, jobFiles(this.layout, job.id).pid);
  }

}
