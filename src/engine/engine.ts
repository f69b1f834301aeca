import { AGENT_NAMES, type AgentName } from '../agents/agent.js';
import { AgentLocators } from '../agents/binary.js';
import type { Config } from '../config.js';
import { invalid } from '../errors.js';
import { Bus } from '../jobs/bus.js';
import { damagedError, guardDamage, isDamage, openDb } from '../jobs/db.js';
import { homeLayout, prepareHome, underTempDir } from '../jobs/files.js';
import { Reserve } from '../jobs/reserve.js';
import { JobStore } from '../jobs/store.js';
import type { Logger } from '../log.js';
import type { GroupView, JobApi, LandingView, LandInput, LandWaitOptions, ListInput, ReplyInput, StartInput, Started, WaitOptions, WaitOutcome } from './api.js';
import { Groups } from './groups.js';
import { Landings } from './landing.js';
import type { EngineParts } from './parts.js';
import { Reading } from './reading.js';
import { collectGarbage } from './retention.js';
import { Review } from './review.js';
import { Runner } from './runner.js';
import { toSummary, type JobResult, type JobSummary, type Snapshot } from './snapshot.js';
import { Starting } from './starting.js';
import { Stopping } from './stopping.js';
import { Waiters } from './waiters.js';
import { Workspaces, type ApplyResult, type DiffResult, type DiscardResult } from './workspaces.js';

/**
 * The job engine: every operation the MCP tools (and the command line) offer, over the job store,
 * the agents' adapters and process supervision. Any number of engines in any number of processes
 * may share one home directory; they coordinate only through the database and the notify
 * directory. The operations live in one module per family (starting, reading, stopping, review,
 * groups, landings); this class opens the parts they share and hands each call to its family.
 */
export class Engine implements JobApi {
  private readonly p: EngineParts;
  private readonly reading: Reading;
  private readonly starting: Starting;
  private readonly stopping: Stopping;
  private readonly review: Review;
  private readonly groups: Groups;
  private readonly landings: Landings;

  private constructor(config: Config, log: Logger, private readonly db: ReturnType<typeof openDb>) {
    const layout = homeLayout(config.home);
    const store = guardDamage(new JobStore(db), layout.db);
    const bus = new Bus(layout);
    const locators = new AgentLocators(config.bins, config.searchPath, layout.agentVersions);
    const waiters = new Waiters();
    const reserve = new Reserve(config.home, config.reserveBytes);
    reserve.ensure();
    const workspaces = new Workspaces(store, layout, log);
    const runner = new Runner(config, log, store, bus, layout, locators, waiters, reserve, workspaces);
    this.p = { config, log, layout, store, bus, locators, waiters, runner, workspaces, closed: false };
    this.reading = new Reading(this.p);
    this.starting = new Starting(this.p, this.reading);
    this.stopping = new Stopping(this.p, this.reading);
    this.review = new Review(this.p, this.reading);
    this.groups = new Groups(this.p, this.reading, this.stopping);
    this.landings = new Landings(this.p, this.reading, this.groups, this.starting);
  }

  /**
   * `forCommand`: a short-lived command line process — codex is looked up only when a job needs
   * it, and the caller runs `catchUp()` so what it shows is current.
   */
  static open(config: Config, log: Logger, opts: { forCommand?: boolean; callback?: boolean } = {}): Engine {
    const layout = homeLayout(config.home);
    prepareHome(layout);
    const db = openDb(layout.db, layout.jobsDir);
    let engine: Engine;
    try {
      engine = new Engine(config, log, db);
    } catch (err) {
      db.close();
      if (isDamage(err)) throw damagedError(layout.db, `is damaged (${(err as Error).message})`);
      throw err;
    }
    if (opts.callback) return engine;
    // Said once, where it helps: when a server starts (and by `doctor`), not before every command's output.
    if (!opts.forCommand && underTempDir(config.home)) {
      log('warn', `CODEX_ASYNC_HOME ${config.home} is under a temporary directory, which codex's workspace-write sandbox can write to: keep it elsewhere`);
    }
    engine.p.runner.start(!opts.forCommand);
    return engine;
  }

  /** A job's wrapper calling back (see supervise/launch.ts): its codex exited, or its deadline passed. */
  async callback(event: 'exited' | 'deadline', id: string, launch: number): Promise<void> {
    if (event === 'exited') await this.p.runner.afterExit(id, launch);
    else await this.p.runner.atDeadline(id, launch);
  }

  /**
   * One sweep now: records the outcome of jobs whose codex exited or vanished while no server
   * watched, and starts queued jobs if there is room. A server does this on its own every second;
   * a command calls it first so that what it lists is true.
   */
  catchUp(): Promise<void> {
    return this.p.runner.sweep();
  }

  /** How long finished jobs are kept (CODEX_ASYNC_RETENTION_DAYS); null: forever. */
  get retentionMs(): number | null {
    return this.p.config.retentionMs;
  }

  /** Stops watching; jobs run on. */
  async close(): Promise<void> {
    this.p.closed = true;
    this.p.waiters.wakeAll();
    await this.p.runner.close();
    this.db.close();
  }

  /**
   * Deletes finished jobs that finished more than `olderThanMs` ago, keeping the `keep` most
   * recent finished ones; never a queued or running job. With `dryRun`, only reports.
   */
  async gc(opts: { olderThanMs: number; keep: number; dryRun: boolean }): Promise<{ jobs: JobSummary[]; bytes: number; landed_worktrees?: string[] }> {
    if (!(opts.olderThanMs >= 0)) throw invalid('the age must be zero or more');
    if (!Number.isInteger(opts.keep) || opts.keep < 0) throw invalid(`keep must be a whole number from 0 up, got ${opts.keep}`);
    const { jobs, bytes, landed } = await collectGarbage(this.p.store, this.p.layout, this.p.workspaces, { ...opts, landed: true });
    return { jobs: jobs.map(toSummary), bytes, landed_worktrees: landed.map((j) => j.id) };
  }

  // ── for a fleet runner (fleet/runner.ts) ─────────────────────────────────────────────────────

  /** The agents this machine has (a fleet runner announces them). */
  async agentsFound(): Promise<AgentName[]> {
    const found = await Promise.all(AGENT_NAMES.map(async (name) => ((await this.p.locators.of(name).available()) !== null ? name : null)));
    return found.filter((name): name is AgentName => name !== null);
  }

  /** Whether this store has the job (a fleet runner's proof that it began it). */
  knows(id: string): boolean {
    return this.p.store.get(id) !== null;
  }

  /** Jobs not yet final: what a fleet runner counts against its limit and takes back after a restart. */
  unfinished(): string[] {
    return this.p.store.unfinishedIds();
  }

  // ── each operation, in its family's module ───────────────────────────────────────────────────

  start(input: StartInput, given?: { ids: string[]; groupId: string | null }): Promise<Started> {
    return this.starting.start(input, given);
  }
  reply(input: ReplyInput): Promise<Started> {
    return this.starting.reply(input);
  }
  resolve(idOrPrefix: string): string {
    return this.reading.resolve(idOrPrefix);
  }
  poll(id: string, tailLines?: number): Snapshot {
    return this.reading.poll(id, tailLines);
  }
  activity(id: string): string {
    return this.reading.activity(id);
  }
  rawEvents(id: string, maxBytes?: number): string {
    return this.reading.rawEvents(id, maxBytes);
  }
  result(id: string): JobResult {
    return this.reading.result(id);
  }
  list(input: ListInput): { jobs: JobSummary[]; next_cursor: string | null } {
    return this.reading.list(input);
  }
  watch(id: string, onChange: () => void): () => void {
    return this.reading.watch(id, onChange);
  }
  watchAll(onChange: (id: string) => void): () => void {
    return this.reading.watchAll(onChange);
  }
  follow(idOrPrefix: string, offset: number, onLine: (line: string) => void, opts?: { signal?: AbortSignal; everyMs?: number }): Promise<Snapshot> {
    return this.reading.follow(idOrPrefix, offset, onLine, opts);
  }
  readLog(id: string, offset: number): { lines: string[]; offset: number; final: boolean } {
    return this.reading.readLog(id, offset);
  }
  eventLogSize(id: string): number {
    return this.reading.eventLogSize(id);
  }
  wait(ids: string[], timeoutMs: number, opts?: WaitOptions): Promise<WaitOutcome> {
    return this.reading.wait(ids, timeoutMs, opts);
  }
  cancel(idOrPrefix: string): Promise<Snapshot> {
    return this.stopping.cancel(idOrPrefix);
  }
  diff(id: string, opts?: { statOnly?: boolean; paths?: string[]; maxBytes?: number }): Promise<DiffResult> {
    return this.review.diff(id, opts);
  }
  apply(id: string, opts?: { dryRun?: boolean }): Promise<ApplyResult> {
    return this.review.apply(id, opts);
  }
  discard(id: string, opts?: { dryRun?: boolean }): Promise<DiscardResult> {
    return this.review.discard(id, opts);
  }
  land(input: LandInput, timeoutMs: number, opts?: LandWaitOptions): Promise<LandingView> {
    return this.landings.land(input, timeoutMs, opts);
  }
  /** In a landing's own process (`__land`, cli/callback.ts): runs it to its end. */
  runLanding(id: string, signal?: AbortSignal): Promise<void> {
    return this.landings.run(id, signal);
  }
  resolveGroup(idOrPrefix: string): string {
    return this.groups.resolve(idOrPrefix);
  }
  group(idOrPrefix: string): Promise<GroupView> {
    return this.groups.group(idOrPrefix);
  }
  waitGroup(idOrPrefix: string, timeoutMs: number, opts?: WaitOptions): Promise<WaitOutcome> {
    return this.groups.wait(idOrPrefix, timeoutMs, opts);
  }
  cancelGroup(idOrPrefix: string): Promise<GroupView> {
    return this.groups.cancel(idOrPrefix);
  }
}
