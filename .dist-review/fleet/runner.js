import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Job as BullJob, Queue, Worker } from 'bullmq';
import { Engine } from '../engine/engine.js';
import { ToolError } from '../errors.js';
import { isFinal } from '../jobs/states.js';
import { endedBeforeStart, parseRecord } from './records.js';
import { beatEvery, beatLasts, connect, Keys, redisProblem } from './redis.js';
import { serveRequest } from './rpc.js';
import { checkLabels, MAX_RUNNER_LABELS, queuesServed } from './shared.js';
/** How soon a job this runner lacks the agent for is offered again. */
const AGENT_RETRY_MS = 2000;
/**
 * One machine's runner: takes jobs from the fleet's queues and runs them with this machine's
 * Engine, whose store, supervision and worktrees are exactly those of a local server. What the
 * fleet needs to know (each job's record, this runner's heartbeat) it writes to Redis; what others
 * ask of its jobs arrives as requests on its channel (rpc.ts). It opens no port.
 */
export class FleetRunner {
    config;
    fleet;
    engine;
    opts;
    log;
    id;
    keys;
    redis;
    sub;
    workerConnection;
    workers = [];
    queues = [];
    held = new Map();
    /** Starts being taken right now, by first job id: a cancel arriving meanwhile waits for them. */
    taking = new Map();
    timers = [];
    startedAt = Date.now();
    stopWatching = () => undefined;
    wakeUp = () => undefined;
    epoch = null;
    agents = [];
    stopping = false;
    loop = Promise.resolve();
    constructor(config, fleet, engine, opts, log) {
        this.config = config;
        this.fleet = fleet;
        this.engine = engine;
        this.opts = opts;
        this.log = log;
        this.id = runnerId(config.home);
        this.keys = new Keys(fleet.prefix);
        this.redis = connect(fleet.url, { blocking: true, name: `codex-async-mcp runner ${this.id}` });
        this.sub = connect(fleet.url, { blocking: true, name: `codex-async-mcp runner ${this.id} (subscriber)` });
        this.workerConnection = connect(fleet.url, { blocking: true, name: `codex-async-mcp runner ${this.id} (queues)` });
    }
    /** Opens the local engine, checks Redis and joins the fleet; throws a ToolError a person can act on. */
    static async start(config, opts, log) {
        checkLabels(opts.labels, MAX_RUNNER_LABELS);
        // The local engine must never hold back a job the runner took: the runner keeps its own limit.
        const engine = Engine.open({ ...config, maxConcurrent: Math.max(config.maxConcurrent, opts.concurrency) }, log);
        const runner = new FleetRunner(config, config.fleet, engine, opts, log);
        try {
            await runner.join();
        }
        catch (err) {
            await runner.close();
            throw err instanceof ToolError ? err : redisProblem(err, config.fleet.url);
        }
        return runner;
    }
    async join() {
        await this.redis.ping();
        const other = await this.redis.get(this.keys.runner(this.id));
        if (other) {
            const info = JSON.parse(other);
            if (info.host === os.hostname() && info.pid !== process.pid && processAlive(info.pid)) {
                throw new ToolError('conflict', `runner ${this.id} already runs here (pid ${info.pid}) over ${this.config.home}: stop it first, or give this one another CODEX_ASYNC_HOME`);
            }
        }
        await this.engine.catchUp();
        this.agents = await this.engine.agentsFound();
        await this.beat();
        for (const name of queuesServed(this.opts.labels)) {
            const queue = new Queue(name, { connection: this.redis, prefix: this.keys.bull });
            queue.on('error', (err) => this.log('warn', `queue ${name}: ${err.message}`));
            if (this.fleet.max !== undefined)
                await queue.setGlobalConcurrency(this.fleet.max);
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
            void worker.startStalledCheckTimer().catch((err) => this.log('warn', `stalled check on ${name}: ${err.message}`));
        }
        this.sub.on('message', (channel, message) => {
            if (channel === this.keys.rpc(this.id))
                void serveRequest(this.redis, message, this.handlers(), (err) => this.log('warn', `request: ${err.message}`));
            else if (channel === this.keys.wake)
                this.wakeUp();
        });
        await this.sub.subscribe(this.keys.rpc(this.id), this.keys.wake);
        this.stopWatching = this.engine.watchAll((id) => void this.mirror(id).catch((err) => this.log('warn', `recording job ${id} in the fleet: ${err.message}`)));
        await this.takeBack();
        this.timers.push(setInterval(() => void this.beat().catch((err) => this.log('warn', `heartbeat: ${err.message}`)), beatEvery(this.fleet)));
        this.timers.push(setInterval(() => void this.renew(), Math.max(250, Math.floor(this.fleet.lockMs / 3))));
        this.loop = this.takeJobs();
        this.log('info', `runner ${this.id} on ${os.hostname()} serving ${queuesServed(this.opts.labels).join(', ')} with up to ${this.opts.concurrency} jobs`);
    }
    // ── taking jobs ──────────────────────────────────────────────────────────────────────────────
    /** While there is room, take the oldest job of any served queue; when none, sleep until woken. */
    async takeJobs() {
        let next = 0;
        while (!this.stopping) {
            let took = false;
            try {
                if (this.engine.unfinished().length + this.taking.size < this.opts.concurrency) {
                    for (let i = 0; i < this.workers.length && !took; i++) {
                        const worker = this.workers[(next + i) % this.workers.length];
                        const token = `${this.id}:${randomUUID()}`;
                        const job = (await worker.getNextJob(token, { block: false }));
                        if (job) {
                            took = true;
                            next = (next + i + 1) % this.workers.length;
                            const ids = job.data.ids;
                            const taking = this.take(job, token)
                                // Unforeseen: the start's lock lapses and BullMQ offers it again; the claim decides then.
                                .catch((err) => this.log('error', `taking ${ids.join(', ')}: ${err.stack ?? err.message}`))
                                .finally(() => this.taking.delete(ids[0]));
                            this.taking.set(ids[0], taking);
                        }
                    }
                }
            }
            catch (err) {
                this.log('warn', `taking a job: ${err.message}`);
            }
            if (!took)
                await this.idle(1000);
        }
    }
    idle(ms) {
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
    async take(bull, token) {
        const { ids, groupId, input } = bull.data;
        const first = ids[0];
        // Tests only: a runner stopped holding a job it has not begun (the job must then run elsewhere).
        if (this.config.testPause === 'fleet-take')
            process.kill(process.pid, 'SIGSTOP');
        const missing = (input.agents ?? [input.agent ?? 'codex']).filter((agent) => !this.agents.includes(agent));
        if (missing.length) {
            // Offered again shortly, to any runner: one that has the agent takes it.
            await bull.moveToDelayed(Date.now() + AGENT_RETRY_MS, token);
            await this.note(ids, `waiting for a runner with ${missing.join(' and ')} (runner ${this.id} on ${os.hostname()} has no ${missing.join(', ')})`);
            return;
        }
        const claimed = await this.redis.hsetnx(this.keys.job(first), 'runner', this.id);
        if (!claimed) {
            const owner = await this.redis.hget(this.keys.job(first), 'runner');
            if (owner === this.id && this.engine.unfinished().includes(first)) {
                this.hold({ bull, token, ids });
                return;
            }
            // Begun by another runner (alive but late renewing, or gone: readers then show it lost): never twice.
            await this.complete({ bull, token, ids }, { taken_by: owner });
            return;
        }
        const write = this.redis.multi();
        for (const id of ids)
            write.hset(this.keys.job(id), { runner: this.id, token, updated: Date.now() });
        if (groupId)
            write.hset(this.keys.group(groupId), 'runner', this.id);
        await write.exec();
        if ((await this.redis.hget(this.keys.job(first), 'cancel')) === '1') {
            await this.refuse(ids, 'cancelled', { kind: 'cancelled', message: 'cancelled before it started' });
            await this.complete({ bull, token, ids }, { cancelled: true });
            return;
        }
        try {
            await this.engine.start(input, { ids, groupId });
        }
        catch (err) {
            if (!(err instanceof ToolError))
                throw err;
            await this.refuse(ids, 'failed', { kind: 'spawn_error', message: `runner ${this.id} on ${os.hostname()} could not start it: ${err.message}` });
            await this.complete({ bull, token, ids }, { refused: err.message });
            return;
        }
        await Promise.all(ids.map((id) => this.mirror(id)));
        // A cancel that came while the job was being started found no job here to stop.
        if ((await this.redis.hget(this.keys.job(first), 'cancel')) === '1')
            await Promise.all(ids.map((id) => this.engine.cancel(id).catch(() => undefined)));
        this.hold({ bull, token, ids });
    }
    /** Keeps the BullMQ job (and its place under the fleet limit) until every job it carries is final. */
    hold(held) {
        this.held.set(held.ids[0], held);
        this.checkHeld(held.ids[0]);
    }
    checkHeld(first) {
        const held = this.held.get(first);
        if (!held)
            return;
        const done = held.ids.every((id) => {
            try {
                return isFinal(this.engine.poll(id, 0).status);
            }
            catch {
                return true;
            }
        });
        if (!done)
            return;
        this.held.delete(first);
        void this.complete(held, { ids: held.ids }).catch(() => undefined);
    }
    async complete(held, value) {
        try {
            await held.bull.moveToCompleted(value, held.token, false);
        }
        catch (err) {
            // The hold had lapsed (this runner was stopped longer than the lock): the job ran on regardless.
            this.log('info', `releasing ${held.ids.join(', ')} in the queue: ${err.message}`);
        }
        this.wakeUp();
    }
    /** Renews every hold; one that lapsed (Redis lost it, or the runner was paused) is let go. */
    async renew() {
        for (const [first, held] of this.held) {
            try {
                const renewed = await held.bull.extendLock(held.token, this.fleet.lockMs);
                if (!renewed)
                    this.held.delete(first);
            }
            catch {
                // Redis is away; the next round tries again.
            }
        }
    }
    /**
     * After a restart: every job this machine still runs is this runner's again. Its hold is renewed
     * if it has not lapsed; a lapsed one is re-queued by BullMQ and, taken by any runner, found begun.
     */
    async takeBack() {
        const unfinished = this.engine.unfinished();
        for (const id of unfinished) {
            await this.mirror(id);
            const rec = parseRecord(await this.redis.hgetall(this.keys.job(id)));
            if (!rec?.token || rec.bull !== id || this.held.has(id))
                continue;
            const queue = this.queues.find((q) => q.name === rec.queue);
            const bull = queue ? (await BullJob.fromId(queue, rec.bull)) : undefined;
            if (!bull)
                continue;
            if ((await bull.extendLock(rec.token, this.fleet.lockMs).catch(() => 0)) === 1)
                this.hold({ bull, token: rec.token, ids: bull.data.ids });
        }
        // Jobs that finished while the runner was away: their records still say running.
        for (const job of this.engine.list({ limit: 200 }).jobs) {
            if (!isFinal(job.status))
                continue;
            const status = await this.redis.hget(this.keys.job(job.job_id), 'status');
            if (status !== job.status)
                await this.mirror(job.job_id);
        }
    }
    // ── telling the fleet ────────────────────────────────────────────────────────────────────────
    /** Writes one job's record from this machine's store and tells every front end it changed. */
    async mirror(id) {
        let s;
        try {
            s = this.engine.poll(id, 0);
        }
        catch {
            return;
        }
        const final = isFinal(s.status);
        if (final)
            s = this.engine.poll(id, 100);
        s = { ...s, runner: this.id };
        const key = this.keys.job(id);
        const created = Date.parse(s.created_at);
        const write = this.redis.multi();
        write.hset(key, {
            id,
            created,
            runner: this.id,
            status: s.status,
            snapshot: JSON.stringify(s),
            updated: Date.now(),
            ...(final ? { result: JSON.stringify({ ...this.engine.result(id), runner: this.id }) } : {}),
        });
        // A reply made on this runner has no record from a front end: it gets the fields readers expect.
        write.hsetnx(key, 'queue', '');
        write.hsetnx(key, 'bull', '');
        write.zadd(this.keys.jobs, created, id);
        if (final && this.config.retentionMs)
            write.pexpire(key, this.config.retentionMs);
        // Written again with each attempt, so a Redis that lost its data gets its groups back too.
        if (s.group_id) {
            const attempts = (await this.engine.group(s.group_id)).attempts.map((a) => a.job_id);
            write.hset(this.keys.group(s.group_id), { ids: JSON.stringify(attempts), runner: this.id });
        }
        await write.exec();
        await this.redis.publish(this.keys.changes, id);
        if (final)
            for (const first of this.held.keys())
                this.checkHeld(first);
    }
    /** What a queued job is waiting for, shown as its current activity. */
    async note(ids, text) {
        for (const id of ids) {
            const rec = parseRecord(await this.redis.hgetall(this.keys.job(id)));
            if (!rec || rec.runner || rec.snapshot.progress.current === text)
                continue;
            await this.redis.hset(this.keys.job(id), 'snapshot', JSON.stringify({ ...rec.snapshot, progress: { ...rec.snapshot.progress, current: text } }));
            await this.redis.publish(this.keys.changes, id);
        }
    }
    async refuse(ids, status, error) {
        for (const id of ids) {
            const rec = parseRecord(await this.redis.hgetall(this.keys.job(id)));
            if (!rec)
                continue;
            const snapshot = { ...endedBeforeStart(rec.snapshot, status, error), runner: this.id };
            await this.redis.hset(this.keys.job(id), { status, snapshot: JSON.stringify(snapshot), updated: Date.now() });
            if (this.config.retentionMs)
                await this.redis.pexpire(this.keys.job(id), this.config.retentionMs);
            await this.redis.publish(this.keys.changes, id);
        }
    }
    async beat() {
        const info = {
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
        const json = JSON.stringify(info);
        await this.redis.multi().set(this.keys.runner(this.id), json, 'PX', beatLasts(this.fleet)).hset(this.keys.runnersSeen, this.id, json).exec();
        // Redis that lost its data (restarted without persistence) lost every record: write ours again.
        // (GET then SET NX rather than SET NX GET, which Redis 6.2 lacks.)
        let epoch = await this.redis.get(this.keys.epoch);
        if (epoch === null) {
            await this.redis.set(this.keys.epoch, randomBytes(8).toString('hex'), 'NX');
            epoch = await this.redis.get(this.keys.epoch);
        }
        if (this.epoch !== null && epoch !== this.epoch) {
            this.log('warn', "the fleet's Redis lost its data: recording this runner's jobs again");
            for (const queue of this.queues)
                if (this.fleet.max !== undefined)
                    await queue.setGlobalConcurrency(this.fleet.max);
            for (const id of this.engine.unfinished())
                await this.mirror(id);
        }
        this.epoch = epoch;
    }
    // ── requests from front ends ─────────────────────────────────────────────────────────────────
    handlers() {
        const e = this.engine;
        return {
            poll: (id, tail) => ({ ...e.poll(id, tail), runner: this.id }),
            activity: (id) => e.activity(id),
            rawEvents: (id, max) => e.rawEvents(id, max),
            eventLogSize: (id) => e.eventLogSize(id),
            readLog: (id, offset) => e.readLog(id, offset),
            cancel: async (id) => {
                await this.taking.get(id);
                const s = await e.cancel(id);
                await this.mirror(id);
                return { ...s, runner: this.id };
            },
            reply: async (input) => {
                const started = await e.reply(input);
                await Promise.all(started.job_ids.map((id) => this.mirror(id)));
                return started;
            },
            diff: (id, opts) => e.diff(id, opts),
            apply: (id, opts) => e.apply(id, opts),
            discard: (id) => e.discard(id),
            group: (id) => e.group(id),
            gc: async (opts) => {
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
    async close() {
        this.stopping = true;
        this.wakeUp();
        for (const timer of this.timers)
            clearInterval(timer);
        this.stopWatching();
        await this.loop.catch(() => undefined);
        await Promise.all([...this.taking.values()].map((p) => p.catch(() => undefined)));
        // The heartbeat is left to expire: a runner restarted within its life (a routine restart) never
        // shows its jobs as lost.
        await Promise.all(this.workers.map((w) => w.close(true).catch(() => undefined)));
        await Promise.all(this.queues.map((q) => q.close().catch(() => undefined)));
        this.sub.disconnect();
        this.workerConnection.disconnect();
        await this.redis.quit().catch(() => this.redis.disconnect());
        await this.engine.close();
    }
}
/** This state directory's runner id, made once: a restarted runner is the same runner to the fleet. */
function runnerId(home) {
    const file = path.join(home, 'runner-id');
    try {
        const id = fs.readFileSync(file, 'utf8').trim();
        if (/^r-[0-9a-f]{8}$/.test(id))
            return id;
    }
    catch {
        // First start: made below.
    }
    const id = `r-${randomBytes(4).toString('hex')}`;
    fs.mkdirSync(home, { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, `${id}\n`, { mode: 0o600 });
    return id;
}
function processAlive(pid) {
    try {
        process.kill(pid, 0);
        return true;
    }
    catch (err) {
        return err.code === 'EPERM';
    }
}
//# sourceMappingURL=runner.js.map