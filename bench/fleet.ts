/**
 * Issue 14: the fleet (front ends and runners through BullMQ on Redis) beside a local server. A private
 * redis-server (test/helpers/redis.ts), runner processes with their own state directories standing for
 * machines, and front ends that are MCP servers with CODEX_ASYNC_REDIS_URL set — all as a user runs them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { killQuietly, processesOfHome, SERVER_MAIN, tempDir, until, type Connection, type Harness } from '../test/helpers/harness.ts';
import { startRedis, type RedisServer } from '../test/helpers/redis.ts';
import type { FleetConfig } from '../src/config.ts';
import { beatLasts } from '../src/fleet/redis.ts';
import { newJobId } from '../src/jobs/ids.ts';
import { cpuAndWakeups, stats, timed, type Stat } from './lib.ts';

export const FLEET_HEADING = 'Fleet: BullMQ on Redis';

export const SLEEPY = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures/sleepy-codex.sh');
/** The key prefix runners and front ends use when CODEX_ASYNC_REDIS_PREFIX is unset. */
const PREFIX = 'cam';
/** The sleep of each throughput job, and the slots of each runner. */
export const JOB_SECONDS = 2;
/** How long a runner's heartbeat key lasts at the default CODEX_ASYNC_FLEET_LOCK_MS (30 s). */
const HEARTBEAT_TTL_MS = beatLasts({ lockMs: 30_000 } as FleetConfig);
export const SLOTS = 8;

const log = (line: string) => process.stdout.write(`${line}\n`);

export interface RunnerProcess {
  id: string;
  pid: number;
  home: string;
  stderr(): string;
  stop(): Promise<void>;
}

export interface FleetOptions {
  /** Runs per mode of the latency part (after one warm-up each). */
  runs?: number;
  /** Jobs per throughput run. */
  jobs?: number;
}

/**
 * The default sweep (the harness shortens it for tests) and no fleet-wide limit: a user's runner
 * and server. The environment is the harness's, so nothing of this machine's leaks in.
 */
export const userDefaults = { CODEX_ASYNC_SWEEP_MS: '1000' };

export async function fleetBench(h: Harness, opts: FleetOptions = {}): Promise<string[]> {
  const runs = opts.runs ?? 20;
  const jobs = opts.jobs ?? 200;
  const loadAtStart = os.loadavg();
  const began = performance.now();
  const redis = await startRedis();
  const runners: RunnerProcess[] = [];
  const connections: Connection[] = [];
  const admin = new Redis(redis.url);
  try {
    const front = async (extra: Record<string, string> = {}) => {
      const conn = await h.connect({ ...userDefaults, CODEX_ASYNC_REDIS_URL: redis.url, CODEX_ASYNC_HOME: path.join(tempDir('fleet-front'), 'state'), ...extra });
      connections.push(conn);
      return conn;
    };
    const runner = async (name: string, extra: Record<string, string> = {}, concurrency = SLOTS) => {
      const r = await startRunner(h, redis, name, concurrency, extra, {});
      runners.push(r);
      return r;
    };

    const redisVersion = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1] ?? '?';
    const latency = await fleetLatency(h, runs, front, runner);
    const sample = latency.lastFleetJob;
    await stopAll(runners, connections);

    const through = await throughput(h, jobs, front, runner, admin, redis.pid);
    await stopAll(runners, connections);

    const mem = await recordMemory(admin, sample);
    const warnings = [...new Set(runnerWarnings)];
    for (const w of warnings) log(`fleet: ${w}`);
    const loadAtEnd = os.loadavg();
    const avg = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');
    const command = process.argv.includes('--only') ? `npm run bench -- ${process.argv.slice(process.argv.indexOf('--only')).join(' ')}` : 'npm run bench';
    const row = (what: string, local: Stat, fleet: Stat) =>
      `| ${what} | ${local.p50.toFixed(1)} / ${local.p95.toFixed(1)} | ${fleet.p50.toFixed(1)} / ${fleet.p95.toFixed(1)} | ${(fleet.p50 - local.p50).toFixed(1)} ms |`;
    const rate = (t: { took: number }) => jobs / (t.took / 1000);
    const ratio = rate(through.two) / rate(through.one);
    const ideal = (slots: number) => (Math.ceil(jobs / slots) * JOB_SECONDS);
    const gap = (run: Run) => (run.maxBeatGap === null ? 'n/a' : `${(run.maxBeatGap / 1000).toFixed(1)} s`);
    const localRatio = rate(through.local2) / rate(through.local);
    const kb = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
    const pct = (run: Run, slots: number) => `${(((ideal(slots) * 1000) / run.took) * 100).toFixed(0)} %`;
    const tpRow = (what: string, run: Run, slots: number, per: string, cpuOf: string) =>
      `| ${what} | ${(run.took / 1000).toFixed(1)} s | ${rate(run).toFixed(2)} | ${ideal(slots)} s | ${pct(run, slots)} | ${per} | ${run.cpuPerJob.toFixed(0)} ms (${cpuOf}) |`;
    const minutes = ((performance.now() - began) / 60000).toFixed(1);
    log(`fleet bench took ${minutes} min`);
    return [
      `Measured ${new Date().toISOString().slice(0, 10)} with \`${command}\` (bench/fleet.ts, ${minutes} min) on ${os.cpus().length} cores shared with other work:`,
      `load average (1 / 5 / 15 min) ${avg(loadAtStart)} at the start, ${avg(loadAtEnd)} at the end. A private \`redis-server\``,
      `${redisVersion} on a loopback port (no persistence, the test helper's settings); each runner is a \`codex-async-mcp runner\``,
      'process with its own state directory (a machine), each front end an MCP server with `CODEX_ASYNC_REDIS_URL` set,',
      'driven through the MCP SDK client over stdio; runners and servers at the default 1 s sweep, `CODEX_ASYNC_FLEET_MAX` unset.',
      '',
      `**Latency** (${runs} runs per mode after one warm-up, local and fleet alternating, which goes first alternating too): the real`,
      'codex against the loopback mock, one job at a time, a 300 ms model answer so `codex_wait` is waiting before codex exits.',
      'Times at the MCP client, and from the job\'s files — in the fleet, the runner\'s state directory: `pid` (written as the',
      'wrapper starts) and `exit` (as codex ends; mtime, 1 ms resolution).',
      '',
      '| measure | local p50 / p95 ms | fleet p50 / p95 ms | fleet − local (p50) |',
      '|---|---|---|---|',
      row('`codex_start` → job handle returned', stats(latency.local.start), stats(latency.fleet.start)),
      row('`codex_start` called → job\'s wrapper running (`pid` file)', stats(latency.local.running), stats(latency.fleet.running)),
      row('codex exits (`exit` file) → `codex_wait` returns it', stats(latency.local.visible), stats(latency.fleet.visible)),
      '',
      `A local \`codex_start\` returns a \`running\` job (its wrapper spawned); a fleet front end returns a \`queued\` one once the`,
      'record is written and the start is in BullMQ — a runner then takes it (woken by `cam:wake`), claims it and spawns',
      'the wrapper, which is the second row. In the fleet, completion travels runner store → record in Redis → `cam:changes`',
      '→ the front end re-reads the record.',
      '',
      `**Throughput**: ${jobs} jobs of the sleeping stand-in (\`bench/fixtures/sleepy-codex.sh\`, ${JOB_SECONDS} s each, no CPU), so the jobs`,
      'wait rather than compute and only the fleet\'s own cost shows (the real codex is CPU-bound on 2 cores: ~1 s of CPU a run).',
      `Each runner \`--concurrency ${SLOTS}\`; all ${jobs} \`codex_start\` calls sent at once from one MCP client on a front end, then`,
      '`codex_wait` on each job in order; timed from the first call to the last job seen finished by that client. The ideal is',
      `the stand-in's sleep alone: ⌈${jobs} / slots⌉ × ${JOB_SECONDS} s.`,
      '',
      '| setup | took | jobs/s | ideal | efficiency (ideal / took) | jobs per runner | CPU per job (measured processes) |',
      '|---|---|---|---|---|---|---|',
      tpRow(`local server, CODEX_ASYNC_MAX_CONCURRENT=${SLOTS}`, through.local, SLOTS, '—', 'the server'),
      tpRow(`local server, CODEX_ASYNC_MAX_CONCURRENT=${2 * SLOTS}`, through.local2, 2 * SLOTS, '—', 'the server'),
      tpRow('fleet, one runner', through.one, SLOTS, through.one.perRunner.join(' / '), 'front end + runner + redis-server'),
      tpRow('fleet, two runners', through.two, 2 * SLOTS, through.two.perRunner.join(' / '), 'front end + runners + redis-server'),
      '',
      `Two runners over one: **${ratio.toFixed(2)}×** (goal ≥ 1.8× ${ratio >= 1.8 ? '✓' : '✗'}); the same machine with twice the slots in one`,
      `local server: ${localRatio.toFixed(2)}×. The local rows are the control: on one 2-core machine shared with other work, two`,
      'runners get no more CPU than one, and each job still costs CPU outside the measured processes (the job wrapper, the',
      'stand-in\'s shell and `sleep`, and the wrapper\'s call back into the bin when the agent exits: one Node process per job,',
      'src/supervise/launch.ts). So the ratio here is bounded by what the local server gains from twice the slots, not by the',
      `queue. All ${jobs} \`codex_start\` calls were answered within ${(through.one.enqueued / 1000).toFixed(1)} s (one runner) and ${(through.two.enqueued / 1000).toFixed(1)} s (two).`,
      '',
      `Longest gap between two heartbeats of one runner: ${gap(through.one)} (one runner) / ${gap(through.two)} (two); a runner's key lasts`,
      `${(HEARTBEAT_TTL_MS / 1000).toFixed(0)} s at the default lock time, after which readers show its started jobs as \`lost\`. Jobs that \`codex_wait\` returned`,
      `as failed (\`lost\`) while their runner was alive, and that completed later: ${through.one.lostThenCompleted} / ${through.two.lostThenCompleted} (timed here to the completion).`,
      'A runner\'s heartbeat, its Redis writes and its engine share one event loop, and what the engine does when a job ends is',
      'synchronous: each process query (src/supervise/proc.ts `findProcesses`, several per ending job) reads `/proc/<pid>/stat`',
      'and `environ` of every process on the machine. In a profile of a local server running 60 stand-in jobs at this load,',
      '14 of 32 s of samples were there, and an MCP ping waited 24 s; so under load the loop stalls for seconds, and a',
      'heartbeat can outlast its key while the runner lives.',
      '',
      `**Redis memory per finished job**: one real finished job's record (the last fleet job above: \`HGETALL ${PREFIX}:job:<id>\`,`,
      `its \`${PREFIX}:jobs\` entry and its TTL of ${(mem.ttlMs / 86_400_000).toFixed(0)} days) cloned ${mem.clones.toLocaleString('en-US')} times under new ids (the id replaced`,
      'inside every field, so each clone has the same size), with `INFO memory` `used_memory` read before and after, runners',
      'and front ends stopped.',
      '',
      '| measure | value |',
      '|---|---|',
      `| the sample record: fields / bytes of field names and values / \`MEMORY USAGE\` | ${mem.fields} / ${kb(mem.payloadBytes)} (snapshot ${kb(mem.snapshotBytes)}, result ${kb(mem.resultBytes)}) / ${kb(mem.usage)} |`,
      `| \`used_memory\` growth per finished job (record hash, TTL, \`${PREFIX}:jobs\` entry) | ${mem.perJob.toFixed(0)} bytes |`,
      `| per 10,000 finished jobs | ${((mem.perJob * 10_000) / 2 ** 20).toFixed(1)} MiB |`,
      `| from the last throughput job seen finished to BullMQ holding no job (one runner / two) | ${through.released.join(' / ')} |`,
      `| BullMQ's keys after the ${through.jobsRun} fleet throughput jobs (all finished) | ${through.bull.summary} |`,
      `| BullMQ's event stream at its cap of 10,000 entries (${through.bull.eventsPerJob.toFixed(1)} entries per job here, so reached after ~${Math.round(10_000 / through.bull.eventsPerJob).toLocaleString('en-US')} jobs) | ~${((through.bull.eventBytesPerEntry * 10_000) / 2 ** 20).toFixed(1)} MiB per queue, then flat |`,
      '',
      'A finished job\'s record holds its final snapshot (with the tail of its output) and its result, so its size follows',
      'the job\'s output and final message; this sample is a one-line mock answer. BullMQ keeps no job once it is done',
      '(the front end enqueues with `removeOnComplete`): what remains is per queue, not per job — its id counter, its meta',
      'hash and its event stream, which BullMQ trims to about 10,000 entries (several per job), so it stops growing.',
      '',
      refusedIds
        ? `${refusedIds} fleet \`codex_start\` call(s) were refused with "storage: cannot reach the fleet's Redis … (Custom Id cannot be integers)" and made again: BullMQ refuses a custom job id that reads as a decimal integer, and a job id is 12 random hex digits, all decimal about once in 310 starts (a bug in src/fleet/client.ts, reported).`
        : 'No fleet `codex_start` was refused during the bench.',
      '',
      warnings.length
        ? `Runner stderr, warnings and errors (each once): ${warnings.map((w) => `\`${w.slice(0, 300).replace(/`/g, "'")}\``).join('; ')}.`
        : 'No runner wrote a warning or error to its stderr during the bench (besides the expected one that its state directory is under /tmp).',
      '',
    ];
  } finally {
    await stopAll(runners, connections);
    admin.disconnect();
    await redis.stop();
  }
}

/** Warning and error lines runners wrote to stderr, across the whole bench. */
const runnerWarnings: string[] = [];

/**
 * A `codex-async-mcp runner` process on its own state directory. `how.main`: the build's bin (today's
 * by default); `how.cpu`: the one CPU it and everything it starts may run on (`taskset -c`), so two
 * runners on one machine do not take each other's core.
 */
export async function startRunner(
  h: Harness,
  redis: RedisServer,
  name: string,
  concurrency: number,
  extra: Record<string, string>,
  how: { main?: string; cpu?: number },
): Promise<RunnerProcess> {
  const home = path.join(tempDir(`fleet-runner-${name}`), 'state');
  const env = h.env({ ...userDefaults, CODEX_ASYNC_REDIS_URL: redis.url, CODEX_ASYNC_HOME: home, ...extra });
  const argv = [process.execPath, how.main ?? SERVER_MAIN, 'runner', '--concurrency', String(concurrency)];
  if (how.cpu !== undefined) argv.unshift('taskset', '-c', String(how.cpu));
  // taskset execs node in its place, so the child's pid is the runner's.
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let partial = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      // The bench's state directories are under /tmp on purpose; the runner rightly says so at start.
      if (/under a temporary directory/.test(line)) continue;
      if (/\] (warn|error):/.test(line) || /Error|^\s+at /.test(line)) runnerWarnings.push(line.replace(/\/tmp\/cam-[^/ ]+/g, '<tmp>'));
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await until(`runner ${name} to join the fleet`, () => / serving /.test(stderr) || child.exitCode !== null, 60_000);
  if (child.exitCode !== null) throw new Error(`fleet bench: runner ${name} exited: ${stderr}`);
  return {
    id: fs.readFileSync(path.join(home, 'runner-id'), 'utf8').trim(),
    pid: child.pid!,
    home,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      // Jobs outlive their runner by design; every one here is finished, but leave nothing behind.
      for (const pid of processesOfHome(home)) killQuietly(pid);
    },
  };
}

export async function stopAll(runners: RunnerProcess[], connections: Connection[]): Promise<void> {
  for (const conn of connections.splice(0)) await conn.close();
  await Promise.all(runners.splice(0).map((r) => r.stop()));
}

type Front = (extra?: Record<string, string>) => Promise<Connection>;
type StartRunner = (name: string, extra?: Record<string, string>, concurrency?: number) => Promise<RunnerProcess>;

interface Steps {
  start: number[];
  running: number[];
  visible: number[];
}

/**
 * codex_start → handle, codex_start → wrapper running, and codex's exit → codex_wait returning, for a
 * local server and a fleet front end with one runner, one real codex job at a time.
 */
async function fleetLatency(h: Harness, runs: number, front: Front, runner: StartRunner) {
  const r = await runner('latency', {}, 1);
  const fleet = await front();
  const localHome = path.join(tempDir('fleet-local'), 'state');
  const local = await h.connect({ ...userDefaults, CODEX_ASYNC_HOME: localHome });
  const cwd = h.workdir();
  const steps = { local: { start: [], running: [], visible: [] } as Steps, fleet: { start: [], running: [], visible: [] } as Steps };
  let lastFleetJob = '';
  const one = async (mode: 'local' | 'fleet', label: string, keep: boolean) => {
    const conn = mode === 'local' ? local : fleet;
    const home = mode === 'local' ? localHome : r.home;
    const calledAt = Date.now();
    const [t, started] = await timed(() => startRetrying(conn, { prompt: `[[slow:300]] fleet bench ${label}`, cwd }));
    const done = await waitDone(conn, started.job_id);
    const seen = Date.now();
    if (done.status !== 'completed') throw new Error(`fleet bench: ${mode} job ${done.job_id} ${done.status}: ${JSON.stringify(done.error)}`);
    const mtime = (name: string) => fs.statSync(path.join(home, 'jobs', started.job_id, name)).mtimeMs;
    if (mode === 'fleet') lastFleetJob = started.job_id;
    if (!keep) return;
    steps[mode].start.push(t);
    steps[mode].running.push(mtime('pid') - calledAt);
    steps[mode].visible.push(seen - mtime('exit'));
  };
  await one('local', 'warm-up local', false);
  await one('fleet', 'warm-up fleet', false);
  for (let i = 0; i < runs; i++) {
    const order: Array<'local' | 'fleet'> = i % 2 ? ['fleet', 'local'] : ['local', 'fleet'];
    for (const mode of order) await one(mode, `${mode} ${i}`, true);
  }
  await local.close();
  for (const mode of ['local', 'fleet'] as const) {
    const [s, w, v] = [stats(steps[mode].start), stats(steps[mode].running), stats(steps[mode].visible)];
    log(`fleet latency, ${mode}: codex_start p50 ${s.p50.toFixed(1)} ms, → running p50 ${w.p50.toFixed(1)} ms, exit → visible p50 ${v.p50.toFixed(1)} ms (n=${s.n})`);
  }
  return { ...steps, lastFleetJob };
}

export interface Run {
  took: number;
  /** CPU (user + system) the measured processes used over the run, in ms per job. */
  cpuPerJob: number;
  /** From the first codex_start sent to the last one answered. */
  enqueued: number;
  /** Jobs each runner ran, most first. */
  perRunner: number[];
  /** Jobs codex_wait returned as lost (their runner's heartbeat had lapsed) that completed later. */
  lostThenCompleted: number;
  /** The longest gap between two heartbeats of one runner, in ms (null for a local server). */
  maxBeatGap: number | null;
}

/**
 * A tool call allowed to take minutes: under load a server's event loop can stall for tens of
 * seconds (see the report), past the SDK's default 60 s request timeout.
 */
async function callLong(conn: Connection, name: string, args: Record<string, unknown>): Promise<any> {
  const result = (await conn.client.callTool({ name, arguments: args }, { timeout: 600_000 } as never)) as any;
  if (result.isError) throw new Error(`fleet bench: ${name} failed: ${result.content?.[0]?.text}`);
  return result.structuredContent;
}

/** codex_start calls a fleet front end refused because BullMQ took the job's id for a number (see startRetrying). */
let refusedIds = 0;

/**
 * codex_start, once more when the front end hit BullMQ's refusal of an all-digit custom job id: a
 * job id is 12 random hex digits, all of them decimal (and not led by 0) about once in 310 starts,
 * and src/fleet/client.ts passes it to BullMQ as the job id, which refuses "integers". Counted and
 * reported, so the throughput runs measure the queue rather than stop at that bug.
 */
async function startRetrying(conn: Connection, args: Record<string, unknown>): Promise<any> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await callLong(conn, 'codex_start', args);
    } catch (err) {
      if (attempt === 3 || !/Custom Id cannot be integers/.test((err as Error).message)) throw err;
      refusedIds++;
    }
  }
}

/** Waits with codex_wait, as often as it takes, until the job is final. */
async function waitDone(conn: Connection, jobId: string): Promise<any> {
  for (;;) {
    const r = await callLong(conn, 'codex_wait', { job_ids: [jobId], timeout_seconds: 30 });
    if (r.finished.length) return r.finished[0];
  }
}

/** `jobs` stand-in jobs through one client: every start sent at once, then each waited for in order. */
export async function timeJobs(conn: Connection, jobs: number, tag: string, pids: number[], admin?: Redis): Promise<Run> {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cam-fleet-cwd-'));
  const cpu = () => pids.reduce((sum, pid) => sum + cpuAndWakeups(pid).cpuSeconds, 0);
  const beats = admin ? watchBeats(admin) : null;
  const cpuBefore = cpu();
  const t0 = performance.now();
  const started = await Promise.all(Array.from({ length: jobs }, (_, i) => startRetrying(conn, { prompt: `sleep:${JOB_SECONDS} ${tag} ${i}`, cwd })));
  const enqueued = performance.now() - t0;
  const done = [];
  for (const s of started) done.push(await waitDone(conn, s.job_id));
  // A job shown lost (its runner's heartbeat lapsed) is final to codex_wait, yet its runner may
  // be alive and finish it: look again until it completes, and count it.
  const lost = done.filter((d) => d.status === 'failed' && d.error?.kind === 'lost');
  for (const [i, d] of done.entries()) {
    if (!lost.includes(d)) continue;
    done[i] = await until(`job ${d.job_id}, shown lost, to complete`, async () => {
      const p = await callLong(conn, 'codex_poll', { job_id: d.job_id, tail_lines: 0 });
      return p.status === 'completed' || (p.status !== 'running' && p.error?.kind !== 'lost') ? p : null;
    }, 180_000, 200);
  }
  const took = performance.now() - t0;
  const cpuPerJob = ((cpu() - cpuBefore) * 1000) / jobs;
  const maxBeatGap = beats ? beats.stop() : null;
  const failed = done.filter((d) => d.status !== 'completed');
  if (failed.length) throw new Error(`fleet bench: ${failed.length} of ${jobs} ${tag} jobs did not complete, e.g. ${failed[0].job_id} ${failed[0].status}: ${JSON.stringify(failed[0].error)}`);
  const counts = new Map<string, number>();
  for (const d of done) {
    const who = String(d.runner ?? 'local').split(' ')[0]!;
    counts.set(who, (counts.get(who) ?? 0) + 1);
  }
  const perRunner = [...counts.values()].sort((a, b) => b - a);
  const beatNote = maxBeatGap === null ? '' : `, longest gap between a runner's heartbeats ${(maxBeatGap / 1000).toFixed(1)} s, ${lost.length} shown lost then completed`;
  log(`fleet throughput, ${tag}: ${jobs} jobs in ${(took / 1000).toFixed(1)} s (${(jobs / (took / 1000)).toFixed(2)} jobs/s), enqueued in ${(enqueued / 1000).toFixed(1)} s, per runner ${perRunner.join(' / ')}, CPU ${cpuPerJob.toFixed(1)} ms per job${beatNote}`);
  return { took, cpuPerJob, enqueued, perRunner, lostThenCompleted: lost.length, maxBeatGap };
}

/**
 * Reads every runner's last heartbeat (`<prefix>:runners`) four times a second and keeps the longest
 * gap between two beats of one runner: a runner's key lapses — and its started jobs show as lost —
 * once a gap exceeds the heartbeat's TTL.
 */
function watchBeats(admin: Redis): { stop(): number } {
  const last = new Map<string, number>();
  let longest = 0;
  const timer = setInterval(() => {
    void admin.hgetall(`${PREFIX}:runners`).then((all) => {
      for (const [id, json] of Object.entries(all)) {
        const beat = (JSON.parse(json) as { beat_at: number }).beat_at;
        const prev = last.get(id);
        if (prev !== undefined && beat > prev) longest = Math.max(longest, beat - prev);
        last.set(id, beat);
      }
    }, () => undefined);
  }, 250);
  return {
    stop() {
      clearInterval(timer);
      return longest;
    },
  };
}

/** A local server for throughput runs: the stand-in for codex, `slots` jobs at a time, a fresh state directory. */
export function localServer(h: Harness, slots: number, extra: Record<string, string> = {}): Promise<Connection> {
  return h.connect({ ...userDefaults, CODEX_BIN: SLEEPY, CODEX_ASYNC_HOME: path.join(tempDir('fleet-local-tp'), 'state'), CODEX_ASYNC_MAX_CONCURRENT: String(slots), ...extra });
}

/**
 * A local server with the same slots as a reference, then the fleet with one runner and with two,
 * each on a fresh state directory, the stand-in for codex everywhere. Then what BullMQ kept.
 */
async function throughput(h: Harness, jobs: number, front: Front, runner: StartRunner, admin: Redis, redisPid: number) {
  const sleepy = { CODEX_BIN: SLEEPY };
  const localRun = async (slots: number) => {
    const conn = await localServer(h, slots);
    const run = await timeJobs(conn, jobs, `local ${slots} slots`, [conn.pid]);
    await conn.close();
    return run;
  };
  const local = await localRun(SLOTS);
  const local2 = await localRun(2 * SLOTS);

  const a = await runner('one', sleepy);
  const frontOne = await front();
  const one = await timeJobs(frontOne, jobs, 'one runner', [frontOne.pid, a.pid, redisPid], admin);
  const releasedOne = await released(admin);
  await a.stop();
  const pair = await Promise.all([runner('two-a', sleepy), runner('two-b', sleepy)]);
  const frontTwo = await front();
  const two = await timeJobs(frontTwo, jobs, 'two runners', [frontTwo.pid, ...pair.map((r) => r.pid), redisPid], admin);
  const releasedTwo = await released(admin);
  return { local, local2, one, two, released: [releasedOne, releasedTwo], jobsRun: 2 * jobs, bull: await bullKeys(admin, 2 * jobs) };
}

/**
 * A runner releases a job in BullMQ (moveToCompleted) after it records the job final, so the front
 * end sees the job done a little before: how long after the last one was seen until BullMQ holds none.
 */
async function released(admin: Redis): Promise<string> {
  const active = () => admin.llen(`${PREFIX}:q:jobs:active`);
  const t0 = performance.now();
  try {
    await until('BullMQ to release every finished job', async () => (await active()) === 0, 60_000, 20);
    const ms = performance.now() - t0;
    log(`fleet: BullMQ held no job ${ms.toFixed(0)} ms after the last was seen finished`);
    return `${ms.toFixed(0)} ms`;
  } catch {
    const left = await active();
    log(`fleet: BullMQ still holds ${left} active jobs 60 s after the last was seen finished`);
    return `still ${left} active after 60 s`;
  }
}

async function scan(admin: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found.sort();
}

/** Every key BullMQ holds (`<prefix>:q:…`): type, entries and bytes, and how many belong to one job. */
async function bullKeys(admin: Redis, jobsRun: number): Promise<{ summary: string; jobKeys: number; eventsPerJob: number; eventBytesPerEntry: number }> {
  const keys = await scan(admin, `${PREFIX}:q:*`);
  let bytes = 0;
  let jobKeys = 0;
  let events = { entries: 0, bytes: 0 };
  const parts: string[] = [];
  for (const key of keys) {
    const name = key.slice(`${PREFIX}:q:`.length);
    // A job's own keys are named by its id (`jobs:<id>`, `jobs:<id>:lock`, `jobs:<id>:logs`).
    if (/^[^:]+:[0-9a-f]{12}(:|$)/.test(name)) {
      jobKeys++;
      continue;
    }
    const type = await admin.type(key);
    const usage = Number(await admin.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) || 0;
    bytes += usage;
    const size: Record<string, () => Promise<number>> = {
      stream: () => admin.xlen(key),
      zset: () => admin.zcard(key),
      list: () => admin.llen(key),
      hash: () => admin.hlen(key),
      set: () => admin.scard(key),
    };
    const count = size[type] ? await size[type]!() : null;
    if (type === 'stream') events = { entries: events.entries + count!, bytes: events.bytes + usage };
    const entries = count === null ? '' : ` ${count} entries,`;
    parts.push(`\`${name}\` (${type},${entries} ${(usage / 1024).toFixed(1)} KiB)`);
  }
  const summary = `${jobKeys} keys of single jobs; ${keys.length - jobKeys} of the queue, ${(bytes / 1024).toFixed(0)} KiB in all: ${parts.join(', ')}`;
  log(`fleet: BullMQ keys after the throughput runs: ${summary}`);
  return { summary, jobKeys, eventsPerJob: events.entries / jobsRun, eventBytesPerEntry: events.entries ? events.bytes / events.entries : 0 };
}

/** Clones one real finished job's record `clones` times and reads how much Redis grew. */
async function recordMemory(admin: Redis, sampleId: string, clones = 10_000) {
  const key = `${PREFIX}:job:${sampleId}`;
  const fields = await admin.hgetall(key);
  if (!fields.snapshot || !fields.result) throw new Error(`fleet bench: the record of job ${sampleId} is not a finished one: ${Object.keys(fields).join(', ')}`);
  const score = await admin.zscore(`${PREFIX}:jobs`, sampleId);
  if (score === null) throw new Error(`fleet bench: job ${sampleId} is not in ${PREFIX}:jobs`);
  const ttlMs = await admin.pttl(key);
  const usage = Number(await admin.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
  const payloadBytes = Object.entries(fields).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1]);
  const before = await usedMemory();
  for (let done = 0; done < clones; ) {
    const batch = admin.pipeline();
    for (let i = 0; i < 500 && done < clones; i++, done++) {
      const id = newJobId();
      const copy = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.split(sampleId).join(id)]));
      batch.hset(`${PREFIX}:job:${id}`, copy);
      if (ttlMs > 0) batch.pexpire(`${PREFIX}:job:${id}`, ttlMs);
      batch.zadd(`${PREFIX}:jobs`, Number(score) + done + 1, id);
    }
    await batch.exec();
  }
  const after = await usedMemory();
  const perJob = (after - before) / clones;
  log(`fleet: record of ${sampleId}: ${Object.keys(fields).length} fields, ${payloadBytes} bytes, MEMORY USAGE ${usage}; used_memory +${after - before} bytes for ${clones} clones = ${perJob.toFixed(0)} bytes per job`);
  return {
    clones,
    ttlMs,
    usage,
    payloadBytes,
    fields: Object.keys(fields).length,
    snapshotBytes: Buffer.byteLength(fields.snapshot),
    resultBytes: Buffer.byteLength(fields.result),
    perJob,
  };
}
