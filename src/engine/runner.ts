import fs from 'node:fs';
import type { AgentLocators } from '../agents/binary.js';
import { emptyProgress, type Progress } from '../agents/progress.js';
import { agentOf, isAgentName } from '../agents/registry.js';
import type { Config } from '../config.js';
import type { Bus } from '../jobs/bus.js';
import { foldNewEvents } from '../jobs/eventlog.js';
import { capLog } from '../jobs/logcap.js';
import { fileMtime, fileSize, jobFiles, readCheck, readExitStatus, readSmall, readTail, type HomeLayout } from '../jobs/files.js';
import { isFinal } from '../jobs/states.js';
import type { Job, JobStore } from '../jobs/store.js';
import type { Logger } from '../log.js';
import { jobEnvironment } from '../supervise/env.js';
import { launchJob, type Launched } from '../supervise/launch.js';
import { identityAlive, selfIdentity } from '../supervise/proc.js';
import { interruptAgent, interruptJob, jobGone, jobProcess, killJob, livingProcesses, stopJob, type JobProcess } from '../supervise/terminate.js';
import { checkStopped, decide, type Verdict } from './outcome.js';
import { collectGarbage } from './retention.js';
import type { Waiters } from './waiters.js';
import type { Workspaces } from './workspaces.js';
import { isDiskFull, type Reserve } from '../jobs/reserve.js';

/**
 * How long a claim is a valid lease before its owner begins the launch. A claim whose owner is
 * gone is released at once; one whose owner is alive but has not begun launching within this time
 * (a paused laptop, a process stopped with SIGSTOP) is released, and its owner, on waking, finds
 * its launch token stale and does nothing.
 */
const CLAIM_LEASE_MS = 30_000;
const CHECKPOINT_EVERY_MS = 5_000;

/** Per job, how much of the start of each log is already a hole (see capLogs). */
interface Punched {
  events: number;
  stderr: number;
  check: number;
}
/** Automatic retention (CODEX_ASYNC_RETENTION_DAYS) runs at start and then hourly. */
const COLLECT_EVERY_MS = 3_600_000;

/**
 * Runs jobs: starts queued ones while slots are free, notices when codex exits (inotify on the
 * notify directory, with a periodic sweep as the safety net), decides and records outcomes,
 * enforces deadlines. Every server process runs one; they coordinate only through the database.
 */
export class Runner {
  private sweepTimer: NodeJS.Timeout | null = null;
  private collectTimer: NodeJS.Timeout | null = null;
  /** Whether job changes reach us through the notify directory; if not, the sweep runs on a clock. */
  private watching = false;
  private readonly identity = selfIdentity();
  private sweeping = false;
  private dispatchChain: Promise<void> = Promise.resolve();
  private closed = false;
  /** Per job, how much of the start of events.jsonl / stderr.log is already a hole. */
  private readonly punched = new Map<string, Punched>();
  private capWarned = false;
  private reserveReleased = false;
  private lastCheckpoint = 0;
  /** Work begun for a job that must finish before this process may exit (a worktree being made, changes measured). */
  private readonly background = new Set<Promise<void>>();

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly store: JobStore,
    private readonly bus: Bus,
    private readonly layout: HomeLayout,
    private readonly locators: AgentLocators,
    private readonly waiters: Waiters,
    private readonly reserve: Reserve,
    private readonly workspaces: Workspaces,
  ) {}

  /** `warm`: find codex now, so the first codex_start does not pay for `codex --version`. */
  start(warm: boolean): void {
    this.watching = true;
    this.bus.listen(
      (id) => this.onChange(id),
      (err) => {
        this.watching = false;
        this.log('warn', `watching ${this.layout.notifyDir} failed (${err.message}); falling back to the periodic sweep`);
        this.scheduleSweep();
      },
    );
    if (warm) {
      this.locators.of('codex').locate().then(
        (codex) => this.log('info', `using codex ${codex.version} at ${codex.path}`),
        (err: Error) => this.log('warn', err.message),
      );
    }
    if (this.config.retentionMs !== null) {
      this.collectTimer = setInterval(() => this.collect(), COLLECT_EVERY_MS);
      this.collectTimer.unref();
      setImmediate(() => this.collect());
    }
    // Adopt what happened while no server was watching: finished jobs, lost ones, queued work.
    this.scheduleSweep(0);
  }

  /**
   * The sweep runs only while there is something to watch (running or queued jobs) or changes
   * cannot be watched: an idle server does not wake up at all. Any job change re-arms it.
   */
  private scheduleSweep(delayMs = this.config.sweepIntervalMs): void {
    if (this.closed || this.sweepTimer) return;
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = null;
      void this.sweep();
    }, delayMs);
    this.sweepTimer.unref();
  }

  /** Stops watching. Jobs run on; a launch under way is finished first so no claim is left half done. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    if (this.collectTimer) clearInterval(this.collectTimer);
    this.bus.close();
    await this.dispatchChain.catch(() => undefined);
    while (this.background.size) await Promise.all(this.background);
  }

  private track(work: Promise<void>): void {
    const tracked = work
      .catch((err: unknown) => this.log('error', `background work failed: ${(err as Error).message}`))
      .finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }

  /** Starts queued jobs while slots are free. Rounds run one after another within a process. */
  dispatch(): Promise<void> {
    this.dispatchChain = this.dispatchChain.then(async () => {
      if (this.closed || !this.store.anyQueued()) return;
      // Find the agents before claiming: a claim is a promise to launch at once. A job whose agent
      // this server lacks stays queued for a server that has it (codex_start already refused new ones).
      const found = new Map<string, string>();
      for (const name of this.store.queuedAgents()) {
        const binary = isAgentName(name) ? await this.locators.of(name).locate().catch(() => null) : null;
        if (binary) found.set(name, binary.path);
      }
      if (found.size === 0 || this.closed) return;
      const claimed = this.store.claimQueued(this.config.maxConcurrent, Date.now(), this.identity, [...found.keys()]);
      this.pauseFor('after-claim', claimed.length);
      for (const job of claimed) await this.launch(job, found.get(job.agent)!);
    });
    return this.dispatchChain.catch((err: unknown) => {
      this.log('error', `dispatch failed: ${(err as Error).message}`);
      this.dispatchChain = Promise.resolve();
    });
  }

  /**
   * Fault injection for the tests (CODEX_ASYNC_TEST_PAUSE): the process stops itself with SIGSTOP,
   * as a laptop's sleep would, at a point where it holds a claim.
   */
  private pauseFor(point: Config['testPause'], claims: number): void {
    if (claims > 0 && this.config.testPause === point) process.kill(process.pid, 'SIGSTOP');
  }

  /**
   * Launches a claimed job. Nothing with a side effect happens (emptying the job's files, spawning
   * codex, signalling) unless `beginLaunch` finds the claim still this launch's: a process that was
   * paused past its lease wakes to a stale token and leaves the job to whoever holds it now.
   */
  private async launch(job: Job, agentPath: string): Promise<void> {
    const begun = Date.now();
    if (!this.store.beginLaunch(job.id, job.launch_token, begun)) {
      // Cancelled before the launch began: finish it here; released and taken over: not ours.
      const now = this.store.get(job.id);
      if (now?.status === 'running' && now.launch_token === job.launch_token && now.stop_reason !== null) this.finalize(job.id);
      return;
    }
    job = { ...job, launched_at: begun };
    this.pauseFor('before-spawn', 1);
    // Making a worktree takes a while: the launch goes on in the background, so that codex_start
    // answers at once (the job shows as running, "preparing its worktree").
    if (this.workspaces.needsPreparing(job)) this.track(this.prepareThenSpawn(job, agentPath));
    else await this.spawn(job, agentPath);
  }

  private async prepareThenSpawn(job: Job, agentPath: string): Promise<void> {
    try {
      const workspace = await this.workspaces.prepare(job);
      this.pauseFor('worktree-made', 1);
      if (!this.store.setWorkspace(job.id, workspace, job.launch_token)) return;
      job = { ...job, workspace };
    } catch (err) {
      const message = `cannot prepare the job's worktree: ${(err as Error).message.split('\n').slice(0, 4).join(' ')}`;
      this.settle(job, { status: 'failed', error: { kind: 'workspace', message } }, null);
      return;
    }
    const now = this.store.get(job.id);
    if (now?.stop_reason) {
      // Stopped while its worktree was made: nobody else may finish a launch in flight, so we do.
      this.settle(now, decide(now, null, emptyProgress(), ''), null);
      return;
    }
    await this.spawn(job, agentPath);
  }

  private async spawn(job: Job, agentPath: string): Promise<void> {
    const files = jobFiles(this.layout, job.id);
    const isolated = job.workspace.kind === 'worktree';
    const agent = agentOf(job.agent);
    let launched: Launched;
    try {
      const spec = {
        jobId: job.id,
        cwd: this.workspaces.runDir(job),
        access: { sandbox: job.sandbox, bypass: job.bypass },
        lastMessageFile: files.lastMessage,
        jobDir: files.dir,
        model: job.model,
        reasoningEffort: job.reasoning_effort,
        outputSchemaFile: job.has_output_schema ? files.outputSchema : null,
        images: job.images,
        addDirs: this.workspaces.runDirs(job),
        resume: job.resume_thread_id,
        privateTmp: isolated,
      };
      launched = await launchJob({
        jobId: job.id,
        launch: job.launch_token,
        files,
        notifyFile: this.bus.fileFor(job.id),
        cwd: spec.cwd,
        agentPath,
        args: agent.argv(spec),
        zeroIsDone: !agent.exitZeroNeedsTurn,
        doneMark: agent.turnCompletedMark,
        deadlineSeconds: ((job.deadline_at ?? Date.now()) - Date.now()) / 1000,
        env: { ...jobEnvironment(process.env), ...agent.env(spec), ...this.workspaces.runEnv(job) },
        settings: this.config.callbackSettings,
        nice: this.config.jobNice,
        check: job.check_command === null ? null : await this.checkRun(job, isolated),
      });
    } catch (err) {
      this.settle(job, { status: 'failed', error: { kind: 'spawn_error', message: (err as Error).message } }, null);
      return;
    }
    const proc: JobProcess = { jobId: job.id, launch: job.launch_token, pgid: launched.pid, startTime: launched.startTime };
    let recorded = false;
    try {
      recorded = this.store.setProcess(job.id, launched.pid, launched.startTime, job.launch_token);
    } catch (err) {
      this.log('error', `job ${job.id}: cannot record its process (${(err as Error).message}); stopping it`);
    }
    if (!recorded) {
      // Nobody else knows this process; the marker is this launch's, so no other launch is touched.
      await stopJob(proc, this.config.killGraceSeconds * 1000);
      this.finalize(job.id);
    } else if (this.store.get(job.id)?.stop_reason) {
      // Cancelled while it was being spawned: the canceller could not signal it yet.
      interruptJob(proc);
    }
    this.bus.announce(job.id);
  }

  /** How the job's check runs: sandboxed by codex (codex_start made sure it is installed) in the job's mode. */
  private async checkRun(job: Job, privateTmp: boolean): Promise<NonNullable<Parameters<typeof launchJob>[0]['check']>> {
    const mode = job.bypass || job.sandbox === 'danger-full-access' ? 'none' : job.sandbox;
    const sandboxPath = mode === 'none' ? '' : (await this.locators.of('codex').locate()).path;
    return { mode, privateTmp, sandboxPath };
  }

  /**
   * Called back by a job's wrapper (`__supervise exited`) as soon as codex exits, whether or not
   * any server runs: records the outcome, ends what the job left running, starts queued jobs.
   */
  async afterExit(id: string, launch: number): Promise<void> {
    const job = this.store.get(id);
    // Recording the outcome ends what the job left running (settle); if a server recorded it first,
    // the callback still sees to it, since that server may exit before the grace period is over.
    if (job && job.launch_token === launch && !this.finalize(id)) {
      await stopJob(this.processOf(job), this.config.killGraceSeconds * 1000, 'SIGTERM');
    }
    await this.dispatch();
  }

  /** Called back by a job's wrapper (`__supervise deadline`) when its deadline passes. */
  async atDeadline(id: string, launch: number): Promise<void> {
    const job = this.store.get(id);
    if (job?.status !== 'running' || job.launch_token !== launch) return;
    if (!this.store.requestStop(id, 'timeout', Date.now(), launch)) return;
    this.bus.announce(id);
    await stopJob(this.processOf(job), this.config.killGraceSeconds * 1000);
  }

  private onChange(id: string): void {
    this.scheduleSweep();
    try {
      const job = this.store.get(id);
      if (job?.status === 'running' && readExitStatus(jobFiles(this.layout, id)) !== null) this.finalize(id);
      if (job && isFinal(job.status)) void this.dispatch();
    } catch (err) {
      this.log('error', `handling a change to job ${id} failed: ${(err as Error).message}`);
    }
    this.waiters.wake(id);
  }

  /** What a running job is doing when codex is not at work: its worktree being made, or its check. */
  phase(job: Job): string | null {
    if (job.status !== 'running') return null;
    if (job.workspace.state === 'preparing') return 'preparing its worktree';
    if (job.check_command === null) return null;
    const files = jobFiles(this.layout, job.id);
    if (fileMtime(files.checkStarted) === null || readExitStatus(files) !== null) return null;
    return `running its check: ${job.check_command.length > 80 ? `${job.check_command.slice(0, 79)}…` : job.check_command}`;
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

  /** Keeps a running job's logs within CODEX_ASYNC_MAX_LOG_MB each, dropping their oldest part. */
  private async capLogs(job: Job, done = this.punched.get(job.id) ?? { events: 0, stderr: 0, check: 0 }): Promise<void> {
    const files = jobFiles(this.layout, job.id);
    const over = (file: string, punched: number) => fileSize(file) - punched > this.config.maxLogBytes;
    if (!over(files.events, done.events) && !over(files.stderr, done.stderr) && !over(files.checkLog, done.check)) return;
    try {
      done.events = await capLog(files.events, this.config.maxLogBytes, job.events_offset, done.events);
      // stderr and the check's output are only ever read from their tail.
      done.stderr = await capLog(files.stderr, this.config.maxLogBytes, Number.MAX_SAFE_INTEGER, done.stderr);
      done.check = await capLog(files.checkLog, this.config.maxLogBytes, Number.MAX_SAFE_INTEGER, done.check);
      // Remembered only while the job runs, so finished jobs leave no entry behind.
      if (this.store.get(job.id)?.status === 'running') this.punched.set(job.id, done);
    } catch (err) {
      if (!this.capWarned) this.log('warn', `cannot cap job logs (${(err as Error).message.split('\n')[0]}); they may grow without bound`);
      this.capWarned = true;
    }
  }

  /**
   * Records the final status of a job whose codex is gone. Reads the row afresh: the verdict depends
   * on the stop reason, which another process may have just set; `finish` only accepts the verdict
   * if the stop reason is still the one it was made with. Only one process wins.
   */
  finalize(id: string): boolean {
    for (let attempt = 0; attempt < 3; attempt++) {
      const job = this.store.get(id);
      if (!job || job.status !== 'running') return false;
      // Its owner is spawning it right now (or was paused doing so): only the owner may decide.
      if (this.launchInFlight(job)) return false;
      const files = jobFiles(this.layout, id);
      const exitCode = readExitStatus(files);
      const progress = job.progress ?? emptyProgress();
      const offset = foldNewEvents(agentOf(job.agent).stream, files.events, job.events_offset, progress, true, this.config.maxLogBytes / 2);
      const verdict = decide(job, exitCode, progress, readTail(files.stderr, 2048).text, checkStopped(files, job));
      if (verdict.error?.kind === 'lost' && this.diskWasFull()) {
        verdict.error.message += '; the disk holding the state directory was full, so the agent could not write its output or exit status';
      }
      try {
        if (this.settle({ ...job, progress, events_offset: offset }, verdict, exitCode)) return true;
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

  private settle(job: Job, verdict: Verdict, exitCode: number | null): boolean {
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
        check: readCheck(files, job.check_command),
      },
      job,
    );
    if (!done) return false;
    this.track(job.workspace.state === 'preparing' ? this.workspaces.abandon(job) : this.workspaces.summarize(job));
    // Everything is read now: the finished logs keep their tail within the cap too.
    const punched = this.punched.get(job.id) ?? { events: 0, stderr: 0, check: 0 };
    this.punched.delete(job.id);
    void this.capLogs({ ...job, events_offset: Number.MAX_SAFE_INTEGER }, punched);
    // A stopped or lost job's tree goes with it, including anything that ignored SIGINT; a job
    // that ended on its own takes what it left running (SIGTERM, then SIGKILL after the grace).
    if (job.stop_reason !== null || verdict.error?.kind === 'lost') killJob(this.processOf(job));
    else void stopJob(this.processOf(job), this.config.killGraceSeconds * 1000, 'SIGTERM');
    this.bus.announce(job.id);
    this.waiters.wake(job.id);
    void this.dispatch();
    return true;
  }

  processOf(job: Job): JobProcess {
    return jobProcess(job, jobFiles(this.layout, job.id).pid);
  }

  /**
   * The background duties of every server, once per sweep interval: finish jobs whose codex exited
   * unseen, mark jobs whose processes vanished as lost, enforce deadlines, end codex processes that
   * linger after their turn completed, escalate stops to SIGKILL, and start queued jobs.
   */
  async sweep(): Promise<void> {
    if (this.closed) return;
    if (this.sweeping) {
      // A change arrived mid-sweep: look again after this one.
      this.scheduleSweep();
      return;
    }
    this.sweeping = true;
    try {
      if (this.reserveReleased) {
        this.reserve.ensure();
        this.reserveReleased = !fs.existsSync(this.reserve.file);
      }
      if (Date.now() - this.lastCheckpoint >= CHECKPOINT_EVERY_MS) {
        this.store.checkpoint();
        this.lastCheckpoint = Date.now();
      }
      const running = this.store.running();
      for (const job of running) {
        try {
          this.check(job);
        } catch (err) {
          // One job's trouble (an unreadable file, a locked database) must not starve the others.
          this.log('error', `checking job ${job.id} failed: ${(err as Error).message}`);
        }
      }
      await this.dispatch();
      if (running.length > 0 || this.store.anyQueued() || !this.watching) this.scheduleSweep();
      else this.store.checkpoint(); // going idle: the log goes into the database before we sleep
    } catch (err) {
      this.log('error', `sweep failed: ${(err as Error).message}`);
      this.scheduleSweep();
    } finally {
      this.sweeping = false;
    }
  }

  /** Automatic retention (CODEX_ASYNC_RETENTION_DAYS): at start, then hourly. */
  private collect(): void {
    const retentionMs = this.config.retentionMs;
    if (this.closed || retentionMs === null) return;
    this.track(
      collectGarbage(this.store, this.layout, this.workspaces, { olderThanMs: retentionMs, keep: 0, dryRun: false }).then(
        ({ jobs, bytes }) => {
          if (jobs.length) this.log('info', `deleted ${jobs.length} jobs finished over ${Math.round(retentionMs / 86_400_000)} days ago (${Math.round(bytes / 1024)} KiB)`);
        },
        (err: unknown) => this.log('error', `deleting old jobs failed: ${(err as Error).message}`),
      ),
    );
  }

  private check(stale: Job): void {
    const files = jobFiles(this.layout, stale.id);
    if (readExitStatus(files) !== null) {
      this.finalize(stale.id);
      return;
    }
    const job = this.refresh(stale);
    const now = Date.now();
    const proc = this.processOf(job);
    if (proc.pgid === null) {
      // Claimed, but no codex recorded. The claim is a lease: while its owner lives it is kept if
      // the launch has begun (the owner alone may finish it), or if it is younger than the lease.
      // Otherwise, and only if no process of this launch exists anywhere: a stopped job is
      // finished, any other goes back to the queue under a new token.
      const ownerAlive = identityAlive(job.claim_owner);
      if (ownerAlive && (job.launched_at !== null || now - (job.started_at ?? now) <= CLAIM_LEASE_MS)) return;
      if (livingProcesses(proc).length > 0) return;
      if (job.stop_reason !== null) this.finalize(job.id);
      else if (this.store.release(job.id, job.launch_token, job.launched_at)) this.bus.announce(job.id);
      return;
    }
    void this.capLogs(job);
    if (jobGone(proc)) {
      // Wrapper and codex are gone. If the exit status is still missing, nobody recorded it.
      this.finalize(job.id);
      return;
    }
    // While the check runs, codex is gone: its log is silent, the check's is not.
    const checking = fileMtime(files.checkStarted) !== null;
    const lastSign = Math.max(fileMtime(files.events) ?? 0, checking ? (fileMtime(files.checkLog) ?? 0) : 0, job.started_at ?? now);
    const silentFor = now - lastSign;
    if (job.stop_reason === null && job.deadline_at !== null && now >= job.deadline_at) {
      if (this.store.requestStop(job.id, 'timeout', now)) interruptJob(proc);
    } else if (job.stop_reason === null && job.stall_seconds !== null && silentFor >= job.stall_seconds * 1000) {
      if (this.store.requestStop(job.id, 'stalled', now)) interruptJob(proc);
    } else if (
      job.stop_reason === null &&
      !checking &&
      job.progress?.turn === 'completed' &&
      silentFor >= this.config.completionGraceSeconds * 1000
    ) {
      this.log('warn', `job ${job.id}: ${agentOf(job.agent).command} did not exit after its turn completed (as in openai/codex#7622); ending it`);
      if (this.store.requestStop(job.id, 'lingering', now)) interruptAgent(proc);
    } else if (
      job.stop_reason !== null &&
      // A lingering codex is over once the check it was holding up runs; the check is not lingering.
      !(job.stop_reason === 'lingering' && checking) &&
      now - (job.stop_requested_at ?? now) >= this.config.killGraceSeconds * 1000
    ) {
      killJob(proc);
    }
  }
}

