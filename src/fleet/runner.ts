import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Job as BullJob, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config, FleetConfig } from '../config.js';
import type { RunnerInfo } from '../engine/api.js';
import { Engine } from '../engine/engine.js';
import { ToolError } from '../errors.js';
import { isJobId } from '../jobs/ids.js';
import { isFinal } from '../jobs/states.js';
import type { Logger } from '../log.js';
import { HomeLock } from './homelock.js';
import { endedBeforeStart, lateOutcomeOf, parseRecord } from './records.js';
import { beatEvery, beatLasts, connect, Keys, redisProblem, within } from './redis.js';
import { serveRequest, type Handlers } from './rpc.js';
import { checkLabels, MAX_RUNNER_LABELS, queuesServed, startIdOf, type StartData } from './shared.js';

/**
 * The claim: the runner of a job's record is set once, and only on a record a front end made
 * (1). 0: another runner has it; -1: no record (its front end gave up on it, or Redis lost it).
 */
const CLAIM = `if redis.call('HEXISTS', KEYS[1], 'id') == 0 then return -1 end
return redis.call('HSETNX', KEYS[1], 'runner', ARGV[1])`;

/**
 * A job's record as its runner writes it (KEYS[1]; ARGV[1] the status, ARGV[2] the late outcome, ''
 * while the job runs, ARGV[3…] the fields): a final status is never changed, so a record given up as
 * lost while this runner was away (or final otherwise) takes only the outcome, beside it.
 */
const RECORD = `local lost = redis.call('HGET', KEYS[1], 'lost')
local status = redis.call('HGET', KEYS[1], 'status')
local final = status == 'completed' or status == 'failed' or status == 'cancelled'
if lost or (final and status ~= ARGV[1]) then
  if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'late_outcome', ARGV[2]) end
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
return 1`;

/** How long a stopping runner waits for Redis to take its last writes. */
const CLOSE_WAIT_MS = 3000;

/** How often an idle runner looks for a start (it is also woken when one is queued). */
const POLL_MS = 1000;

/** How soon a job this runner lacks the agent for is offered again. */
const AGENT_RETRY_MS = 2000;

export interface RunnerOptions {
  concurrency: number;
  labels: string[];
  version: string;
}

/** A job this runner holds in BullMQ: the hold keeps its place under the fleet limit until it ends. */
interface Held {
  bull: BullJob;
  token: string;
  ids: string[];
}

/**
 * One machine's runner: takes jobs from the fleet's queues and runs them with this machine's
 * Engine, whose store, supervision and worktrees are exactly those of a local server. What the
 * fleet needs to know (each job's record, this runner's heartbeat) it writes to Redis; what others
 * ask of its jobs arrives as requests on its channel (rpc.ts). It opens no port.
 */
export class FleetRunner {
  readonly id: string;
  private readonly keys: Keys;
  private readonly redis: Redis;
  private readonly sub: Redis;
  private readonly workerConnection: Redis;
  private readonly workers: Worker[] = [];
  private readonly queues: Queue[] = [];
  private readonly held = new Map<string, Held>();
  /** Starts being taken right now, by first job id: a cancel arriving meanwhile waits for them. */
  private readonly taking = new Map<string, Promise<void>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly startedAt = Date.now();
  private stopWatching: () => void = () => undefined;
  private wakeUp: () => void = () => undefined;
  private epoch: string | null = null;
  private agents: string[] = [];
  private stopping = false;
  private loop: Promise<void> = Promise.resolve();

  private constructor(
    private readonly config: Config,
    private readonly fleet: FleetConfig,
    private readonly engine: Engine,
    private readonly lock: HomeLock,
    private readonly opts: RunnerOptions,
    private readonly log: Logger,
  ) {
    this.id = runnerId(config.home);
    this.keys = new Keys(fleet.prefix);
    this.redis = connect(fleet.url, { blocking: true, name: `codex-async-mcp runner ${this.id}` });
    this.sub = connect(fleet.url, { blocking: true, name: `codex-async-mcp runner ${this.id} (subscriber)` });
    this.workerConnection = connect(fleet.url, { blocking: true, name: `codex-async-mcp runner ${this.id} (queues)` });
  }

  /** Opens the local engine, checks Redis and joins the fleet; throws a ToolError a person can act on. */
  static async start(config: Config, opts: RunnerOptions, log: Logger): Promise<FleetRunner> {
    checkLabels(opts.labels, MAX_RUNNER_LABELS);
    // Before anything else, Redis included: a second runner over this home is refused at once.
    const lock = HomeLock.take(config.home);
    let engine: Engine;
    try {
      // The runner's limit is its machine's: attempts of a group and replies beyond it wait in the local queue.
      engine = Engine.open({ ...config, maxConcurrent: opts.concurrency }, log);
    } catch (err) {
      lock.release();
      throw err;
    }
    const runner = new FleetRunner(config, config.fleet!, engine, lock, opts, log);
    try {
      await runner.join();
    } catch (err) {
      await runner.close();
      throw err instanceof ToolError ? err : redisProblem(err, config.fleet!.url);
    }
    return runner;
  }

  private async join(): Promise<void> {
    // The runner's own connections wait out an outage; joining should not: a few tries, then the reason.
    const probe = connect(this.fleet.url, { name: `codex-async-mcp runner ${this.id} (joining)` });
    try {
      await probe.ping();
    } catch (err) {
      throw redisProblem(err, this.fleet.url, probe);
    } finally {
      probe.disconnect();
    }
    await this.redis.ping();
    await this.engine.catchUp();
    this.agents = await this.engine.agentsFound();
    await this.beat();
    for (const name of queuesServed(this.opts.labels)) {
      const queue = new Queue(name, { connection: this.redis, prefix: this.keys.bull });
      queue.on('error', (err) => this.log('warn', `queue ${name}: ${err.message}`));
      if (this.fleet.max !== undefined) await queue.setGlobalConcurrency(this.fleet.max);
      this.queues.push(queue);
      const worker = new Worker(name, null, {
        connection: this.workerConnection,
        prefix: this.keys.bull,
        autorun: false,
        lockDuration: this.fleet.lockMs,
        stalledInterval: this.fleet.lockMs,
        // A stalled job goes back to the queue every time; whoever takes it next decides (take()):
        // one no runner began runs there, one a runner began is never run again.
        maxStalledCount: Number.MAX_SAFE_INTEGER,
      });
      worker.on('error', (err) => this.log('warn', `worker ${name}: ${err.message}`));
      this.workers.push(worker);
      void worker.startStalledCheckTimer().catch((err: Error) => this.log('warn', `stalled check on ${name}: ${err.message}`));
    }
    this.sub.on('message', (channel: string, message: string) => {
      if (channel === this.keys.rpc(this.id)) void serveRequest(this.redis, message, this.handlers(), (err) => this.log('warn', `request: ${err.message}`));
      else if (channel === this.keys.wake) this.wakeUp();
    });
    await this.sub.subscribe(this.keys.rpc(this.id), this.keys.wake);
    this.stopWatching = this.engine.watchAll((id) => void this.mirror(id).catch((err: Error) => this.log('warn', `recording job ${id} in the fleet: ${err.message}`)));
    await this.takeBack();
    this.timers.push(setInterval(() => void this.beat().catch((err: Error) => this.log('warn', `heartbeat: ${err.message}`)), beatEvery(this.fleet)));
    this.timers.push(setInterval(() => void this.renew(), Math.max(250, Math.floor(this.fleet.lockMs / 3))));
    this.loop = this.takeJobs();
    this.log('info', `runner ${this.id} on ${os.hostname()} serving ${queuesServed(this.opts.labels).join(', ')} with up to ${this.opts.concurrency} jobs`);
  }

  // ── taking jobs ──────────────────────────────────────────────────────────────────────────────

  /** While there is room, take the oldest job of any served queue; when none, sleep until woken. */
  private async takeJobs(): Promise<void> {
    let next = 0;
    while (!this.stopping) {
      let took = false;
      try {
        if (this.engine.unfinished().length + this.taking.size < this.opts.concurrency) {
          for (let i = 0; i < this.workers.length && !took; i++) {
            const worker = this.workers[(next + i) % this.workers.length]!;
            const token = `${this.id}:${randomUUID()}`;
            const job = (await worker.getNextJob(token, { block: false })) as BullJob<StartData> | undefined;
            if (job) {
              took = true;
              next = (next + i + 1) % this.workers.length;
              const ids = job.data.ids;
              const taking = this.take(job, token)
                // Unforeseen: the start's lock lapses and BullMQ offers it again; the claim decides then.
                .catch((err: Error) => this.log('error', `taking ${ids.join(', ')}: ${err.stack ?? err.message}`))
                .finally(() => this.taking.delete(ids[0]!));
              this.taking.set(ids[0]!, taking);
            }
          }
        }
      } catch (err) {
        this.log('warn', `taking a job: ${(err as Error).message}`);
      }
      // A random interval (POLL_MS on average): runners that poll in a fixed phase would let the same
      // one take every start that comes due, a start offered back to its owner included.
      if (!took) await this.idle(POLL_MS / 2 + Math.random() * POLL_MS);
    }
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  /**
   * One queued start, taken. Claiming the record (HSETNX runner) is the at-most-once guard: a start
   * that stalled and came back (its runner died holding it) runs here only if no runner began it.
   */
  private async take(bull: BullJob<StartData>, token: string): Promise<void> {
    const { ids, groupId, input } = bull.data;
    const first = ids[0]!;
    // Ids become paths in this machine's store: only what a front end makes is taken.
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string' && isJobId(id)) || (groupId !== null && !isJobId(String(groupId)))) {
      this.log('warn', `dropping start ${bull.id}: its job ids are not ours`);
      return this.complete({ bull, token, ids: [] }, { refused: 'malformed' });
    }
    // Tests only: a runner stopped holding a job it has not begun (the job must then run elsewhere).
    if (this.config.testPause === 'fleet-take') process.kill(process.pid, 'SIGSTOP');
    const missing = (input.agents ?? [input.agent ?? 'codex']).filter((agent) => !this.agents.includes(agent));
    if (missing.length) {
      // Offered again shortly, to any runner: one that has the agent takes it.
      await bull.moveToDelayed(Date.now() + AGENT_RETRY_MS, token);
      await this.note(ids, `waiting for a runner with ${missing.join(' and ')} (runner ${this.id} on ${os.hostname()} has no ${missing.join(', ')})`);
      return;
    }
    const claim = (await this.redis.eval(CLAIM, 1, this.keys.job(first), this.id)) as number;
    if (claim !== 1) {
      const owner = claim === 0 ? await this.redis.hget(this.keys.job(first), 'runner') : null;
      const known = this.engine.knows(first);
      // Ours, from before a restart: held again if it runs; started now if it never began (our
      // store proves it: a job is in the store before anything of it runs).
      if (owner === this.id && known) return this.hold({ bull, token, ids });
      if (owner && owner !== this.id) {
        // Another runner's (its hold lapsed: it was stopped, cut off, or slow). Whether it began the
        // job only its store knows, so only it may hold or begin the start: offered again later,
        // it takes it back; readers show the job lost while that runner is gone. Never run here.
        // The delay is jittered over one poll, and polls are at random intervals: offered again
        // exactly one lock time on, it came due just before this runner's next poll, every time, and
        // the owner back (polling at another phase) could wait for ever for a start only it may take.
        await bull.moveToDelayed(Date.now() + this.fleet.lockMs + Math.floor(Math.random() * POLL_MS), token);
        return;
      }
      if (owner !== this.id) {
        // A start whose record is gone (its front end gave up on it): nothing to run.
        await this.complete({ bull, token, ids }, { taken_by: owner });
        return;
      }
      // Ours and not in our store: claimed, then stopped before it began. Begun now.
    }
    // Tests only: a runner stopped between its claim and the job's start (it must begin it when back).
    if (this.config.testPause === 'fleet-claimed') process.kill(process.pid, 'SIGSTOP');
    try {
      await this.begin(bull, token);
    } catch (err) {
      // Whatever failed, a claimed job this store does not have ends here, with the reason,
      // rather than waiting for a runner that will never begin it.
      if (ids.every((id) => this.engine.knows(id))) throw err;
      const reason = err instanceof ToolError ? err.message : `an unexpected failure: ${(err as Error).message}`;
      await this.refuse(ids, 'failed', { kind: 'spawn_error', message: `runner ${this.id} on ${os.hostname()} could not start it: ${reason}` });
      await this.complete({ bull, token, ids }, { refused: reason });
    }
  }

  /** A claimed start: recorded as this runner's, checked for a cancel, started, held. */
  private async begin(bull: BullJob<StartData>, token: string): Promise<void> {
    const { ids, groupId, input } = bull.data;
    const first = ids[0]!;
    const write = this.redis.multi();
    for (const id of ids) write.hset(this.keys.job(id), { runner: this.id, token, updated: Date.now() });
    if (groupId) write.hset(this.keys.group(groupId), 'runner', this.id);
    await write.exec();
    const [cancel, lost] = await this.redis.hmget(this.keys.job(first), 'cancel', 'lost');
    if (lost) {
      // Given up while this runner was away before beginning it: its final status says it never ran,
      // and whoever read it may have started it anew. Never begun now.
      this.log('info', `not beginning ${ids.join(', ')}: given up as lost while this runner was away`);
      await this.complete({ bull, token, ids }, { given_up: true });
      return;
    }
    if (cancel === '1') {
      await this.refuse(ids, 'cancelled', { kind: 'cancelled', message: 'cancelled before it started' });
      await this.complete({ bull, token, ids }, { cancelled: true });
      return;
    }
    await this.engine.start(input, { ids, groupId });
    await Promise.all(ids.map((id) => this.mirror(id)));
    // A cancel that came while the job was being started found no job here to stop.
    const flags = await Promise.all(ids.map((id) => this.redis.hget(this.keys.job(id), 'cancel')));
    await Promise.all(ids.filter((_, i) => flags[i] === '1').map((id) => this.engine.cancel(id).catch(() => undefined)));
    this.hold({ bull, token, ids });
  }

  /** Keeps the BullMQ job (and its place under the fleet limit) until every job it carries is final. */
  private hold(held: Held): void {
    this.held.set(held.ids[0]!, held);
    this.checkHeld(held.ids[0]!);
  }

  private checkHeld(first: string): void {
    const held = this.held.get(first);
    if (!held) return;
    const done = held.ids.every((id) => {
      try {
        return isFinal(this.engine.poll(id, 0).status);
      } catch {
        return true;
      }
    });
    if (!done) return;
    this.held.delete(first);
    void this.complete(held, { ids: held.ids }).catch(() => undefined);
  }

  private async complete(held: Held, value: unknown): Promise<void> {
    try {
      await held.bull.moveToCompleted(value, held.token, false);
    } catch (err) {
      // The hold had lapsed (this runner was stopped longer than the lock): the job ran on regardless.
      this.log('info', `releasing ${held.ids.join(', ')} in the queue: ${(err as Error).message}`);
    }
    this.wakeUp();
  }

  /** Renews every hold; one that lapsed (Redis lost it, or the runner was paused) is let go. */
  private async renew(): Promise<void> {
    for (const [first, held] of this.held) {
      try {
        const renewed = await held.bull.extendLock(held.token, this.fleet.lockMs);
        if (!renewed) this.held.delete(first);
      } catch {
        // Redis is away; the next round tries again.
      }
    }
  }

  /**
   * After a restart: every job this machine still runs is this runner's again. Its hold is renewed
   * if it has not lapsed; a lapsed one is re-queued by BullMQ and, taken by any runner, found begun.
   */
  private async takeBack(): Promise<void> {
    for (const id of this.engine.unfinished()) {
      const rec = parseRecord(await this.redis.hgetall(this.keys.job(id)));
      // The start is renewed through its first job (the one it is named after).
      if (!rec?.token || rec.bull !== startIdOf(id) || this.held.has(id)) continue;
      const queue = this.queues.find((q) => q.name === rec.queue);
      const bull = queue ? ((await BullJob.fromId(queue, rec.bull)) as BullJob<StartData> | undefined) : undefined;
      if (!bull) continue;
      if ((await bull.extendLock(rec.token, this.fleet.lockMs).catch(() => 0)) === 1) this.hold({ bull, token: rec.token, ids: bull.data.ids });
    }
    await this.recordAgain();
  }

  /**
   * The records of this machine's unfinished jobs and its newest 200 finished ones, where Redis has
   * them otherwise (the runner was away when they finished, or Redis lost its data).
   */
  private async recordAgain(): Promise<void> {
    for (const id of this.engine.unfinished()) await this.mirror(id);
    for (const job of (await this.engine.list({ limit: 200 })).jobs) {
      if (!isFinal(job.status)) continue;
      const status = await this.redis.hget(this.keys.job(job.job_id), 'status');
      if (status !== job.status) await this.mirror(job.job_id);
    }
  }

  // ── telling the fleet ────────────────────────────────────────────────────────────────────────

  /**
   * Writes one job's record from this machine's store and tells every front end it changed. The
   * snapshot is read after the last await and sent in the same turn, so two mirrors of one job reach
   * Redis in the order they read it: an older state never overwrites a newer one.
   */
  private async mirror(id: string): Promise<void> {
    if (!this.engine.knows(id)) return;
    const groupId = this.engine.poll(id, 0).group_id;
    const attempts = groupId ? (await this.engine.group(groupId)).attempts.map((a) => a.job_id) : [];
    let s = this.engine.poll(id, 0);
    const final = isFinal(s.status);
    if (final) s = this.engine.poll(id, 100);
    s = { ...s, runner: this.id };
    const key = this.keys.job(id);
    const created = Date.parse(s.created_at);
    const result = final ? { ...this.engine.result(id), runner: this.id } : null;
    const fields = { id, created, runner: this.id, status: s.status, snapshot: JSON.stringify(s), updated: Date.now(), ...(result ? { result: JSON.stringify(result) } : {}) };
    const write = this.redis.multi();
    // The heartbeat first: a reader gives a job up only while its runner's heartbeat is gone.
    this.beatInto(write);
    write.eval(RECORD, 1, key, s.status, result ? JSON.stringify(lateOutcomeOf(s, result)) : '', ...Object.entries(fields).flat());
    // A reply made on this runner has no record from a front end: it gets the fields readers expect.
    write.hsetnx(key, 'queue', '');
    write.hsetnx(key, 'bull', '');
    write.zadd(this.keys.jobs, created, id);
    if (final && this.config.retentionMs) write.pexpire(key, this.config.retentionMs);
    // Written again with each attempt, so a Redis that lost its data gets its groups back too.
    if (groupId) write.hset(this.keys.group(groupId), { ids: JSON.stringify(attempts), runner: this.id });
    write.publish(this.keys.changes, id);
    await write.exec();
    if (final) for (const first of this.held.keys()) this.checkHeld(first);
  }

  /** What a queued job is waiting for, shown as its current activity. */
  private async note(ids: string[], text: string): Promise<void> {
    for (const id of ids) {
      const rec = parseRecord(await this.redis.hgetall(this.keys.job(id)));
      if (!rec || rec.runner || rec.snapshot.progress.current === text) continue;
      await this.redis.hset(this.keys.job(id), 'snapshot', JSON.stringify({ ...rec.snapshot, progress: { ...rec.snapshot.progress, current: text } }));
      await this.redis.publish(this.keys.changes, id);
    }
  }

  private async refuse(ids: string[], status: 'cancelled' | 'failed', error: { kind: 'cancelled' | 'spawn_error'; message: string }): Promise<void> {
    for (const id of ids) {
      const rec = parseRecord(await this.redis.hgetall(this.keys.job(id)));
      if (!rec) continue;
      const snapshot = { ...endedBeforeStart(rec.snapshot, status, error), runner: this.id };
      await this.redis.hset(this.keys.job(id), { status, snapshot: JSON.stringify(snapshot), updated: Date.now() });
      if (this.config.retentionMs) await this.redis.pexpire(this.keys.job(id), this.config.retentionMs);
      await this.redis.publish(this.keys.changes, id);
    }
  }

  /** This runner's heartbeat, as a MULTI's first commands: a record it writes never outlives its sign of life. */
  private beatInto(write: ReturnType<Redis['multi']>): void {
    const json = JSON.stringify(this.info());
    write.set(this.keys.runner(this.id), json, 'PX', beatLasts(this.fleet)).hset(this.keys.runnersSeen, this.id, json);
  }

  private info(): RunnerInfo {
    return {
      id: this.id,
      host: os.hostname(),
      pid: process.pid,
      labels: this.opts.labels,
      concurrency: this.opts.concurrency,
      running: this.engine.unfinished().length,
      version: this.opts.version,
      agents: this.agents,
      started_at: this.startedAt,
      beat_at: Date.now(),
    };
  }

  private async beat(): Promise<void> {
    const write = this.redis.multi();
    this.beatInto(write);
    await write.exec();
    // Redis that lost its data (restarted without persistence) lost every record: write ours again.
    // (GET then SET NX rather than SET NX GET, which Redis 6.2 lacks.)
    let epoch = await this.redis.get(this.keys.epoch);
    if (epoch === null) {
      await this.redis.set(this.keys.epoch, randomBytes(8).toString('hex'), 'NX');
      epoch = await this.redis.get(this.keys.epoch);
    }
    if (this.epoch !== null && epoch !== this.epoch) {
      this.log('warn', "the fleet's Redis lost its data: recording this runner's jobs again");
      for (const queue of this.queues) if (this.fleet.max !== undefined) await queue.setGlobalConcurrency(this.fleet.max);
      await this.recordAgain();
    }
    this.epoch = epoch;
  }

  // ── requests from front ends ─────────────────────────────────────────────────────────────────

  private handlers(): Handlers {
    const e = this.engine;
    return {
      poll: (id: string, tail: number) => ({ ...e.poll(id, tail), runner: this.id }),
      activity: (id: string) => e.activity(id),
      rawEvents: (id: string, max: number) => e.rawEvents(id, max),
      eventLogSize: (id: string) => e.eventLogSize(id),
      readLog: (id: string, offset: number) => e.readLog(id, offset),
      cancel: async (id: string) => {
        await this.taking.get(id);
        const s = await e.cancel(id);
        await this.mirror(id);
        return { ...s, runner: this.id };
      },
      reply: async (input: Parameters<Engine['reply']>[0]) => {
        const started = await e.reply(input);
        await Promise.all(started.job_ids.map((id) => this.mirror(id)));
        return started;
      },
      diff: (id: string, opts: Parameters<Engine['diff']>[1]) => e.diff(id, opts),
      apply: (id: string, opts: Parameters<Engine['apply']>[1]) => e.apply(id, opts),
      discard: (id: string, opts: Parameters<Engine['discard']>[1]) => e.discard(id, opts),
      group: (id: string) => e.group(id),
      gc: async (opts: Parameters<Engine['gc']>[0]) => {
        const collected = await e.gc(opts);
        if (!opts.dryRun && collected.jobs.length) {
          await this.redis.del(...collected.jobs.map((j) => this.keys.job(j.job_id)));
          await this.redis.zrem(this.keys.jobs, ...collected.jobs.map((j) => j.job_id));
        }
        return collected;
      },
    };
  }

  // ── stopping ─────────────────────────────────────────────────────────────────────────────────

  /**
   * Leaves the fleet. Jobs run on (as they outlive a server); their holds lapse and, if this runner
   * does not come back within the lock time, readers see them as lost until it does.
   */
  async close(): Promise<void> {
    this.stopping = true;
    this.wakeUp();
    for (const timer of this.timers) clearInterval(timer);
    this.stopWatching();
    // What is under way finishes if Redis answers; with Redis away it would wait for ever, so a
    // few seconds, then the connections are cut (the jobs run on regardless).
    const settled = Promise.all([this.loop, ...this.taking.values()].map((p) => p.catch(() => undefined)));
    await within(settled, CLOSE_WAIT_MS, undefined);
    // The heartbeat is left to expire: a runner restarted within its life (a routine restart) never
    // shows its jobs as lost.
    const closing = Promise.all([...this.workers.map((w) => w.close(true)), ...this.queues.map((q) => q.close())].map((p) => p.catch(() => undefined)));
    await within(closing, CLOSE_WAIT_MS, undefined);
    this.sub.disconnect();
    this.workerConnection.disconnect();
    this.redis.disconnect();
    await this.engine.close();
    this.lock.release();
  }
}

/** This state directory's runner id, made once: a restarted runner is the same runner to the fleet. */
function runnerId(home: string): string {
  const file = path.join(home, 'runner-id');
  try {
    const id = fs.readFileSync(file, 'utf8').trim();
    if (/^r-[0-9a-f]{8}$/.test(id)) return id;
  } catch {
    // First start: made below.
  }
  const id = `r-${randomBytes(4).toString('hex')}`;
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
}
