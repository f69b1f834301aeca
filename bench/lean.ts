/**
 * Issue 22, "Measured": the same figures for two builds of the server in one run, the builds taking
 * turns (A, B, then B, A, …) so that load from other work on the machine falls on both alike, and
 * reported as ratios. "Before" is a git revision built on the side (bench/builds.ts), "after" today's
 * checkout. The throughput runs are bench/fleet.ts's; the latency figures are bench/probes.ts's.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startHarness, tempDir, type Connection, type Harness } from '../test/helpers/harness.ts';
import { startRedis } from '../test/helpers/redis.ts';
import { buildOfRev, currentBuild, serving, type Build } from './builds.ts';
import { cpuGroup } from './cpu.ts';
import { JOB_SECONDS, localServer, SLEEPY, SLOTS, startRunner, stopAll, timeJobs, userDefaults, type Run, type RunnerProcess } from './fleet.ts';
import { stats, type Stat } from './lib.ts';
import { coldStart, completionVisibility, firstStart, idleRssSamples, pollUnderLoad, type Measured } from './probes.ts';

export const LEAN_HEADING = 'Lean under many jobs (issue 22): before → after';

/** The commit issue 22's work started from. */
export const LEAN_BASE = '3965188';

export interface LeanOptions {
  /** The "before" revision (default LEAN_BASE). */
  base?: string;
  /** Rounds of the latency figures (default 2); each round runs every one on both builds, with PER_ROUND samples. */
  runs?: number;
  /** Jobs per throughput run. */
  jobs?: number;
}

const log = (line: string) => process.stdout.write(`${line}\n`);

interface Side {
  label: 'before' | 'after';
  build: Build;
  h: Harness;
  /** Throughput at SLOTS and 2 × SLOTS local slots, with the CPU its cgroup used (ms, stand-ins included). */
  local: Map<number, { run: Run; usedMs: number }>;
  fleet: { one?: Run; two?: Run };
  /** Latency samples by figure name, gathered over the rounds. */
  samples: Map<string, Measured>;
  rssMb: number[];
}

/**
 * Samples per round of each latency figure. Two rounds come near the counts bench/run.ts takes and
 * keep the whole bench near 15 min on 2 cores: a first start costs two real codex jobs, and the
 * base's 200-job runs alone take ~7 min under load.
 */
const PER_ROUND = { cold: 8, first: 4, visible: 10, poll: 150, rss: 3 };

export async function leanBench(opts: LeanOptions = {}): Promise<string[]> {
  const rounds = opts.runs ?? 2;
  const jobs = opts.jobs ?? 200;
  const began = performance.now();
  /** How long the bench has run, for the log: where the time goes decides what counts to give. */
  const elapsed = (what: string) => log(`lean: ${what} after ${((performance.now() - began) / 60000).toFixed(1)} min`);
  const loadAtStart = os.loadavg();
  const builds = { before: buildOfRev(opts.base ?? LEAN_BASE, log), after: currentBuild() };
  log(`lean: before = ${builds.before.rev} (${builds.before.main}), after = ${builds.after.rev} (${builds.after.main})`);
  // A harness each: its own state home, user home (and so user cache) and mock, so neither build
  // reads what the other wrote (a newer store schema, a cached agent version).
  const sides: Side[] = [];
  /** Runs `fn` on both builds, the first of them alternating with `turn`. */
  const both = async (turn: number, fn: (side: Side) => Promise<void>) => {
    for (const side of turn % 2 ? [...sides].reverse() : sides) await fn(side);
  };
  try {
    for (const label of ['before', 'after'] as const) {
      sides.push({ label, build: builds[label], h: serving(await startHarness(), builds[label].main), local: new Map(), fleet: {}, samples: new Map(), rssMb: [] });
    }
    // Before and after the local runs it is subtracted from, as the machine's load changes.
    const standInRuns = Math.min(jobs, 50);
    const standInAt = [await standInAlone(standInRuns)];
    const cpus = os.cpus().length;
    let turn = 0;
    for (const slots of [SLOTS, 2 * SLOTS]) {
      await both(turn++, async (side) => void side.local.set(slots, await localRun(side, jobs, slots)));
    }
    elapsed('local runs done');
    standInAt.push(await standInAlone(standInRuns));
    const standIn = { perRunMs: (standInAt[0]!.perRunMs + standInAt[1]!.perRunMs) / 2, each: standInAt.map((a) => a.perRunMs), runs: standInRuns, how: standInAt[0]!.how };
    for (const runners of [1, 2] as const) {
      await both(turn++, async (side) => void (side.fleet[runners === 1 ? 'one' : 'two'] = await fleetRun(side, jobs, runners, cpus)));
    }
    elapsed('fleet runs done');
    const gather = (side: Side, measured: Measured[]) => {
      for (const m of measured) {
        const had = side.samples.get(m.name);
        side.samples.set(m.name, had ? { ...had, samples: [...had.samples, ...m.samples] } : m);
        const s = stats(m.samples);
        log(`lean, ${side.label}: ${m.name}: p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms (n=${s.n})`);
      }
    };
    for (let round = 0; round < rounds; round++) {
      elapsed(`latency round ${round + 1} of ${rounds} begun`);
      await both(turn++, async (side) => gather(side, await coldStart(side.h, PER_ROUND.cold)));
      await both(turn++, async (side) => gather(side, await firstStart(side.h, { n: PER_ROUND.first, freshHome: true })));
      await both(turn++, async (side) => gather(side, await completionVisibility(side.h, PER_ROUND.visible)));
      await both(turn++, async (side) => gather(side, await pollUnderLoad(side.h, PER_ROUND.poll)));
      await both(turn++, async (side) => {
        const rss = await idleRssSamples(side.h, PER_ROUND.rss);
        side.rssMb.push(...rss);
        log(`lean, ${side.label}: idle RSS ${rss.map((mb) => mb.toFixed(1)).join(', ')} MB`);
      });
    }
    const minutes = (performance.now() - began) / 60000;
    log(`lean bench took ${minutes.toFixed(1)} min`);
    return report({ sides, jobs, rounds, standIn, cpus, loadAtStart, minutes });
  } finally {
    for (const side of sides) await side.h.close();
  }
}

/**
 * CPU of the stand-in alone, run `runs` times one after another (sleeping 0 s; `sleep` costs the
 * same whatever it waits) from a shell in a group of its own, as the job wrapper runs it: the prompt
 * on stdin, events to a file. A job's CPU minus this is what supervising it cost.
 */
export async function standInAlone(runs: number): Promise<{ perRunMs: number; how: string }> {
  const group = cpuGroup('standin');
  const dir = tempDir('standin');
  // The shell waits for a line on stdin, so it is in the group before the first run.
  const loop = `read go; i=0; while [ $i -lt ${runs} ]; do printf 'sleep:0 alone' | "$1" exec --json -o "$2/last" - > "$2/events.jsonl"; i=$((i+1)); done`;
  const child = spawn('sh', ['-c', loop, 'sh', SLEEPY, dir], { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  group.add(child.pid!);
  const before = group.usedMs();
  child.stdin!.end('go\n');
  await exited;
  await group.settle([], 30_000);
  const used = group.usedMs() - before;
  await group.remove();
  fs.rmSync(dir, { recursive: true, force: true });
  log(`lean: the stand-in alone: ${(used / runs).toFixed(2)} ms of CPU a run (${runs} runs; ${group.how})`);
  return { perRunMs: used / runs, how: group.how };
}

/** `jobs` stand-in jobs through one local server of the side's build, the server (and so all it starts) in a cgroup of its own. */
async function localRun(side: Side, jobs: number, slots: number): Promise<{ run: Run; usedMs: number }> {
  const group = cpuGroup(`${side.label}-${slots}`);
  const conn = await localServer(side.h, slots);
  try {
    group.add(conn.pid);
    const before = group.usedMs();
    const run = await timeJobs(conn, jobs, `${side.label} (${side.build.rev}), local ${slots} slots`, [conn.pid]);
    // A job is final once its exit is recorded; its wrapper (and, before issue 22, its callback into the bin) may still be ending.
    const settled = await group.settle([conn.pid]);
    if (!settled) log(`lean, ${side.label}: ${slots} slots: processes besides the server were still in its group 60 s after the last job; their CPU so far is counted`);
    const usedMs = group.usedMs() - before;
    log(`lean, ${side.label}: ${slots} slots: ${usedMs.toFixed(0)} ms of CPU in the server's group for ${jobs} jobs`);
    return { run, usedMs };
  } finally {
    await conn.close();
    await group.remove();
  }
}

/** `jobs` stand-in jobs through a fleet of the side's build: a private Redis, one front end, and 1 or 2 runners, each on a CPU of its own. */
async function fleetRun(side: Side, jobs: number, runners: 1 | 2, cpus: number): Promise<Run> {
  const redis = await startRedis();
  const started: RunnerProcess[] = [];
  const connections: Connection[] = [];
  try {
    for (let i = 0; i < runners; i++) {
      started.push(await startRunner(side.h, redis, `${side.label}-${runners}-${i}`, SLOTS, { CODEX_BIN: SLEEPY }, { main: side.build.main, cpu: i % cpus }));
    }
    const front = await side.h.connect({ ...userDefaults, CODEX_ASYNC_REDIS_URL: redis.url, CODEX_ASYNC_HOME: path.join(tempDir('lean-front'), 'state') });
    connections.push(front);
    const tag = `${side.label} (${side.build.rev}), fleet of ${runners} runner${runners > 1 ? 's' : ''}`;
    return await timeJobs(front, jobs, tag, [front.pid, ...started.map((r) => r.pid), redis.pid]);
  } finally {
    await stopAll(started, connections);
    await redis.stop();
  }
}

interface Results {
  sides: Side[];
  jobs: number;
  rounds: number;
  standIn: { perRunMs: number; each: number[]; runs: number; how: string };
  cpus: number;
  loadAtStart: number[];
  minutes: number;
}

const ms = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(1));
const times = (after: number, before: number) => (before > 0 && after >= 0 ? `${(after / before).toFixed(2)}×` : '—');
const mark = (ok: boolean) => (ok ? '✓' : '✗');

function report(r: Results): string[] {
  const [before, after] = r.sides as [Side, Side];
  const ideal = (slots: number) => Math.ceil(r.jobs / slots) * JOB_SECONDS * 1000;
  const efficiency = (side: Side, slots: number) => ideal(slots) / side.local.get(slots)!.run.took;
  const supervision = (side: Side, slots: number) => (side.local.get(slots)!.usedMs - r.jobs * r.standIn.perRunMs) / r.jobs;
  const fleetRatio = (side: Side) => side.fleet.one!.took / side.fleet.two!.took;
  const stat = (side: Side, prefix: string): Stat => {
    const m = [...side.samples.entries()].find(([name]) => name.startsWith(prefix));
    if (!m) throw new Error(`lean bench: no samples of "${prefix}"`);
    return stats(m[1].samples);
  };
  const pair = (s: Stat) => `${ms(s.p50)} / ${ms(s.p99)} ms`;
  const pairRatio = (a: Stat, b: Stat) => `${times(a.p50, b.p50)} / ${times(a.p99, b.p99)}`;
  const rows: string[] = [];
  const row = (figure: string, b: string, a: string, ratio: string, goal: string) => rows.push(`| ${figure} | ${b} | ${a} | ${ratio} | ${goal} |`);

  for (const slots of [SLOTS, 2 * SLOTS]) {
    const [eb, ea] = [efficiency(before, slots), efficiency(after, slots)];
    const cell = (side: Side, e: number) => `${(e * 100).toFixed(0)} % (${(side.local.get(slots)!.run.took / 1000).toFixed(1)} s)`;
    row(`${r.jobs} stand-in jobs at ${slots} slots: ideal (${ideal(slots) / 1000} s) ÷ took`, cell(before, eb), cell(after, ea), times(ea, eb), slots === 2 * SLOTS ? `≥ 90 % ${mark(ea >= 0.9)}` : '—');
  }
  for (const slots of [SLOTS, 2 * SLOTS]) {
    const [cb, ca] = [supervision(before, slots), supervision(after, slots)];
    const cell = (side: Side, c: number) => `${ms(c)} ms (server ${ms(side.local.get(slots)!.run.cpuPerJob)})`;
    row(`supervision CPU per job at ${slots} slots (of it, the server process's own)`, cell(before, cb), cell(after, ca), times(ca, cb), `≤ 20 ms ${mark(ca <= 20)}`);
  }
  {
    const [fb, fa] = [fleetRatio(before), fleetRatio(after)];
    const cell = (side: Side, f: number) => `${f.toFixed(2)}× (${(side.fleet.one!.took / 1000).toFixed(1)} s → ${(side.fleet.two!.took / 1000).toFixed(1)} s)`;
    row(`two fleet runners vs one, ${SLOTS} slots each, each runner on its own CPU`, cell(before, fb), cell(after, fa), times(fa, fb), `≥ 1.8× ${mark(fa >= 1.8)}`);
  }
  const first = [stat(before, 'first codex_start'), stat(after, 'first codex_start')] as const;
  const second = [stat(before, 'second codex_start'), stat(after, 'second codex_start')] as const;
  row('first `codex_start` after a server starts, fresh home, p50 / p99', pair(first[0]), pair(first[1]), pairRatio(first[1], first[0]), `no version probe on the path: p50 ≤ 1.5 × the second's ${mark(first[1].p50 <= second[1].p50 * 1.5)}`);
  row('second `codex_start` on the same server (the reference), p50 / p99', pair(second[0]), pair(second[1]), pairRatio(second[1], second[0]), '—');
  const visible = [stat(before, 'completion visible'), stat(after, 'completion visible')] as const;
  row('completion visible: agent `exit` file → `codex_wait` returns, p50 / p99', pair(visible[0]), pair(visible[1]), pairRatio(visible[1], visible[0]), `p99 ≤ 10 ms ${mark(visible[1].p99 <= 10)}`);
  const ping = [stat(before, 'MCP ping'), stat(after, 'MCP ping')] as const;
  const poll = [stat(before, 'codex_poll'), stat(after, 'codex_poll')] as const;
  row('MCP ping beside 2 streaming real codex jobs, p50 / p99', pair(ping[0]), pair(ping[1]), pairRatio(ping[1], ping[0]), '—');
  row('`codex_poll` of a running job beside them, p50 / p99', pair(poll[0]), pair(poll[1]), pairRatio(poll[1], poll[0]), '—');
  const gap = [poll[0].p99 - ping[0].p99, poll[1].p99 - ping[1].p99] as const;
  row('`codex_poll` p99 − ping p99', `${ms(gap[0])} ms`, `${ms(gap[1])} ms`, times(gap[1], gap[0]), `≤ 1 ms ${mark(gap[1] <= 1)}`);
  const cold = [stat(before, 'cold start'), stat(after, 'cold start')] as const;
  row('cold start: spawn → `tools/list` answered, p50 / p99', pair(cold[0]), pair(cold[1]), pairRatio(cold[1], cold[0]), `p99 ≤ 250 ms ${mark(cold[1].p99 <= 250)}`);
  const rss = [stats(before.rssMb), stats(after.rssMb)] as const;
  const rssCell = (side: Side, s: Stat) => `${s.p50.toFixed(1)} MB (${Math.min(...side.rssMb).toFixed(1)}–${s.max.toFixed(1)})`;
  row('idle RSS, 1 s after start, p50 (min–max)', rssCell(before, rss[0]), rssCell(after, rss[1]), times(rss[1].p50, rss[0].p50), `≤ 60 MB ${mark(rss[1].max <= 60)}`);

  const avg = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');
  const command = process.argv.includes('--only') ? `npm run bench -- ${process.argv.slice(process.argv.indexOf('--only')).join(' ')}` : 'npm run bench -- --only lean';
  const cpu = os.cpus()[0]?.model ?? 'cpu';
  const n = (prefix: string) => stat(after, prefix).n;
  return [
    `Measured ${new Date().toISOString().slice(0, 10)} with \`${command}\` (bench/lean.ts, ${r.minutes.toFixed(1)} min) on ${r.cpus} × ${cpu},`,
    `${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, node ${process.version}, shared with other work: load average (1 / 5 / 15 min)`,
    `${avg(r.loadAtStart)} at the start, ${avg(os.loadavg())} at the end. **Before**: ${before.build.rev}, built from git in a temporary`,
    `worktree; **after**: ${after.build.rev}, this checkout. The two builds take turns figure by figure, which goes first`,
    `alternating, so load from other work falls on both; each has its own state home, user home and mock model API.`,
    'Ratio = after ÷ before (below 1 is better, except for the efficiency and fleet rows); the goal is judged on "after".',
    '',
    '| figure | before | after | ratio | goal |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `- **Stand-in jobs** (\`bench/fixtures/sleepy-codex.sh\`, ${JOB_SECONDS} s of \`sleep\` each, no CPU): all ${r.jobs} \`codex_start\` calls at once to one`,
    `  local server at \`CODEX_ASYNC_MAX_CONCURRENT\` = slots, then \`codex_wait\` on each; the ideal is the sleep alone, ⌈${r.jobs} / slots⌉ × ${JOB_SECONDS} s.`,
    `- **Supervision CPU per job**: during those runs the server sat in a control group of its own — ${r.standIn.how} —`,
    '  which every process it starts joins and stays in, `setsid` or not: job wrappers, the stand-ins, callbacks into the bin.',
    `  Its CPU, read once the group held only the server, minus the stand-in's own (${r.standIn.perRunMs.toFixed(1)} ms a run: the mean of`,
    `  ${r.standIn.each.map((x) => x.toFixed(1)).join(' and ')} ms, ${r.standIn.runs} runs each in a group of their own before and after the local runs), divided by the jobs.`,
    "  In brackets, the server process's own share, from its /proc accounting (utime + stime).",
    `- **Fleet**: a private \`redis-server\` on a loopback port, one front end (an MCP server with \`CODEX_ASYNC_REDIS_URL\`), and`,
    `  \`codex-async-mcp runner --concurrency ${SLOTS}\` processes started under \`taskset -c 0\` (one runner) or \`-c 0\` and \`-c 1\` (two), so`,
    `  each runner and its jobs have one CPU of their own (front end and Redis unpinned); ${r.jobs} stand-in jobs; ratio = one's time ÷ two's.`,
    `- **First \`codex_start\`**: ${n('first codex_start')} fresh servers, each on a fresh state home (the user's home, and so its cache, shared):`,
    '  connect, then `codex_start` at once with the real codex; the second start on the same server once the first job ended is the warm reference.',
    `- **Completion visible** (${n('completion visible')} jobs): the real codex with a 300 ms model answer; from the mtime of the job's \`exit\` file`,
    '  (written as the agent ends) to the client holding the `codex_wait` result.',
    `- **Poll beside real jobs** (${n('codex_poll')} pairs): an MCP ping and a \`codex_poll\` of a running job, alternating, while two real codex`,
    '  jobs stream a shell command\'s output back to back; the ping is the transport\'s own floor.',
    `- **Cold start** (${n('cold start')} spawns): from spawning the server to the client holding the \`tools/list\` answer.`,
    `- **Idle RSS** (${after.rssMb.length} fresh servers): VmRSS of a server connected, tools listed, no job, 1 s after start.`,
    `- Latency figures: ${r.rounds} round${r.rounds > 1 ? 's' : ''}, each running every figure on both builds in turn; throughput runs: one per build and setup.`,
    '',
  ];
}
