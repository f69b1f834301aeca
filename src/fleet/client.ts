import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config, FleetConfig } from '../config.js';
import type { GroupView, JobApi, LandingView, ListInput, ReplyInput, RunnerInfo, StartInput, Started, WaitOptions, WaitOutcome } from '../engine/api.js';
import type { JobResult, JobSummary, Snapshot } from '../engine/snapshot.js';
import { checkCommand, checkIsolation, checkJobId, checkLineup, checkPrompt, checkWorktreeOptions, LIMITS, notFound } from '../engine/validate.js';
import type { ApplyResult, DiffResult, DiscardResult } from '../engine/workspaces.js';
import { invalid, toolName, ToolError, type Namer } from '../errors.js';
import { isJobId, newJobId } from '../jobs/ids.js';
import { isFinal } from '../jobs/states.js';
import type { Logger } from '../log.js';
import { endedBeforeStart, givenUp, lostError, parseRecord, queuedSnapshot, resultOf, summaryOf, unreachable, type JobRecord } from './records.js';
import { beatEvery, connect, Keys, redisProblem, within } from './redis.js';
import { RpcClient, runnerGone } from './rpc.js';
import { checkLabels, MAX_RUNNER_LABELS, queueFor, readRunners, runnerName, startIdOf, type StartData } from './shared.js';

/** How often a waiter re-reads records when no change arrives: a runner's death shows only as a key expiring. */
const RECHECK_MS = 1000;
/** Requests that only read: a runner that does not answer one soon is read from its records instead. */
const READS = new Set(['poll', 'activity', 'rawEvents', 'eventLogSize', 'readLog']);
const READ_TIMEOUT_MS = 10_000;
/** How long closing waits for Redis to acknowledge. */
const CLOSE_WAIT_MS = 2000;
/** An action (cancel, apply, a reply, gc) may take long on a big checkout. */
const ACTION_TIMEOUT_MS = 120_000;

/**
 * Gives a job up as lost: only while its runner's heartbeat (KEYS[2]) is gone, the record names that
 * runner (ARGV[1]) and is not final. Its status is then final like any other: the runner, back,
 * records only a late outcome beside it (runner.ts). 1: given up here; 0: not.
 */
const GIVE_UP = `if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local f = redis.call('HMGET', KEYS[1], 'runner', 'status')
if f[1] ~= ARGV[1] or f[2] == 'completed' or f[2] == 'failed' or f[2] == 'cancelled' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'failed', 'snapshot', ARGV[2], 'result', ARGV[3], 'lost', ARGV[4], 'updated', ARGV[4])
if tonumber(ARGV[5]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[5]) end
redis.call('PUBLISH', ARGV[6], ARGV[7])
return 1`;

/**
 * A front end of the fleet (CODEX_ASYNC_REDIS_URL set): the MCP server and the command line ask it
 * what they would ask the local Engine. Starting enqueues into BullMQ; reading comes from the job's
 * record in Redis, or from the runner holding the job while it runs (it has the live event log);
 * acting on a job (cancel, diff, apply, reply) is a request to that runner (rpc.ts).
 */
export class FleetClient implements JobApi {
  private readonly keys: Keys;
  private readonly redis: Redis;
  private readonly sub: Redis;
  private readonly rpc: RpcClient;
  private readonly queues = new Map<string, Queue>();
  private readonly listeners = new Set<(id: string) => void>();
  /** Jobs this process enqueued: if Redis loses them, say so instead of "no such job". */
  private readonly enqueued = new Set<string>();
  /** Resolves once the subscriber listens: a request sent before would have its answer missed. */
  private readonly subscribed: Promise<boolean>;
  private closed = false;

  private constructor(
    private readonly config: Config,
    private readonly fleet: FleetConfig,
    private readonly log: Logger,
    /** How messages name the next step: a tool for an MCP client, a command for a person. */
    private readonly namer: Namer,
  ) {
    this.keys = new Keys(fleet.prefix);
    this.redis = connect(fleet.url, { name: 'codex-async-mcp front end' });
    // The subscriber waits through any outage (ioredis subscribes again on every reconnect): a
    // server opened before Redis was up must still hear answers and changes once it is.
    this.sub = connect(fleet.url, { blocking: true, name: 'codex-async-mcp front end (subscriber)' });
    const replies = this.keys.reply(randomUUID());
    this.rpc = new RpcClient(this.redis, this.keys, replies);
    this.sub.on('message', (channel: string, message: string) => {
      if (channel === replies) this.rpc.answer(message);
      else for (const listener of this.listeners) listener(message);
    });
    this.subscribed = this.sub.subscribe(this.keys.changes, replies).then(() => true, () => false);
  }

  static open(config: Config, log: Logger, namer: Namer = toolName): FleetClient {
    return new FleetClient(config, config.fleet!, log, namer);
  }

  get retentionMs(): number | null {
    return this.config.retentionMs;
  }

  async catchUp(): Promise<void> {
    // Nothing waits here to be recorded: each runner records its own jobs. Reaching Redis is checked
    // now so a command says at once that the fleet is down.
    await this.io(() => this.redis.ping());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.rpc.close();
    // Redis away must not keep a command (or a server shutting down) from ending.
    const closing = Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
    await within(closing, CLOSE_WAIT_MS, undefined);
    this.sub.disconnect();
    this.redis.disconnect();
  }

  // ── starting ─────────────────────────────────────────────────────────────────────────────────

  async start(input: StartInput): Promise<Started> {
    checkPrompt(input.prompt);
    if (typeof input.cwd !== 'string' || !input.cwd.startsWith('/')) throw invalid('cwd must be an absolute path on the runners\' machines');
    // The runner that takes it checks it all again, with what only its machine can check.
    const lineup = checkLineup(input);
    const labels = checkLabels(input.runner_labels ?? [], MAX_RUNNER_LABELS);
    const isolation = checkIsolation(input.isolation, lineup.length, this.config.defaultIsolation);
    checkCommand('check_command', input.check_command);
    checkWorktreeOptions(isolation, input);
    const ids = lineup.map(() => newJobId());
    const groupId = ids.length > 1 ? newJobId() : null;
    const queue = queueFor(labels);
    const created = Date.now();
    const { runner_labels: _labels, ...forRunner } = input;
    const data: StartData = { ids, groupId, input: forRunner, queuedAt: created };
    await this.io(async () => {
      // Labels no runner has ever had are likely a typo: the job waits, and says for what.
      const { seen } = await this.runners();
      const unserved = labels.length > 0 && ![...seen.values()].some((r) => labels.every((l) => r.labels.includes(l)));
      const write = this.redis.multi();
      ids.forEach((id, i) => {
        const snapshot = queuedSnapshot(id, input, lineup[i]!, created, groupId, isolation);
        if (unserved) snapshot.progress.current = `waiting for a runner with labels ${labels.join(',')}: none has been seen`;
        write.hset(this.keys.job(id), { id, created, queue, bull: startIdOf(ids[0]!), status: 'queued', snapshot: JSON.stringify(snapshot), updated: created });
        write.zadd(this.keys.jobs, created, id);
      });
      if (groupId) write.hset(this.keys.group(groupId), { ids: JSON.stringify(ids) });
      await write.exec();
      try {
        await this.queue(queue).add('start', data, { jobId: startIdOf(ids[0]!), removeOnComplete: true, removeOnFail: { age: 24 * 3600 } });
      } catch (err) {
        await this.redis.del(...ids.map((id) => this.keys.job(id)), ...(groupId ? [this.keys.group(groupId)] : []));
        await this.redis.zrem(this.keys.jobs, ...ids);
        throw err;
      }
      await this.redis.publish(this.keys.wake, queue);
    });
    for (const id of ids) this.enqueued.add(id);
    return { job_id: ids[0]!, status: 'queued', created_at: new Date(created).toISOString(), queue_position: null, isolation, group_id: groupId, job_ids: ids };
  }

  async reply(input: ReplyInput): Promise<Started> {
    if (input.job_id === undefined) {
      throw invalid((t) => `with a fleet, continue a job by its job_id: a session started outside the fleet lives on one machine, so run ${t('reply')} with thread_id on that machine without CODEX_ASYNC_REDIS_URL`);
    }
    const rec = await this.record(input.job_id);
    if (!rec.runner) throw new ToolError('not_finished', (t) => `job ${rec.id} has not started on any runner yet, so it has no session to continue: wait for it with ${t('wait')}`);
    // The agent's session files are on the machine that ran the parent, so the reply runs there too.
    const started = await this.ask<Started>(rec, 'reply', [{ ...input, job_id: rec.id }]);
    for (const id of started.job_ids) this.enqueued.add(id);
    return started;
  }

  // ── reading ──────────────────────────────────────────────────────────────────────────────────

  async resolve(idOrPrefix: string): Promise<string> {
    const id = checkJobId(idOrPrefix);
    if (isJobId(id)) return id;
    let matches = await this.io(() => this.scanIds(this.keys.jobs, id));
    if (matches.length > 1) {
      // An expired record's id lingers in the index until a listing drops it: only live ones count.
      const exists = await this.io(() => Promise.all(matches.map((m) => this.redis.exists(this.keys.job(m)))));
      matches = matches.filter((_, i) => exists[i]);
    }
    if (matches.length === 0) throw notFound(id);
    if (matches.length > 1) throw invalid(`job id prefix "${id}" is ambiguous: ${matches.length} jobs start with it (${matches.slice(0, 10).join(', ')}); give more characters`);
    return matches[0]!;
  }

  async poll(id: string, tailLines = 100): Promise<Snapshot> {
    if (!Number.isInteger(tailLines) || tailLines < 0) throw invalid(`tail_lines must be a whole number from 0 up, got ${tailLines}`);
    const rec = await this.record(id);
    const runners = await this.runners();
    // A running job's live progress and output are on its runner; the record has them as of its last change.
    if (!isFinal(rec.status) && rec.runner && runners.alive.has(rec.runner)) {
      try {
        return this.named(await this.ask<Snapshot>(rec, 'poll', [rec.id, tailLines]), runners);
      } catch (err) {
        // Gone, slow, or not (yet) knowing the job: the record is what there is to show.
        if (!(err instanceof ToolError && (err.kind === 'runner_unavailable' || err.kind === 'not_found'))) throw err;
      }
    }
    return await this.view(rec, runners);
  }

  async activity(id: string): Promise<string> {
    const rec = await this.record(id);
    if (!rec.runner) return '';
    return this.ask<string>(rec, 'activity', [rec.id]);
  }

  async rawEvents(id: string, maxBytes = 1 << 20): Promise<string> {
    const rec = await this.record(id);
    if (!rec.runner) return '';
    return this.ask<string>(rec, 'rawEvents', [rec.id, maxBytes]);
  }

  async eventLogSize(id: string): Promise<number> {
    const rec = await this.record(id);
    if (!rec.runner) return 0;
    return this.ask<number>(rec, 'eventLogSize', [rec.id]);
  }

  async result(id: string): Promise<JobResult> {
    const rec = await this.record(id);
    const s = await this.view(rec, await this.runners());
    if (!isFinal(s.status)) {
      throw new ToolError('not_finished', (t) => `job ${rec.id} is still ${s.status}: call ${t('wait')} with job_ids ["${rec.id}"] to block until it finishes, or ${t('poll')} to see its progress`);
    }
    // A job given up as lost has no result of its runner's (or, given up meanwhile, a stale record here).
    if (rec.result && isFinal(rec.status) && !rec.lost) return { ...rec.result, runner: s.runner ?? null };
    return resultOf(s);
  }

  async list(input: ListInput): Promise<{ jobs: JobSummary[]; next_cursor: string | null }> {
    const limit = input.limit ?? 20;
    if (!Number.isInteger(limit) || limit < 1 || limit > LIMITS.listLimit) throw invalid(`limit must be a whole number from 1 to ${LIMITS.listLimit}, got ${limit}`);
    let cursor: { created: number; id: string } | null = null;
    if (input.cursor !== undefined) {
      const [created, id] = Buffer.from(input.cursor, 'base64url').toString('utf8').split(':');
      if (!(Number(created) > 0) || !isJobId(id ?? '')) throw invalid((t) => `cursor is not one ${t('list')} returned: pass next_cursor as given`);
      cursor = { created: Number(created), id: id! };
    }
    return this.io(async () => {
      const runners = await this.runners();
      // Newest first, by rank: the page after the cursor's job, or, if that one is gone, after its time.
      let rank = 0;
      if (cursor) {
        const at = await this.redis.zrevrank(this.keys.jobs, cursor.id);
        rank = at !== null ? at + 1 : await this.redis.zcount(this.keys.jobs, `(${cursor.created}`, '+inf');
      }
      const jobs: Array<{ summary: JobSummary; created: number }> = [];
      const expired: string[] = [];
      // A batch at a time, until a page (and one more, to know there is a next) matches.
      while (jobs.length <= limit) {
        const ids = await this.redis.zrevrange(this.keys.jobs, rank, rank + 199);
        if (ids.length === 0) break;
        rank += ids.length;
        const records = await this.records(ids);
        for (const [i, rec] of records.entries()) {
          if (!rec) {
            expired.push(ids[i]!);
            continue;
          }
          const s = await this.view(rec, runners);
          if (input.status && s.status !== input.status) continue;
          if (input.cwd && s.cwd !== input.cwd) continue;
          if (input.label && s.label !== input.label) continue;
          jobs.push({ summary: summaryOf(s), created: rec.created });
          if (jobs.length > limit) break;
        }
      }
      // Records expire (retention); their ids leave the index as listing meets them.
      if (expired.length) await this.redis.zrem(this.keys.jobs, ...expired);
      const page = jobs.slice(0, limit);
      const last = page.at(-1);
      return {
        jobs: page.map((j) => j.summary),
        next_cursor: jobs.length > limit && last ? Buffer.from(`${last.created}:${last.summary.job_id}`).toString('base64url') : null,
      };
    });
  }

  // ── waiting and cancelling ───────────────────────────────────────────────────────────────────

  async wait(ids: string[], timeoutMs: number, opts: WaitOptions = {}): Promise<WaitOutcome> {
    if (ids.length === 0) throw invalid('give at least one job id to wait for, or a group_id');
    const unique = [...new Set(await Promise.all(ids.map((id) => this.resolve(id))))];
    for (const id of unique) await this.record(id);
    const begun = Date.now();
    const deadline = begun + timeoutMs;
    let ticker: NodeJS.Timeout | null = null;
    if (opts.onTick && opts.tickMs) {
      const onTick = opts.onTick;
      const tick = async () => {
        const pending = (await this.records(unique)).find((rec) => rec && !isFinal(rec.status));
        if (pending) onTick(await this.poll(pending.id, 0), Date.now() - begun);
      };
      const safeTick = () => void tick().catch((err: Error) => this.log('warn', `progress report failed: ${err.message}`));
      safeTick();
      ticker = setInterval(safeTick, opts.tickMs);
    }
    try {
      for (;;) {
        const records = await this.records(unique);
        // Each missing one is waited for, or reported (record()).
        for (const [i, rec] of records.entries()) records[i] = rec ?? (await this.record(unique[i]!));
        const runners = await this.runners();
        const views = await Promise.all(records.map((rec) => this.view(rec!, runners)));
        const finished = views.filter((s) => isFinal(s.status));
        const timedOut = Date.now() >= deadline;
        if (finished.length > 0 || timedOut || opts.signal?.aborted || this.closed) {
          return { finished, pending: views.filter((s) => !isFinal(s.status)).map((s) => s.job_id), timed_out: finished.length === 0 && timedOut };
        }
        await this.nextChange(unique, Math.min(deadline - Date.now(), RECHECK_MS), opts.signal);
      }
    } finally {
      if (ticker) clearInterval(ticker);
    }
  }

  async cancel(idOrPrefix: string): Promise<Snapshot> {
    let rec = await this.record(idOrPrefix);
    if (rec.lost) return this.cancelGivenUp(rec);
    if (isFinal(rec.status)) return this.view(rec, await this.runners());
    // The flag first, then look for a runner: a runner sets itself on the record before it reads the
    // flag, so one of the two always sees the other.
    await this.io(() => this.redis.hset(this.keys.job(rec.id), 'cancel', '1'));
    if (!rec.runner) {
      const removed = await this.io(() => this.queue(rec.queue).remove(rec.bull));
      if (removed) {
        await this.endQueued(rec, 'cancelled', { kind: 'cancelled', message: 'cancelled before any runner took it' });
        return this.view(await this.record(rec.id), await this.runners());
      }
      // A runner holds it this instant: it is about to claim it, or to offer it back (it lacks the
      // agent), after which it can be removed from the queue.
      for (let i = 0; i < 100 && !rec.runner && !isFinal(rec.status); i++) {
        await sleep(50);
        rec = await this.record(rec.id);
        if (!rec.runner && (await this.io(() => this.queue(rec.queue).remove(rec.bull)))) {
          await this.endQueued(rec, 'cancelled', { kind: 'cancelled', message: 'cancelled before any runner took it' });
          return this.view(await this.record(rec.id), await this.runners());
        }
      }
      if (isFinal(rec.status)) return this.view(rec, await this.runners());
      if (!rec.runner) throw new ToolError('conflict', (t) => `job ${rec.id} is being taken by a runner; it will see the cancel when it starts it: call ${t('poll')} in a moment`);
    }
    return this.named(await this.ask<Snapshot>(rec, 'cancel', [rec.id]), await this.runners());
  }

  // ── review ───────────────────────────────────────────────────────────────────────────────────

  async diff(id: string, opts: { statOnly?: boolean; paths?: string[]; maxBytes?: number } = {}): Promise<DiffResult> {
    return this.ask<DiffResult>(await this.started(id), 'diff', [await this.resolve(id), opts]);
  }

  /** Landing needs the jobs' worktrees and the checkout on one machine: that runner's own command line lands them. */
  async land(): Promise<LandingView> {
    throw new ToolError(
      'runner_unavailable',
      'landing is not offered through a fleet yet: on the machine of the runner that ran the jobs, run `codex-async-mcp land <job ids>` with that runner\'s CODEX_ASYNC_HOME (and without CODEX_ASYNC_REDIS_URL), or bring each job in with codex_apply',
    );
  }

  async apply(id: string, opts: { dryRun?: boolean } = {}): Promise<ApplyResult> {
    return this.ask<ApplyResult>(await this.started(id), 'apply', [await this.resolve(id), opts]);
  }

  async discard(id: string, opts: { dryRun?: boolean } = {}): Promise<DiscardResult> {
    return this.ask<DiscardResult>(await this.started(id), 'discard', [await this.resolve(id), opts]);
  }

  async follow(idOrPrefix: string, offset: number, onLine: (line: string) => void, opts: { signal?: AbortSignal; everyMs?: number } = {}): Promise<Snapshot> {
    const id = await this.resolve(idOrPrefix);
    for (;;) {
      const rec = await this.record(id);
      if (rec.runner) {
        const runners = await this.runners();
        if (!runners.alive.has(rec.runner)) {
          // Away: followed on when it comes back, until then or until the job is given up.
          const s = await this.view(rec, runners);
          if (isFinal(s.status) || opts.signal?.aborted || this.closed) return s;
          await this.nextChange([id], RECHECK_MS, opts.signal);
          continue;
        }
        const chunk = await this.ask<{ lines: string[]; offset: number; final: boolean }>(rec, 'readLog', [id, offset]);
        const stuck = chunk.offset === offset && chunk.lines.length === 0;
        offset = chunk.offset;
        for (const line of chunk.lines) onLine(line);
        // A final job's log is read to its end, or to what cannot be read (a line too long to keep).
        if (chunk.final || (stuck && isFinal(rec.status))) return this.poll(id, 0);
        if (!stuck) continue;
      } else if (isFinal(rec.status)) return this.view(rec, await this.runners());
      if (opts.signal?.aborted || this.closed) return this.poll(id, 0);
      await this.nextChange([id], opts.everyMs ?? 250, opts.signal);
    }
  }

  // ── groups ───────────────────────────────────────────────────────────────────────────────────

  async group(idOrPrefix: string): Promise<GroupView> {
    const { groupId, ids, runner } = await this.groupRecord(idOrPrefix);
    if (runner) {
      const runners = await this.runners();
      if (runners.alive.has(runner)) {
        await this.listening();
        const view = await this.io(() => this.rpc.call<GroupView>({ id: runner, name: runnerName(runner, runners.seen) }, `group ${groupId}`, 'group', [groupId]));
        // Attempts given up as lost while the runner was away stay so, whatever its store says now.
        const givenUp = new Set((await this.records(ids)).filter((rec) => rec?.lost).map((rec) => rec!.id));
        if (givenUp.size === 0) return view;
        const attempts = view.attempts.map((a) => (givenUp.has(a.job_id) ? { ...a, status: 'failed' as const } : a));
        return { ...view, attempts, best_job_id: givenUp.has(view.best_job_id ?? '') ? null : view.best_job_id, finished: attempts.filter((a) => isFinal(a.status)).length };
      }
    }
    const runners = await this.runners();
    const views = await Promise.all((await this.records(ids)).map((rec, i) => (rec ? this.view(rec, runners) : this.vanished(ids[i]!))));
    return {
      group_id: groupId,
      attempts: views.map((s) => ({ job_id: s.job_id, status: s.status, check: s.check, changes: s.changes, finished_at: s.finished_at })),
      best_job_id: null,
      finished: views.filter((s) => isFinal(s.status)).length,
      total: views.length,
    };
  }

  async waitGroup(idOrPrefix: string, timeoutMs: number, opts: WaitOptions = {}): Promise<WaitOutcome> {
    const { groupId, ids } = await this.groupRecord(idOrPrefix);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pending = (await this.records(ids)).filter((rec) => rec && !isFinal(rec.status)).map((rec) => rec!.id);
      if (pending.length === 0 || Date.now() >= deadline || opts.signal?.aborted || this.closed) break;
      const outcome = await this.wait(pending, deadline - Date.now(), opts);
      if (outcome.timed_out) break;
    }
    const group = await this.group(groupId);
    const runners = await this.runners();
    const views = await Promise.all((await this.records(ids)).map((rec, i) => (rec ? this.view(rec, runners) : this.vanished(ids[i]!))));
    return { finished: views.filter((s) => isFinal(s.status)), pending: views.filter((s) => !isFinal(s.status)).map((s) => s.job_id), timed_out: group.finished < group.total, group };
  }

  async cancelGroup(idOrPrefix: string): Promise<GroupView> {
    const { groupId, ids } = await this.groupRecord(idOrPrefix);
    // The attempts travel as one queued start and run on one runner: cancelling one cancels the start while queued.
    for (const id of ids) {
      const rec = await this.record(id);
      if (!isFinal(rec.status)) await this.cancel(id);
    }
    return this.group(groupId);
  }

  // ── watching and housekeeping ────────────────────────────────────────────────────────────────

  watch(id: string, onChange: () => void): () => void {
    return this.watchAll((changed) => {
      if (changed === id) onChange();
    });
  }

  watchAll(onChange: (id: string) => void): () => void {
    this.listeners.add(onChange);
    return () => this.listeners.delete(onChange);
  }

  /**
   * Fleet-wide: every connected runner deletes its own old jobs (with their logs and worktrees) and
   * their records; then records of jobs that never reached a runner are deleted here.
   */
  async gc(opts: { olderThanMs: number; keep: number; dryRun: boolean }): Promise<{ jobs: JobSummary[]; bytes: number }> {
    if (!(opts.olderThanMs >= 0)) throw invalid('the age must be zero or more');
    if (!Number.isInteger(opts.keep) || opts.keep < 0) throw invalid(`keep must be a whole number from 0 up, got ${opts.keep}`);
    const runners = await this.runners();
    await this.listening();
    const answers = await Promise.all(
      [...runners.alive.keys()].map((id) =>
        this.rpc.call<{ jobs: JobSummary[]; bytes: number }>({ id, name: runnerName(id, runners.seen) }, 'its jobs', 'gc', [opts]).catch((err: Error) => {
          this.log('warn', `gc on runner ${runnerName(id, runners.seen)}: ${err.message}`);
          return { jobs: [], bytes: 0 };
        }),
      ),
    );
    const jobs = answers.flatMap((a) => a.jobs);
    const cutoff = Date.now() - opts.olderThanMs;
    const ids = await this.io(() => this.redis.zrangebyscore(this.keys.jobs, '-inf', cutoff));
    const unstarted = (await this.records(ids)).filter((rec): rec is JobRecord => rec !== null && !rec.runner && isFinal(rec.status));
    for (const rec of unstarted) jobs.push(summaryOf(rec.snapshot));
    if (!opts.dryRun && unstarted.length) {
      await this.io(async () => {
        await this.redis.del(...unstarted.map((rec) => this.keys.job(rec.id)));
        await this.redis.zrem(this.keys.jobs, ...unstarted.map((rec) => rec.id));
      });
    }
    return { jobs, bytes: answers.reduce((sum, a) => sum + a.bytes, 0) };
  }

  /** The runners of the fleet, alive or last seen: for `top` and `doctor`. */
  async fleetRunners(): Promise<{ alive: RunnerInfo[]; gone: RunnerInfo[] }> {
    const runners = await this.runners();
    const all = [...runners.seen.values()];
    return { alive: all.filter((r) => runners.alive.has(r.id)).map((r) => runners.alive.get(r.id)!), gone: all.filter((r) => !runners.alive.has(r.id)) };
  }

  // ── the records ──────────────────────────────────────────────────────────────────────────────

  /**
   * The record of a job. One missing that this process enqueued is waited for a few heartbeats (a
   * Redis that restarted empty gets its running jobs' records back from their runners), then
   * reported as lost with Redis, not denied.
   */
  private async record(idOrPrefix: string): Promise<JobRecord> {
    const id = await this.resolve(idOrPrefix);
    const read = async () => parseRecord(await this.io(() => this.redis.hgetall(this.keys.job(id))));
    let rec = await read();
    if (rec) return rec;
    if (!this.enqueued.has(id)) throw notFound(id);
    for (const end = Date.now() + 3 * beatEvery(this.fleet) + 500; !rec && Date.now() < end; ) {
      await sleep(200);
      rec = await read();
    }
    if (rec) return rec;
    throw new ToolError(
      'not_found',
      (t) => `the fleet's Redis no longer has job ${id} (it restarted without persistence, or was flushed) and no connected runner has recorded it since, so none of them had begun it; a runner that had, and is away, records it again when it is back. If it was still queued, start it again with ${t('start')}`,
    );
  }

  private async records(ids: string[]): Promise<Array<JobRecord | null>> {
    if (ids.length === 0) return [];
    return this.io(async () => {
      const pipeline = this.redis.pipeline();
      for (const id of ids) pipeline.hgetall(this.keys.job(id));
      const results = (await pipeline.exec()) ?? [];
      return results.map(([err, fields]) => (err ? null : parseRecord(fields as Record<string, string>)));
    });
  }

  /**
   * A job as readers see it: its record, with the runner named. A started job whose runner is away
   * keeps its status, showing since when (`runner_unreachable_since`), until CODEX_ASYNC_FLEET_LOST_AFTER
   * has passed; then the first reader gives it up as lost in its record, for good.
   */
  private async view(rec: JobRecord, runners: Runners, again = false): Promise<Snapshot> {
    const s = this.named(rec.snapshot, runners, rec.runner);
    const name = runnerName(rec.runner, runners.seen);
    if (rec.lost) {
      // Worded for this reader (the record has it for a tool); what the runner said later, beside it.
      const seen = s.runner_unreachable_since ? Date.parse(s.runner_unreachable_since) : rec.lost;
      const away = runners.alive.has(rec.runner) ? null : s.runner_unreachable_since;
      return { ...s, error: lostError(name, seen, this.fleet.lostAfterMs, this.namer), runner_unreachable_since: away, late_outcome: rec.lateOutcome };
    }
    if (isFinal(rec.status) || !rec.runner || runners.alive.has(rec.runner)) return s;
    const seen = runners.seen.get(rec.runner)?.beat_at ?? rec.updated;
    const now = Date.now();
    if (again || now - seen < this.fleet.lostAfterMs) return unreachable(s, seen);
    const lost = givenUp({ ...rec.snapshot, runner: rec.runner }, name, seen, this.fleet.lostAfterMs, now, toolName);
    await this.io(() =>
      this.redis.eval(
        GIVE_UP,
        2,
        this.keys.job(rec.id),
        this.keys.runner(rec.runner),
        rec.runner,
        JSON.stringify(lost),
        JSON.stringify(resultOf(lost)),
        now,
        this.config.retentionMs ?? 0,
        this.keys.changes,
        rec.id,
      ),
    );
    // Given up here or by another reader, or its runner is back: the record says which.
    const fresh = await this.records([rec.id]);
    return this.view(fresh[0] ?? rec, await this.runners(), true);
  }

  /**
   * A job given up as lost may still run on its runner, once that is back: stopping it there is still
   * worth asking. Its status stays what it was; the cancel shows as its late outcome.
   */
  private async cancelGivenUp(rec: JobRecord): Promise<Snapshot> {
    const runners = await this.runners();
    if (runners.alive.has(rec.runner)) {
      try {
        await this.ask<Snapshot>(rec, 'cancel', [rec.id]);
      } catch (err) {
        if (!(err instanceof ToolError && (err.kind === 'runner_unavailable' || err.kind === 'not_found'))) throw err;
      }
    }
    return this.view(await this.record(rec.id), runners);
  }

  /** The snapshot with its runner (a runner writes its bare id) named as people read it: "r-… on host". */
  private named(s: Snapshot, runners: Runners, runnerId = s.runner ?? ''): Snapshot {
    return { ...s, runner: runnerId ? runnerName(runnerId, runners.seen) : null };
  }

  /** A job waited on that vanished from Redis meanwhile: reported as lost rather than waited on forever. */
  private vanished(id: string): Snapshot {
    const s = queuedSnapshot(id, { prompt: '', cwd: '' }, 'codex', Date.now(), null, 'none');
    return endedBeforeStart(s, 'failed', { kind: 'lost', message: `the fleet's Redis no longer has job ${id} (restarted without persistence, or flushed)` });
  }

  private async endQueued(rec: JobRecord, status: 'cancelled' | 'failed', error: { kind: 'cancelled' | 'lost'; message: string }): Promise<void> {
    // The start removed from the queue carried every attempt of its group.
    const ids = await this.idsCarriedBy(rec);
    const records = await this.records(ids);
    await this.io(async () => {
      const write = this.redis.multi();
      for (const r of records) {
        if (!r) continue;
        const snapshot = endedBeforeStart(r.snapshot, status, error);
        write.hset(this.keys.job(r.id), { status, snapshot: JSON.stringify(snapshot), updated: Date.now() });
        if (this.config.retentionMs) write.pexpire(this.keys.job(r.id), this.config.retentionMs);
      }
      await write.exec();
      for (const r of records) if (r) await this.redis.publish(this.keys.changes, r.id);
    });
  }

  /** Every job one queued start carries: one, or each attempt of a group. */
  private async idsCarriedBy(rec: JobRecord): Promise<string[]> {
    const groupId = rec.snapshot.group_id;
    if (!groupId) return [rec.id];
    const ids = await this.io(() => this.redis.hget(this.keys.group(groupId), 'ids'));
    return ids ? (JSON.parse(ids) as string[]) : [rec.id];
  }

  private async groupRecord(idOrPrefix: string): Promise<{ groupId: string; ids: string[]; runner: string }> {
    const prefix = checkJobId(idOrPrefix);
    const groupId = isJobId(prefix) ? prefix : await this.io(async () => {
      const matches = (await this.scanKeys(this.keys.group(`${prefix}*`))).map((key) => key.slice(this.keys.group('').length));
      if (matches.length > 1) throw invalid(`group id prefix "${prefix}" is ambiguous: give more characters`);
      return matches[0] ?? prefix;
    });
    const fields = await this.io(() => this.redis.hgetall(this.keys.group(groupId)));
    if (!fields.ids) throw new ToolError('not_found', (t) => `no group of attempts with id "${prefix}": group ids are returned by ${t('start')} with attempts`);
    return { groupId, ids: JSON.parse(fields.ids) as string[], runner: fields.runner ?? '' };
  }

  /** A job that a runner has: the one whose files a request reads. */
  private async started(id: string): Promise<JobRecord> {
    const rec = await this.record(id);
    if (!rec.runner) {
      throw new ToolError(isFinal(rec.status) ? 'conflict' : 'not_finished', (t) => `job ${rec.id} ${isFinal(rec.status) ? 'never reached a runner' : 'has not started on a runner yet'}, so it has no changes: ${isFinal(rec.status) ? `start a new job with ${t('start')}` : `wait for it with ${t('wait')}`}`);
    }
    return rec;
  }

  /** A request to the runner holding the job; a read is given up sooner than an action. */
  private async ask<T>(rec: JobRecord, op: string, args: unknown[]): Promise<T> {
    const runners = await this.runners();
    const name = runnerName(rec.runner, runners.seen);
    if (!runners.alive.has(rec.runner)) throw runnerGone(name, `job ${rec.id}`);
    await this.listening();
    return this.io(() => this.rpc.call<T>({ id: rec.runner, name }, `job ${rec.id}`, op, args, READS.has(op) ? READ_TIMEOUT_MS : ACTION_TIMEOUT_MS));
  }

  private async listening(): Promise<void> {
    const listening = await within(this.subscribed, 5000, false);
    if (!listening) throw redisProblem(new Error('not subscribed to the fleet\'s channels yet'), this.fleet.url, this.sub);
  }

  private runners(): Promise<Runners> {
    return this.io(() => readRunners(this.redis, this.keys));
  }

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.redis, prefix: this.keys.bull });
      queue.on('error', () => undefined);
      this.queues.set(name, queue);
    }
    return queue;
  }

  private async scanIds(key: string, prefix: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, items] = await this.redis.zscan(key, cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (let i = 0; i < items.length; i += 2) found.push(items[i]!);
    } while (cursor !== '0');
    return found;
  }

  private async scanKeys(pattern: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
    return found;
  }

  /** Resolves when one of the jobs changes, after `ms`, or when aborted. */
  private nextChange(ids: string[], ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const listener = (id: string) => {
        if (ids.includes(id)) done();
      };
      const timer = setTimeout(done, Math.max(ms, 0));
      this.listeners.add(listener);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Redis failures as errors a caller can act on; engine errors pass through. */
  private async io<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof ToolError) throw err;
      throw redisProblem(err, this.fleet.url, this.redis);
    }
  }
}

type Runners = Awaited<ReturnType<typeof readRunners>>;
