/**
 * Runners on many machines through BullMQ on a real Redis (Debian's redis-server, started here on a
 * free loopback port). Two runner processes with their own state directories stand for two
 * machines; the front end is the MCP server (or the command line) with CODEX_ASYNC_REDIS_URL set.
 * Every job runs the real codex against the Responses mock.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it as test } from 'node:test';
import { cliIn, isLivePid, ROOT, runProcess, jobProcessesOnMachine, killQuietly, processesOfHome, SERVER_MAIN, startHarness, tempDir, until, waitFinal, type Harness } from './helpers/harness.ts';
import { Redis } from 'ioredis';
import { gitRepo } from './helpers/git.ts';
import { freePort, REDIS_MISSING, startRedis, type RedisServer } from './helpers/redis.ts';

/**
 * Holds (and heartbeats) of 15 s: long enough that a runner stalled by a loaded machine is not taken
 * for gone. The tests about a runner's death use 3 s, so it shows within seconds.
 */
const LOCK_MS = '15000';
const SHORT_LOCK = { CODEX_ASYNC_FLEET_LOCK_MS: '3000' };

/** A test that hangs fails within minutes instead of holding CI to its limit. */
const it = (name: string, fn: () => Promise<void>) => test(name, { timeout: 300_000 }, fn);

interface Runner {
  name: string;
  home: string;
  process: ChildProcess;
  stderr: () => string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

describe('fleet: runners on two machines through Redis', { skip: REDIS_MISSING }, () => {
  let redis: RedisServer;
  let h: Harness;
  const runners: Runner[] = [];
  const homes = new Map<string, string>();

  before(async () => {
    redis = await startRedis();
    h = await startHarness();
  });
  after(async () => {
    await Promise.all(runners.map((r) => r.stop('SIGKILL')));
    for (const home of homes.values()) for (const pid of processesOfHome(home)) killQuietly(pid);
    await h.close();
    await redis.stop();
  });
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop('SIGKILL')));
    const client = new Redis(redis.url);
    await client.flushall();
    client.disconnect();
  });

  const fleetEnv = (extra: Record<string, string> = {}) => h.env({ CODEX_ASYNC_REDIS_URL: redis.url, CODEX_ASYNC_FLEET_LOCK_MS: LOCK_MS, ...extra });

  /** A runner "machine": its own state directory, kept across restarts of the same name. */
  async function startRunner(name: string, args: string[] = [], extra: Record<string, string> = {}): Promise<Runner> {
    if (!homes.has(name)) homes.set(name, path.join(tempDir(`runner-${name}`), 'state'));
    const home = homes.get(name)!;
    const child = spawn(process.execPath, [SERVER_MAIN, 'runner', ...args], { env: fleetEnv({ CODEX_ASYNC_HOME: home, ...extra }), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const runner: Runner = {
      name,
      home,
      process: child,
      stderr: () => stderr,
      async stop(signal = 'SIGTERM') {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        await exited;
      },
    };
    runners.push(runner);
    await until(`runner ${name} to join the fleet (stderr: ${stderr})`, () => / serving /.test(stderr) || child.exitCode !== null, 30_000);
    assert.equal(child.exitCode, null, `runner ${name} exited: ${stderr}`);
    return runner;
  }

  const front = (extra: Record<string, string> = {}) => h.connect({ CODEX_ASYNC_REDIS_URL: redis.url, CODEX_ASYNC_HOME: path.join(tempDir('front'), 'state'), ...extra });

  const runnerIdOf = (r: Runner) => fs.readFileSync(path.join(r.home, 'runner-id'), 'utf8').trim();

  const promptsSeen = (text: string) => h.mock.requests.filter((r) => !r.followUp && r.prompt.includes(text)).length;

  it('runs jobs through both runners and brings every result back', async () => {
    const a = await startRunner('a', ['--concurrency', '1']);
    const b = await startRunner('b', ['--concurrency', '1']);
    const conn = await front();
    const cwd = h.workdir();
    const tags = ['one', 'two', 'three', 'four'].map((t) => `fleet-round-${t}-${Date.now()}`);
    const started = [];
    for (const tag of tags) started.push(await conn.call('codex_start', { prompt: `${tag} [[slow:1500]]`, cwd }));
    for (const s of started) assert.equal(s.status, 'queued');
    const done = await Promise.all(started.map((s) => waitFinal(conn, s.job_id)));
    for (const [i, d] of done.entries()) {
      assert.equal(d.status, 'completed', JSON.stringify(d.error));
      assert.match(d.last_message, new RegExp(`mock answer: ${tags[i]}`));
      const r = await conn.call('codex_result', { job_id: d.job_id });
      assert.match(r.final_message, new RegExp(tags[i]!));
    }
    const ranOn = new Set(done.map((d) => d.runner.split(' ')[0]));
    assert.deepEqual([...ranOn].sort(), [runnerIdOf(a), runnerIdOf(b)].sort(), 'both runners took jobs');
    for (const tag of tags) assert.equal(promptsSeen(tag), 1, `${tag} ran once`);
    const listed = await conn.call('codex_list', { limit: 10 });
    assert.deepEqual(new Set(listed.jobs.map((j: any) => j.job_id)), new Set(done.map((d) => d.job_id)));
    const first = await conn.call('codex_list', { limit: 3 });
    const rest = await conn.call('codex_list', { limit: 3, cursor: first.next_cursor });
    assert.deepEqual([...first.jobs, ...rest.jobs].map((j: any) => j.job_id), listed.jobs.map((j: any) => j.job_id), 'pages follow on');
    assert.equal(rest.next_cursor, null);
    // The command line is a front end too.
    const ls = await cliIn(fleetEnv({ CODEX_ASYNC_HOME: path.join(tempDir('cli'), 'state') }), ['ls', '--json']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.equal(JSON.parse(ls.stdout).length, 4);
    const show = await cliIn(fleetEnv({ CODEX_ASYNC_HOME: path.join(tempDir('cli'), 'state') }), ['result', done[0].job_id]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, new RegExp(tags[0]!));
    await conn.close();
  });

  it('ends a fleet command as soon as its work is done: no timer of the fleet keeps it alive after close', async () => {
    await startRunner('a', ['--concurrency', '1']);
    const conn = await front();
    const s = await conn.call('codex_start', { prompt: 'fleet-close', cwd: h.workdir() });
    assert.equal((await waitFinal(conn, s.job_id)).status, 'completed');
    await conn.close();
    // The client's closing waited up to 2 s (and a request up to 5 s) on timers left running: every
    // command lingered that long after its output. The fixture lists such timers firing after close.
    const ran = await runProcess(process.execPath, [path.join(ROOT, 'test/fixtures/fleet-close.mjs'), s.job_id], fleetEnv({ CODEX_ASYNC_HOME: path.join(tempDir('cli'), 'state') }));
    assert.equal(ran.code, 0, ran.stderr);
    assert.deepEqual(JSON.parse(ran.stdout), []);
  });

  it('holds the fleet-wide limit across runners', async () => {
    await startRunner('a', ['--concurrency', '2'], { CODEX_ASYNC_FLEET_MAX: '1' });
    await startRunner('b', ['--concurrency', '2'], { CODEX_ASYNC_FLEET_MAX: '1' });
    const conn = await front();
    const cwd = h.workdir();
    const started = [];
    for (let i = 0; i < 4; i++) started.push(await conn.call('codex_start', { prompt: `fleet-limit-${i} [[slow:800]]`, cwd }));
    const done = await Promise.all(started.map((s) => waitFinal(conn, s.job_id)));
    for (const d of done) assert.equal(d.status, 'completed', JSON.stringify(d.error));
    // One at a time across both machines: no two jobs' run times overlap.
    const spans = done.map((d) => [Date.parse(d.started_at), Date.parse(d.finished_at)] as const).sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < spans.length; i++) assert.ok(spans[i]![0] >= spans[i - 1]![1], `job ${i} started before job ${i - 1} ended: ${JSON.stringify(spans)}`);
    await conn.close();
  });

  it('cancels a job running on the other runner and ends its processes', async () => {
    const a = await startRunner('a', ['--concurrency', '1']);
    const conn = await front();
    const s = await conn.call('codex_start', { prompt: 'fleet-cancel [[hang]]', cwd: h.workdir() });
    await until('the job to run on runner a', async () => (await conn.call('codex_poll', { job_id: s.job_id, tail_lines: 0 })).status === 'running', 60_000);
    await until('codex to reach the model', () => promptsSeen('fleet-cancel') > 0, 60_000);
    assert.ok(jobProcessesOnMachine(s.job_id).length > 0);
    const cancelled = await conn.call('codex_cancel', { job_id: s.job_id });
    assert.equal(cancelled.status, 'cancelled');
    assert.match(cancelled.runner, new RegExp(runnerIdOf(a)));
    assert.deepEqual(jobProcessesOnMachine(s.job_id), []);
    await conn.close();
  });

  it('keeps the job of a runner that died running, shown unreachable, never runs it twice, and takes it back when it restarts', async () => {
    const a = await startRunner('a', ['--concurrency', '1'], SHORT_LOCK);
    const conn = await front(SHORT_LOCK);
    const tag = `fleet-kill-${Date.now()}`;
    const s = await conn.call('codex_start', { prompt: `${tag} [[slow:12000]]`, cwd: h.workdir() });
    await until('codex to reach the model', () => promptsSeen(tag) > 0, 60_000);
    const b = await startRunner('b', ['--concurrency', '1'], SHORT_LOCK);
    await a.stop('SIGKILL');
    // Not given up (CODEX_ASYNC_FLEET_LOST_AFTER is 10 min): running, with the runner's absence shown.
    const away = await until(
      'the runner to be shown unreachable',
      async () => {
        const p = await conn.call('codex_poll', { job_id: s.job_id, tail_lines: 0 });
        return p.runner_unreachable_since ? p : null;
      },
      30_000,
      200,
    );
    assert.equal(away.status, 'running');
    assert.ok(Date.parse(away.runner_unreachable_since) > 0, away.runner_unreachable_since);
    assert.match(away.runner, new RegExp(runnerIdOf(a)));
    const waited = await conn.call('codex_wait', { job_ids: [s.job_id], timeout_seconds: 1 });
    assert.deepEqual([waited.finished, waited.pending], [[], [s.job_id]], 'codex_wait never returns it as finished');
    // Long enough for BullMQ to find the hold stalled and give the job to runner b, which must refuse it.
    await new Promise((r) => setTimeout(r, 2 * Number(SHORT_LOCK.CODEX_ASYNC_FLEET_LOCK_MS) + 1000));
    assert.equal(promptsSeen(tag), 1, 'the job ran once');
    assert.equal((await conn.call('codex_poll', { job_id: s.job_id, tail_lines: 0 })).status, 'running');
    await startRunner('a', ['--concurrency', '1'], SHORT_LOCK);
    const done = await waitFinal(conn, s.job_id, 90);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.match(done.last_message, new RegExp(tag));
    assert.ok(!done.runner_unreachable_since, 'the runner is back');
    assert.equal(promptsSeen(tag), 1, 'taken back, not run again');
    assert.ok(isLivePid(b.process.pid!));
    await conn.close();
  });

  it('a final status never changes: a paused runner\'s job stays running until lost-after, then lost for good with its late outcome beside it', async () => {
    const a = await startRunner('paused', ['--concurrency', '1'], SHORT_LOCK);
    const id = runnerIdOf(a);
    const LOST_AFTER = { ...SHORT_LOCK, CODEX_ASYNC_FLEET_LOST_AFTER: '6' };
    const patient = await front(SHORT_LOCK);
    const strict = await front(LOST_AFTER);
    const client = new Redis(redis.url);
    const heartbeatGone = () => until('the paused runner\'s heartbeat to expire', async () => (await client.exists(`cam:runner:${id}`)) === 0, 60_000, 200);
    try {
      // Paused past its heartbeat, back before lost-after: running throughout, then its true outcome.
      const first = await patient.call('codex_start', { prompt: 'fleet-paused-one [[slow:3000]]', cwd: h.workdir() });
      await until('codex to reach the model', () => promptsSeen('fleet-paused-one') > 0, 60_000);
      a.process.kill('SIGSTOP');
      await heartbeatGone();
      const away = await patient.call('codex_poll', { job_id: first.job_id, tail_lines: 0 });
      assert.equal(away.status, 'running');
      assert.ok(Date.parse(away.runner_unreachable_since) > 0);
      const listed = await cliIn(fleetEnv({ ...SHORT_LOCK, CODEX_ASYNC_HOME: path.join(tempDir('cli'), 'state') }), ['ls']);
      assert.match(listed.stdout, new RegExp(`running .*${id} \\(away\\)`));
      assert.equal((await patient.call('codex_wait', { job_ids: [first.job_id], timeout_seconds: 1 })).finished.length, 0);
      a.process.kill('SIGCONT');
      const done = await waitFinal(patient, first.job_id);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));

      // Paused past lost-after: failed (lost), final; back, it finishes the job, which stays failed.
      const second = await patient.call('codex_start', { prompt: 'fleet-paused-two [[slow:2000]]', cwd: h.workdir() });
      await until('codex to reach the model', () => promptsSeen('fleet-paused-two') > 0, 60_000);
      a.process.kill('SIGSTOP');
      await heartbeatGone();
      const waited = await strict.call('codex_wait', { job_ids: [second.job_id], timeout_seconds: 60 });
      assert.equal(waited.finished.length, 1, JSON.stringify(waited));
      const lost = waited.finished[0];
      assert.equal(lost.status, 'failed');
      assert.equal(lost.error.kind, 'lost');
      assert.match(lost.error.message, new RegExp(`runner ${id} .*given up as lost.*codex_start`));
      assert.equal(lost.late_outcome, null);
      a.process.kill('SIGCONT');
      const late = await until(
        'the runner to record how the job really ended',
        async () => {
          const p = await patient.call('codex_poll', { job_id: second.job_id, tail_lines: 0 });
          return p.late_outcome ? p : null;
        },
        60_000,
        200,
      );
      assert.equal(late.status, 'failed', 'the final status did not change');
      assert.equal(late.error.kind, 'lost');
      assert.equal(late.late_outcome.status, 'completed');
      assert.match(late.late_outcome.final_message, /fleet-paused-two/);
      assert.equal(late.runner_unreachable_since, null, 'the runner is back');
      const result = await strict.call('codex_result', { job_id: second.job_id });
      assert.deepEqual([result.status, result.error.kind, result.late_outcome.status], ['failed', 'lost', 'completed']);
      assert.equal(promptsSeen('fleet-paused-two'), 1);
      // A person is told the command, not the tool.
      const show = await cliIn(fleetEnv({ ...SHORT_LOCK, CODEX_ASYNC_HOME: path.join(tempDir('cli'), 'state') }), ['show', second.job_id]);
      assert.equal(show.code, 0, show.stderr);
      assert.match(show.stdout, /error\s+lost: .*start it anew with `codex-async-mcp run`/);
      assert.doesNotMatch(show.stdout, /codex_start/);
      assert.match(show.stdout, /late\s+completed at /);
    } finally {
      a.process.kill('SIGCONT');
      client.disconnect();
      await patient.close();
      await strict.close();
    }
  });

  it('cancels a job given up as lost on its runner once that is back, its status unchanged', async () => {
    const a = await startRunner('paused', ['--concurrency', '1'], SHORT_LOCK);
    const id = runnerIdOf(a);
    const strict = await front({ ...SHORT_LOCK, CODEX_ASYNC_FLEET_LOST_AFTER: '6' });
    const client = new Redis(redis.url);
    try {
      const s = await strict.call('codex_start', { prompt: 'fleet-late-cancel [[hang]]', cwd: h.workdir() });
      await until('codex to reach the model', () => promptsSeen('fleet-late-cancel') > 0, 60_000);
      a.process.kill('SIGSTOP');
      const lost = await waitFinal(strict, s.job_id, 90);
      assert.deepEqual([lost.status, lost.error?.kind], ['failed', 'lost']);
      a.process.kill('SIGCONT');
      await until('the runner to be back', async () => (await client.exists(`cam:runner:${id}`)) === 1, 60_000, 200);
      assert.ok(jobProcessesOnMachine(s.job_id).length > 0, 'the job still runs on its machine');
      const cancelled = await strict.call('codex_cancel', { job_id: s.job_id });
      assert.deepEqual([cancelled.status, cancelled.error?.kind], ['failed', 'lost']);
      assert.deepEqual(jobProcessesOnMachine(s.job_id), []);
      const late = await until('the cancel to be recorded beside the verdict', async () => {
        const p = await strict.call('codex_poll', { job_id: s.job_id, tail_lines: 0 });
        return p.late_outcome ? p : null;
      });
      assert.equal(late.status, 'failed');
      assert.equal(late.late_outcome.status, 'cancelled');
    } finally {
      a.process.kill('SIGCONT');
      client.disconnect();
      await strict.close();
    }
  });

  it('refuses a second runner over the same home while the first lives, even paused past its heartbeat', async () => {
    const first = await startRunner('one-home', ['--concurrency', '1'], SHORT_LOCK);
    const id = runnerIdOf(first);
    const client = new Redis(redis.url);
    try {
      // Paused past its heartbeat: Redis no longer shows it alive, but the process and its lock live.
      first.process.kill('SIGSTOP');
      await until('the paused runner\'s heartbeat to expire', async () => (await client.exists(`cam:runner:${id}`)) === 0, 60_000, 200);
      const second = spawn(process.execPath, [SERVER_MAIN, 'runner'], { env: fleetEnv({ CODEX_ASYNC_HOME: first.home, ...SHORT_LOCK }), stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      second.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((resolve) => {
        second.once('exit', (c) => resolve(c));
        // On the old code it joined as the same runner: stopped here so the test fails rather than hangs.
        void until('the second runner to exit or join', () => / serving /.test(stderr), 60_000).then(() => second.kill('SIGKILL'), () => undefined);
      });
      assert.notEqual(code, 0, stderr);
      assert.match(stderr, new RegExp(`a runner already runs over ${first.home} \\(pid ${first.process.pid}\\)`));
      // Woken, the first runner carries on.
      first.process.kill('SIGCONT');
      const conn = await front();
      const s = await conn.call('codex_start', { prompt: 'fleet-one-home', cwd: h.workdir() });
      const done = await waitFinal(conn, s.job_id);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.match(done.runner, new RegExp(id));
      await conn.close();
    } finally {
      first.process.kill('SIGCONT');
      client.disconnect();
    }
    // Its death releases the home: the next runner there starts (the same runner id).
    await first.stop('SIGKILL');
    const next = await startRunner('one-home', ['--concurrency', '1'], SHORT_LOCK);
    assert.equal(runnerIdOf(next), id);
  });

  it('runs a job elsewhere when the runner that took it stopped before beginning it', async () => {
    const a = await startRunner('a', ['--concurrency', '1'], { ...SHORT_LOCK, CODEX_ASYNC_TEST_PAUSE: 'fleet-take' });
    const conn = await front();
    const tag = `fleet-untaken-${Date.now()}`;
    const s = await conn.call('codex_start', { prompt: tag, cwd: h.workdir() });
    await until('runner a to stop holding the job', () => /^\d+ \(.*\) T /.test(fs.readFileSync(`/proc/${a.process.pid}/stat`, 'utf8')), 30_000);
    await a.stop('SIGKILL');
    const b = await startRunner('b', ['--concurrency', '1'], SHORT_LOCK);
    const done = await waitFinal(conn, s.job_id, 90);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.match(done.runner, new RegExp(runnerIdOf(b)));
    assert.equal(promptsSeen(tag), 1);
    await conn.close();
  });

  it('begins a job when the runner that claimed it comes back, having stopped before it began', async () => {
    const a = await startRunner('claimer', ['--concurrency', '1'], { ...SHORT_LOCK, CODEX_ASYNC_TEST_PAUSE: 'fleet-claimed' });
    const conn = await front();
    const tag = `fleet-claimed-${Date.now()}`;
    const s = await conn.call('codex_start', { prompt: tag, cwd: h.workdir() });
    await until('runner a to stop after its claim', () => /^\d+ \(.*\) T /.test(fs.readFileSync(`/proc/${a.process.pid}/stat`, 'utf8')), 30_000);
    await a.stop('SIGKILL');
    // Nobody else may run it (it is claimed); the runner that claimed it, back, knows it never began it.
    const b = await startRunner('b', ['--concurrency', '1'], SHORT_LOCK);
    await new Promise((r) => setTimeout(r, 2 * Number(SHORT_LOCK.CODEX_ASYNC_FLEET_LOCK_MS) + 1000));
    assert.equal(promptsSeen(tag), 0);
    await startRunner('claimer', ['--concurrency', '1'], SHORT_LOCK);
    const done = await waitFinal(conn, s.job_id, 90);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.match(done.runner, new RegExp(runnerIdOf(a)));
    assert.equal(promptsSeen(tag), 1);
    assert.ok(isLivePid(b.process.pid!));
    await conn.close();
  });

  it('never begins a job given up as lost while the runner that claimed it was away', async () => {
    const a = await startRunner('claimer', ['--concurrency', '1'], { ...SHORT_LOCK, CODEX_ASYNC_TEST_PAUSE: 'fleet-claimed' });
    const strict = await front({ ...SHORT_LOCK, CODEX_ASYNC_FLEET_LOST_AFTER: '6' });
    const tag = `fleet-given-up-${Date.now()}`;
    const s = await strict.call('codex_start', { prompt: tag, cwd: h.workdir() });
    await until('runner a to stop after its claim', () => /^\d+ \(.*\) T /.test(fs.readFileSync(`/proc/${a.process.pid}/stat`, 'utf8')), 30_000);
    await a.stop('SIGKILL');
    const lost = await waitFinal(strict, s.job_id, 90);
    assert.deepEqual([lost.status, lost.error?.kind], ['failed', 'lost']);
    // Back, the runner would begin a claimed job its store lacks; given up, whoever read it may have started it anew.
    const back = await startRunner('claimer', ['--concurrency', '1'], SHORT_LOCK);
    await until('the runner to let the start go', () => new RegExp(`not beginning ${s.job_id}`).test(back.stderr()), 60_000);
    assert.equal(promptsSeen(tag), 0);
    const after = await strict.call('codex_poll', { job_id: s.job_id, tail_lines: 0 });
    assert.deepEqual([after.status, after.error?.kind], ['failed', 'lost']);
    await strict.close();
  });

  it('routes jobs by runner labels and waits for a runner that has the agent', async () => {
    // Neither runner has Claude Code (npm test puts node_modules/.bin, with claude, on PATH).
    const noClaude = { CLAUDE_BIN: '/nonexistent/claude' };
    const plain = await startRunner('a', ['--concurrency', '2'], noClaude);
    const gpu = await startRunner('b', ['--concurrency', '2', '--labels', 'gpu,linux'], noClaude);
    const conn = await front();
    const cwd = h.workdir();
    const onGpu = await conn.call('codex_start', { prompt: 'fleet-label-gpu', cwd, runner_labels: ['gpu'] });
    const onBoth = await conn.call('codex_start', { prompt: 'fleet-label-both', cwd, runner_labels: ['linux', 'gpu'] });
    const nowhere = await conn.call('codex_start', { prompt: 'fleet-label-tpu', cwd, runner_labels: ['tpu'] });
    for (const s of [onGpu, onBoth]) {
      const done = await waitFinal(conn, s.job_id);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.match(done.runner, new RegExp(runnerIdOf(gpu)));
    }
    // No runner has "tpu": the job waits in its queue, and cancelling it there means it never runs.
    const waitingTpu = await conn.call('codex_poll', { job_id: nowhere.job_id });
    assert.equal(waitingTpu.status, 'queued');
    assert.match(waitingTpu.progress.current, /waiting for a runner with labels tpu: none has been seen/);
    const cancelled = await conn.call('codex_cancel', { job_id: nowhere.job_id });
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(promptsSeen('fleet-label-tpu'), 0);
    const bad = await conn.raw('codex_start', { prompt: 'x', cwd, runner_labels: ['GPU!'] });
    assert.equal(bad.isError, true);
    assert.match(bad.content[0].text, /lowercase letters/);
    // No runner has Claude Code: the job waits, saying for what.
    const claude = await conn.call('codex_start', { prompt: 'fleet-claude', cwd, agent: 'claude' });
    const waiting = await until('the job to say what it waits for', async () => {
      const p = await conn.call('codex_poll', { job_id: claude.job_id });
      return p.progress.current?.includes('waiting for a runner with claude') ? p : null;
    });
    assert.equal(waiting.status, 'queued');
    await conn.call('codex_cancel', { job_id: claude.job_id });
    assert.ok(isLivePid(plain.process.pid!));
    await conn.close();
  });

  it('shows the fleet in top and doctor, and gc deletes finished jobs on every runner and in Redis', async () => {
    // Machines of their own: gc deletes every finished job a runner has.
    const a = await startRunner('gc-a', ['--concurrency', '1', '--labels', 'cpu']);
    const b = await startRunner('gc-b', ['--concurrency', '1', '--labels', 'gpu']);
    const conn = await front();
    const one = await conn.call('codex_start', { prompt: 'fleet-gc-one', cwd: h.workdir(), runner_labels: ['cpu'] });
    const two = await conn.call('codex_start', { prompt: 'fleet-gc-two', cwd: h.workdir(), runner_labels: ['gpu'] });
    for (const s of [one, two]) assert.equal((await waitFinal(conn, s.job_id)).status, 'completed');
    const cli = fleetEnv({ CODEX_ASYNC_HOME: path.join(tempDir('cli'), 'state') });
    const top = await cliIn(cli, ['top', '--once', '--json']);
    assert.equal(top.code, 0, top.stderr);
    assert.deepEqual(JSON.parse(top.stdout).runners.alive.map((r: any) => r.id).sort(), [runnerIdOf(a), runnerIdOf(b)].sort());
    const topText = await cliIn(cli, ['top', '--once']);
    assert.match(topText.stdout, new RegExp(`runner ${runnerIdOf(b)} on .* 0/1 jobs  labels gpu`));
    assert.ok(fs.readdirSync(path.join(a.home, 'jobs')).includes(one.job_id));
    const gc = await cliIn(cli, ['gc', '--older-than', '0s', '--json']);
    assert.equal(gc.code, 0, gc.stderr);
    assert.deepEqual(JSON.parse(gc.stdout).deleted.sort(), [one.job_id, two.job_id].sort());
    assert.equal(fs.existsSync(path.join(a.home, 'jobs', one.job_id)), false);
    assert.equal(fs.existsSync(path.join(b.home, 'jobs', two.job_id)), false);
    assert.deepEqual((await conn.call('codex_list', {})).jobs, []);
    await conn.close();
  });

  it('reviews a worktree job through the fleet: diff, apply where the worktree lives, logs -f and show', async () => {
    const a = await startRunner('a', ['--concurrency', '1']);
    const conn = await front();
    const repo = gitRepo({ 'README.md': '# demo\n' });
    const s = await conn.call('codex_start', { prompt: "[[shell:printf 'from the fleet\\n' > f.txt]] write it", cwd: repo, sandbox: 'workspace-write', isolation: 'worktree' });
    const cli = fleetEnv({ CODEX_ASYNC_HOME: path.join(tempDir('cli'), 'state') });
    // logs -f from another machine follows the job to its end through its runner.
    const followed = await cliIn(cli, ['logs', '-f', s.job_id]);
    assert.equal(followed.code, 0, followed.stderr);
    assert.match(followed.stdout, /\$ .*printf 'from the fleet/);
    assert.match(followed.stdout, new RegExp(`— job ${s.job_id} completed\\n$`));
    const done = await waitFinal(conn, s.job_id);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.ok(done.workspace.path.startsWith(a.home), 'the worktree is on the runner');
    const diff = await conn.call('codex_diff', { job_id: s.job_id });
    assert.deepEqual(diff.files.map((f: any) => [f.path, f.status]), [['f.txt', 'added']]);
    assert.match(diff.patch, /\+from the fleet/);
    assert.equal((await conn.call('codex_apply', { job_id: s.job_id })).applied, true);
    assert.equal(fs.readFileSync(path.join(repo, 'f.txt'), 'utf8'), 'from the fleet\n');
    const show = await cliIn(cli, ['show', s.job_id]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, new RegExp(`runner\\s+${runnerIdOf(a)} on `));
    await conn.close();
  });

  it('routes a reply to the runner that holds the session', async () => {
    const a = await startRunner('a', ['--concurrency', '1']);
    const conn = await front();
    const first = await conn.call('codex_start', { prompt: 'fleet-reply-first', cwd: h.workdir() });
    const firstDone = await waitFinal(conn, first.job_id);
    assert.equal(firstDone.status, 'completed');
    const b = await startRunner('b', ['--concurrency', '1']);
    const reply = await conn.call('codex_reply', { job_id: first.job_id, prompt: 'fleet-reply-second [[recall]]' });
    const done = await waitFinal(conn, reply.job_id);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.match(done.runner, new RegExp(runnerIdOf(a)));
    assert.match(done.last_message, /fleet-reply-first/, 'the model saw the earlier turn');
    // With that runner gone, a reply says where the session is instead of starting elsewhere.
    await a.stop('SIGTERM');
    const refused = await conn.raw('codex_reply', { job_id: first.job_id, prompt: 'again' });
    assert.equal(refused.isError, true);
    assert.match(refused.content[0].text, new RegExp(`runner_unavailable: runner ${runnerIdOf(a)}.*not connected`));
    // A session started outside the fleet is on one machine the fleet cannot know.
    const byThread = await conn.raw('codex_reply', { thread_id: done.thread_id, cwd: h.workdir(), prompt: 'again' });
    assert.equal(byThread.isError, true);
    assert.match(byThread.content[0].text, /continue a job by its job_id/);
    assert.ok(isLivePid(b.process.pid!));
    await conn.close();
  });

  it('survives Redis restarting mid-run: the running job is recorded again, the queued one reported', async () => {
    await startRunner('a', ['--concurrency', '1']);
    const conn = await front();
    const tag = `fleet-redis-${Date.now()}`;
    const earlier = await conn.call('codex_start', { prompt: `${tag}-earlier`, cwd: h.workdir() });
    assert.equal((await waitFinal(conn, earlier.job_id)).status, 'completed');
    const running = await conn.call('codex_start', { prompt: `${tag} [[slow:6000]]`, cwd: h.workdir() });
    const queued = await conn.call('codex_start', { prompt: `${tag}-queued`, cwd: h.workdir() });
    await until('codex to reach the model', () => promptsSeen(tag) > 0, 60_000);
    await redis.restart();
    const done = await waitFinal(conn, running.job_id, 90);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.match(done.last_message, new RegExp(tag));
    // A job that finished before the loss is recorded again too: its result is still there.
    const result = await conn.call('codex_result', { job_id: earlier.job_id });
    assert.match(result.final_message, new RegExp(`${tag}-earlier`));
    const gone = await conn.raw('codex_poll', { job_id: queued.job_id });
    assert.equal(gone.isError, true);
    assert.match(gone.content[0].text, /no longer has job .*none of them had begun it/);
    await conn.close();
  });

  it('refuses a front end and a runner with the wrong password, and says when Redis cannot be reached', async () => {
    const closed = await freePort();
    const away = await front({ CODEX_ASYNC_REDIS_URL: `redis://127.0.0.1:${closed}` });
    const down = await away.raw('codex_list', {});
    assert.equal(down.isError, true);
    assert.match(down.content[0].text, new RegExp(`cannot reach the fleet's Redis at redis://127.0.0.1:${closed}.*ECONNREFUSED`));
    // Redis comes up later: the same server hears its runners (a cancel is a request and its answer).
    const late = await startRedis({ port: closed });
    try {
      await startRunner('late', ['--concurrency', '1'], { CODEX_ASYNC_REDIS_URL: late.url });
      const s = await away.call('codex_start', { prompt: 'fleet-late [[hang]]', cwd: h.workdir() });
      await until('the job to run', async () => (await away.call('codex_poll', { job_id: s.job_id, tail_lines: 0 })).status === 'running', 60_000);
      assert.equal((await away.call('codex_cancel', { job_id: s.job_id })).status, 'cancelled');
    } finally {
      await away.close();
      await late.stop();
    }
    const locked = await startRedis({ password: 'right-password-123' });
    try {
      const wrong = locked.url.replace('right-password-123', 'wrong-password-456');
      const conn = await front({ CODEX_ASYNC_REDIS_URL: wrong });
      const r = await conn.raw('codex_start', { prompt: 'x', cwd: h.workdir() });
      assert.equal(r.isError, true);
      assert.match(r.content[0].text, /refused our credentials/);
      assert.doesNotMatch(r.content[0].text, /wrong-password-456/);
      await conn.close();
      const ran = await cliIn(fleetEnv({ CODEX_ASYNC_REDIS_URL: wrong, CODEX_ASYNC_HOME: path.join(tempDir('bad'), 'state') }), ['runner']);
      assert.notEqual(ran.code, 0);
      assert.match(ran.stderr, /refused our credentials/);
      assert.doesNotMatch(ran.stderr, /wrong-password-456/);
    } finally {
      await locked.stop();
    }
  });
});
