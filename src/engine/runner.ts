import type { AgentLocators } from '../agents/binary.js';
import type { Config } from '../config.js';
import type { Bus } from '../jobs/bus.js';
import { fileMtime, jobFiles, readExitStatus, stepRunning, type HomeLayout } from '../jobs/files.js';
import type { Reserve } from '../jobs/reserve.js';
import { isFinal } from '../jobs/states.js';
import type { Job, JobStore } from '../jobs/store.js';
import type { Logger } from '../log.js';
import { identityAlive } from '../supervise/proc.js';
import { endLeftovers, interruptAgent, interruptJob, jobGone, killJob, livingProcesses, stopJob, type JobProcess } from '../supervise/terminate.js';
import { agentOf } from '../agents/registry.js';
import { Launcher } from './launcher.js';
import { Recorder } from './recorder.js';
import { collectGarbage } from './retention.js';
import type { Waiters } from './waiters.js';
import type { Workspaces } from './workspaces.js';

/**
 * How long a claim is a valid lease before its owner begins the launch. A claim whose owner is
 * gone is released at once; one whose owner is alive but has not begun launching within this time
 * (a paused laptop, a process stopped with SIGSTOP) is released, and its owner, on waking, finds
 * its launch token stale and does nothing.
 */
const CLAIM_LEASE_MS = 30_000;
const CHECKPOINT_EVERY_MS = 5_000;
/** Automatic retention (CODEX_ASYNC_RETENTION_DAYS) runs at start and then hourly. */
const COLLECT_EVERY_MS = 3_600_000;

/**
 * Runs jobs: the housekeeping every server process does. It notices when a job's agent exits
 * (inotify on the notify directory, with a periodic sweep as the safety net), enforces deadlines,
 * stalls and lingering agents, releases claims whose owner is gone, and runs retention; starting
 * jobs is the Launcher's, recording outcomes the Recorder's. Server processes coordinate only
 * through the database.
 */
export class Runner {
  private sweepTimer: NodeJS.Timeout | null = null;
  private collectTimer: NodeJS.Timeout | null = null;
  /** Whether job changes reach us through the notify directory; if not, the sweep runs on a clock. */
  private watching = false;
  private sweeping = false;
  private closed = false;
  private lastCheckpoint = 0;
  /** Work begun for a job that must finish before this process may exit (a worktree being made, changes measured). */
  private readonly background = new Set<Promise<void>>();
  private readonly recorder: Recorder;
  private readonly launcher: Launcher;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly store: JobStore,
    private readonly bus: Bus,
    private readonly layout: HomeLayout,
    private readonly locators: AgentLocators,
    private readonly waiters: Waiters,
    reserve: Reserve,
    private readonly workspaces: Workspaces,
  ) {
    const track = (work: Promise<void>) => this.track(work);
    this.recorder = new Recorder(config, log, store, bus, layout, waiters, reserve, workspaces, track, () => void this.launcher.dispatch());
    this.launcher = new Launcher(config, store, bus, layout, locators, workspaces, this.recorder, track, log);
  }

  dispatch = (): Promise<void> => this.launcher.dispatch();
  conclude = (id: string): boolean => this.recorder.conclude(id);
  refresh = (job: Job): Job => this.recorder.refresh(job);
  launchInFlight = (job: Job): boolean => this.recorder.launchInFlight(job);
  processOf = (job: Job): JobProcess => this.recorder.processOf(job);

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
    await this.launcher.close();
    while (this.background.size) await Promise.all(this.background);
  }

  private track(work: Promise<void>): void {
    const tracked = work
      .catch((err: unknown) => this.log('error', `background work failed: ${(err as Error).message}`))
      .finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }

  /**
   * Called back by a job's wrapper (`__supervise exited`) as soon as codex exits, whether or not
   * any server runs: records the outcome, ends what the job left running, starts queued jobs.
   */
  async afterExit(id: string, launch: number): Promise<void> {
    const job = this.store.get(id);
    // Recording the outcome ends what the job left running (record); if a server recorded it first,
    // the callback still sees to it, since that server may exit before the grace period is over.
    if (job && job.launch_token === launch && !this.recorder.conclude(id)) {
      await endLeftovers(this.recorder.processOf(job), this.config.killGraceSeconds * 1000);
    }
    await this.launcher.dispatch();
  }

  /** Called back by a job's wrapper (`__supervise deadline`) when its deadline passes. */
  async atDeadline(id: string, launch: number): Promise<void> {
    const job = this.store.get(id);
    if (job?.status !== 'running' || job.launch_token !== launch) return;
    if (!this.store.requestStop(id, 'timeout', Date.now(), launch)) return;
    this.bus.publish(id);
    await stopJob(this.recorder.processOf(job), this.config.killGraceSeconds * 1000);
  }

  private onChange(id: string): void {
    this.scheduleSweep();
    try {
      const job = this.store.get(id);
      if (job?.status === 'running' && readExitStatus(jobFiles(this.layout, id)) !== null) this.recorder.conclude(id);
      if (job && isFinal(job.status)) void this.launcher.dispatch();
    } catch (err) {
      this.log('error', `handling a change to job ${id} failed: ${(err as Error).message}`);
    }
    this.waiters.wake(id);
  }

  /** What a running job is doing when its agent is not at work: its worktree being made, its setup, or its check. */
  phase(job: Job): string | null {
    if (job.status !== 'running') return null;
    if (job.workspace.state === 'preparing') return 'preparing its worktree';
    const files = jobFiles(this.layout, job.id);
    const short = (command: string) => (command.length > 80 ? `${command.slice(0, 79)}…` : command);
    if (job.setup_command !== null && stepRunning(files, 'setup')) return `setting up: ${short(job.setup_command)}`;
    if (job.check_command === null) return null;
    if (fileMtime(files.checkStarted) === null || readExitStatus(files) !== null) return null;
    return `running its check: ${short(job.check_command)}`;
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
      this.recorder.restoreReserve();
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
      await this.launcher.dispatch();
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
      this.recorder.conclude(stale.id);
      return;
    }
    const job = this.recorder.refresh(stale);
    const now = Date.now();
    const proc = this.recorder.processOf(job);
    if (proc.pgid === null) {
      // Claimed, but no codex recorded. The claim is a lease: while its owner lives it is kept if
      // the launch has begun (the owner alone may finish it), or if it is younger than the lease.
      // Otherwise, and only if no process of this launch exists anywhere: a stopped job is
      // finished, any other goes back to the queue under a new token.
      const ownerAlive = identityAlive(job.claim_owner);
      if (ownerAlive && (job.launched_at !== null || now - (job.started_at ?? now) <= CLAIM_LEASE_MS)) return;
      if (livingProcesses(proc).length > 0) return;
      if (job.stop_reason !== null) this.recorder.conclude(job.id);
      else if (this.store.release(job.id, job.launch_token, job.launched_at)) this.bus.publish(job.id);
      return;
    }
    // Tracked: a server that closes lets it finish before closing the database it reads.
    this.track(this.recorder.capLogs(job.id));
    if (jobGone(proc)) {
      // Wrapper and codex are gone. If the exit status is still missing, nobody recorded it.
      this.recorder.conclude(job.id);
      return;
    }
    // While the check runs, the agent is gone: its log is silent, the check's is not. stall_seconds
    // is about the agent: a setup (npm ci prints nothing to a pipe until it ends) is not held to it.
    const checking = fileMtime(files.checkStarted) !== null;
    const settingUp = job.setup_command !== null && stepRunning(files, 'setup');
    const lastSign = settingUp
      ? now
      : Math.max(fileMtime(files.events) ?? 0, checking ? (fileMtime(files.checkLog) ?? 0) : 0, fileMtime(files.setupExit) ?? 0, job.started_at ?? now);
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
