/**
 * `npm run bench`: what the server adds on top of codex, measured with the real codex binary against
 * the loopback mock Responses API (and, where only the server's own cost matters, a sleeping stand-in
 * for codex), driven through the MCP SDK client over stdio as a client would. Prints the figures and
 * writes BENCHMARKS.md and bench/figures.svg. Not part of `npm test`: numbers are not assertions.
 */
import { Client } from '@modelcontextprotocol/client';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { mockedAgent } from '../test/helpers/agentMocks.ts';
import { runSpec } from '../test/helpers/contract.ts';
import { CODEX_BIN, ROOT, SERVER_MAIN, startHarness, tempDir, waitFinal, type Harness } from '../test/helpers/harness.ts';
import { AgentLocator } from '../src/agents/binary.ts';
import { agents } from '../src/agents/registry.ts';
import { loadConfig } from '../src/config.ts';
import { newJobId } from '../src/jobs/ids.ts';
import { jobEnvironment } from '../src/supervise/env.ts';
import { applyChanges, changesOf } from '../src/workspace/changes.ts';
import { snapshotCommit } from '../src/workspace/snapshot.ts';
import { createWorktree, removeWorktree } from '../src/workspace/worktree.ts';
import { fleetBench, FLEET_HEADING } from './fleet.ts';
import { LAND_HEADING, landBench } from './land.ts';
import { LEAN_HEADING, leanBench } from './lean.ts';
import { PLATFORMS_HEADING, platformsBench } from './platforms.ts';
import { coldStart, completionVisibility, firstStart, idleRssSamples, pollUnderLoad, type Measured } from './probes.ts';
import { workenvBench, WORKENV_HEADING } from './workenv.ts';
import {
  barChart,
  childrenOf,
  duKb,
  figureTable,
  quietCost,
  rssMb,
  sample,
  seedFinishedJobs,
  seedWorkedOnRepo,
  sleep,
  stats,
  timed,
  type Figure,
} from './lib.ts';

const SLEEPY = path.join(ROOT, 'bench/fixtures/sleepy-codex.sh');
const PEERS = path.join(ROOT, 'bench/.peers');
const report: string[] = [];
const figures: Figure[] = [];
const log = (line: string) => process.stdout.write(`${line}\n`);

function record(name: string, samples: number[], target?: number): void {
  const figure: Figure = { name, stat: stats(samples), ...(target === undefined ? {} : { target }) };
  figures.push(figure);
  log(`${name}: p50 ${figure.stat.p50.toFixed(2)} ms, p99 ${figure.stat.p99.toFixed(2)} ms (n=${figure.stat.n})`);
}

const recordAll = (measured: Measured[]) => measured.forEach((m) => record(m.name, m.samples, m.target));

/** Runs one `codex exec` directly, the floor every wrapper is compared with. */
function codexDirect(h: Harness, cwd: string, prompt: string): Promise<void> {
  const out = path.join(tempDir('direct'), 'last.txt');
  return new Promise((resolve, reject) => {
    const child = spawn(CODEX_BIN, ['exec', '--json', '--skip-git-repo-check', '-C', cwd, '-s', 'read-only', '-o', out, '-'], {
      env: h.env(),
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.stdin.end(prompt);
    child.on('exit', () => resolve());
    child.on('error', reject);
  });
}

async function startLatency(h: Harness): Promise<void> {
  const cwd = h.workdir();
  // Idle: one job at a time, each finished before the next start. With the real codex, helper
  // processes codex leaves exiting after each job compete for the two cores; the stand-in isolates
  // the server's own cost.
  const idleStarts = async (env: Record<string, string>, n: number): Promise<number[]> => {
    const conn = await h.connect(env);
    await waitFinal(conn, (await conn.call('codex_start', { prompt: 'warm up', cwd })).job_id);
    const samples: number[] = [];
    for (let i = 0; i < n; i++) {
      const [t, r] = await timed(() => conn.call('codex_start', { prompt: `idle start ${i}`, cwd }));
      samples.push(t);
      await waitFinal(conn, r.job_id);
    }
    await conn.close();
    return samples;
  };
  record('codex_start, idle (real codex between jobs)', await idleStarts({}, 40), 10);
  record('codex_start, idle (stand-in codex)', await idleStarts({ CODEX_BIN: SLEEPY }, 100), 10);

  // Busy: 20 jobs running (the sleeping stand-in, so codex's own CPU does not blur the server's),
  // then the queue grows to 200 and beyond.
  const busy = await h.connect({ CODEX_BIN: SLEEPY, CODEX_ASYNC_MAX_CONCURRENT: '20' });
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) ids.push((await busy.call('codex_start', { prompt: `sleep:600 running ${i}`, cwd })).job_id);
  const running20 = await sample(100, async (i) => ids.push((await busy.call('codex_start', { prompt: `queued a ${i}`, cwd })).job_id));
  record('codex_start, 20 running (queue 0→100)', running20, 10);
  for (let i = 0; i < 100; i++) ids.push((await busy.call('codex_start', { prompt: `queued b ${i}`, cwd })).job_id);
  const queued200 = await sample(100, async (i) => ids.push((await busy.call('codex_start', { prompt: `queued c ${i}`, cwd })).job_id));
  record('codex_start, 20 running + 200 queued', queued200, 10);
  // Cancel queued jobs first, so none of them starts while the running ones are stopped.
  for (const id of [...ids].reverse()) await busy.call('codex_cancel', { job_id: id });
  await busy.close();
}

async function pollLatency(h: Harness): Promise<void> {
  const conn = await h.connect();
  // The floor for any tool: an MCP ping through the same client and stdio pipes.
  record('MCP ping round trip (the transport floor)', await sample(300, () => conn.client.ping()));
  const cwd = h.workdir();
  const jobs: Array<[string, number]> = [
    ['1 KB', 1024],
    ['100 MB', 100 * 2 ** 20],
    ['1 GB', 2 ** 30],
  ];
  const line = `${JSON.stringify({ type: 'item.completed', item: { id: 'f', type: 'agent_message', text: 'y'.repeat(1000) } })}\n`;
  const chunk = Buffer.from(line.repeat(1024));
  for (const [label, size] of jobs) {
    const done = await waitFinal(conn, (await conn.call('codex_start', { prompt: `poll ${label}`, cwd })).job_id);
    const events = path.join(h.home, 'jobs', done.job_id, 'events.jsonl');
    const fd = fs.openSync(events, 'a');
    while (fs.fstatSync(fd).size < size) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, size - fs.fstatSync(fd).size));
    fs.closeSync(fd);
    record(`codex_poll, event log of ${label}`, await sample(300, () => conn.call('codex_poll', { job_id: done.job_id })), 2);
    fs.rmSync(events);
  }
  await conn.close();
}

async function endToEnd(h: Harness): Promise<{ direct: number[]; server: number[] }> {
  const conn = await h.connect();
  const cwd = h.workdir();
  const direct: number[] = [];
  const server: number[] = [];
  for (let i = 0; i < 20; i++) {
    direct.push((await timed(() => codexDirect(h, cwd, `direct ${i}`)))[0]);
    server.push(
      (
        await timed(async () => {
          const { job_id } = await conn.call('codex_start', { prompt: `via server ${i}`, cwd });
          await conn.call('codex_wait', { job_ids: [job_id], timeout_seconds: 30 });
        })
      )[0],
    );
  }
  record('one short job: `codex exec` directly', direct);
  record('one short job: codex_start + codex_wait', server);
  await conn.close();
  return { direct, server };
}

async function memory(h: Harness): Promise<string[]> {
  const conn = await h.connect({ CODEX_BIN: SLEEPY, CODEX_ASYNC_MAX_CONCURRENT: '50' });
  const cwd = h.workdir();
  await sleep(1000);
  const idleRss = rssMb(conn.pid);
  const ids: string[] = [];
  for (let i = 0; i < 50; i++) ids.push((await conn.call('codex_start', { prompt: `sleep:600 memory ${i}`, cwd })).job_id);
  await sleep(2000);
  const wrappers = childrenOf(conn.pid);
  const wrapperRss = wrappers.map(rssMb);
  const serverRss50 = rssMb(conn.pid);
  for (const id of ids) await conn.call('codex_cancel', { job_id: id });
  await conn.close();
  const perJob = stats(wrapperRss);
  log(`memory: server idle ${idleRss.toFixed(1)} MB, with 50 running ${serverRss50.toFixed(1)} MB, wrapper p50 ${perJob.p50.toFixed(2)} MB`);
  return [
    '| measure | value | target |',
    '|---|---|---|',
    `| supervision per running job (the wrapper shell's RSS, ${perJob.n} jobs) | p50 ${perJob.p50.toFixed(2)} MB, max ${perJob.max.toFixed(2)} MB | < 5 MB ${perJob.max < 5 ? '✓' : '✗'} |`,
    `| server RSS, idle | ${idleRss.toFixed(1)} MB | < 60 MB ${idleRss < 60 ? '✓' : '✗'} |`,
    `| server RSS, 50 jobs running | ${serverRss50.toFixed(1)} MB | < 60 MB ${serverRss50 < 60 ? '✓' : '✗'} |`,
  ];
}

/**
 * What a server left open all day costs when nobody calls it: a fresh server on a new home
 * (connected, tools listed, no job ever started) over two windows — the first holds V8's
 * after-start-up garbage collections, the second is the steady state — then the same server with
 * 20 stand-in jobs running. The sweep interval is the default users get (the harness shortens it).
 */
async function idleCost(h: Harness): Promise<string[]> {
  const window = 30;
  const home = path.join(tempDir('idle'), 'state');
  const conn = await h.connect({ CODEX_ASYNC_HOME: home, CODEX_BIN: SLEEPY, CODEX_ASYNC_MAX_CONCURRENT: '20', CODEX_ASYNC_SWEEP_MS: '1000' });
  await conn.client.listTools();
  await sleep(2000); // start-up work (the first sweep, retention, warming) is not idle cost
  const idle = await quietCost(conn.pid, window);
  const steady = await quietCost(conn.pid, window);
  const cwd = h.workdir();
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) {
    const job = await conn.call('codex_start', { prompt: `sleep:600 idle ${i}`, cwd });
    if (job.status !== 'running') throw new Error(`idle bench: job ${job.job_id} is ${job.status}, not running`);
    ids.push(job.job_id);
  }
  await sleep(2000);
  const busy = await quietCost(conn.pid, window);
  for (const id of ids) await conn.call('codex_cancel', { job_id: id });
  await conn.close();
  const rows: Array<[string, typeof idle]> = [
    [`with no job ever started, 2–${2 + window} s after start`, idle],
    [`with no job ever started, ${2 + window}–${2 + 2 * window} s after start`, steady],
    [`with 20 stand-in jobs running, over ${window} s`, busy],
  ];
  for (const [what, c] of rows) log(`idle, ${what}: ${c.cpuPct.toFixed(2)} % CPU, ${c.wakeupsPerSecond.toFixed(2)} wake-ups/s`);
  return [
    '| measure | value | target |',
    '|---|---|---|',
    ...rows.map(([what, c]) => `| server ${what}, no calls | ${c.cpuPct.toFixed(2)} % CPU, ${c.wakeupsPerSecond.toFixed(2)} wake-ups/s | ≈ 0 |`),
  ];
}

/** Resident memory of fresh idle servers (connected, tools listed, nothing started), 1 s after start. */
async function idleRss(h: Harness): Promise<string[]> {
  const samples = await idleRssSamples(h);
  const s = stats(samples);
  log(`idle RSS of ${s.n} fresh servers: p50 ${s.p50.toFixed(1)} MB, min ${Math.min(...samples).toFixed(1)}, max ${s.max.toFixed(1)}`);
  return [
    '| measure | value | target |',
    '|---|---|---|',
    `| server RSS, idle (${s.n} fresh servers, 1 s after start) | p50 ${s.p50.toFixed(1)} MB, min ${Math.min(...samples).toFixed(1)}, max ${s.max.toFixed(1)} | < 60 MB ${s.max < 60 ? '✓' : '✗'} |`,
  ];
}

async function throughput(h: Harness): Promise<string[]> {
  const cwd = h.workdir();
  const count = 200;
  // xargs -P8 running codex exec directly: the floor.
  const prompts = Array.from({ length: count }, (_, i) => `throughput direct ${i}`).join('\n');
  const script = `printf '%s' "$1" | exec "$2" exec --json --skip-git-repo-check -C "$3" -s read-only - >/dev/null 2>&1`;
  const [tDirect] = await timed(
    () =>
      new Promise<void>((resolve, reject) => {
        const child = spawn('xargs', ['-P8', '-I{}', 'sh', '-c', script, 'sh', '{}', CODEX_BIN, cwd], { env: h.env(), stdio: ['pipe', 'ignore', 'ignore'] });
        child.stdin.end(prompts);
        child.on('exit', () => resolve());
        child.on('error', reject);
      }),
  );
  const conn = await h.connect({ CODEX_ASYNC_MAX_CONCURRENT: '8' });
  const [tServer] = await timed(async () => {
    const ids = await Promise.all(Array.from({ length: count }, (_, i) => conn.call('codex_start', { prompt: `throughput server ${i}`, cwd })));
    for (const { job_id } of ids) await waitFinal(conn, job_id, 600);
  });
  await conn.close();
  const direct = count / (tDirect / 1000);
  const server = count / (tServer / 1000);
  log(`throughput: direct ${direct.toFixed(2)} jobs/s, server ${server.toFixed(2)} jobs/s`);
  return [
    '| runner | 200 jobs took | jobs per second |',
    '|---|---|---|',
    `| \`xargs -P8\` running \`codex exec\` | ${(tDirect / 1000).toFixed(1)} s | ${direct.toFixed(2)} |`,
    `| the server, CODEX_ASYNC_MAX_CONCURRENT=8 | ${(tServer / 1000).toFixed(1)} s | ${server.toFixed(2)} (${(server / direct).toFixed(2)}× direct; target ≥ 0.9× ${server / direct >= 0.9 ? '✓' : '✗'}) |`,
  ];
}

async function storeScaling(h: Harness): Promise<string[]> {
  const rows = ['| jobs in the store | codex_start p50 / p99 ms | codex_poll p50 / p99 ms | codex_list (filter + page 2) p50 / p99 ms |', '|---|---|---|---|'];
  for (const n of [10, 100, 1000, 10000]) {
    const home = path.join(tempDir(`scale${n}`), 'state');
    const cwd = h.workdir();
    seedFinishedJobs(home, n, cwd);
    const conn = await h.connect({ CODEX_ASYNC_HOME: home, CODEX_BIN: SLEEPY, CODEX_ASYNC_MAX_CONCURRENT: '64' });
    const first = (await conn.call('codex_list', { limit: 1 })).jobs[0].job_id as string;
    const starts = await sample(50, (i) => conn.call('codex_start', { prompt: `scale ${i}`, cwd }));
    const polls = await sample(200, () => conn.call('codex_poll', { job_id: first }));
    const page1 = await conn.call('codex_list', { status: 'completed', limit: 20 });
    const lists = await sample(200, () => conn.call('codex_list', { status: 'completed', limit: 20, cursor: page1.next_cursor }));
    const [s, p, l] = [stats(starts), stats(polls), stats(lists)];
    rows.push(`| ${n} | ${s.p50.toFixed(2)} / ${s.p99.toFixed(2)} | ${p.p50.toFixed(2)} / ${p.p99.toFixed(2)} | ${l.p50.toFixed(2)} / ${l.p99.toFixed(2)} |`);
    if (n === 10000) {
      record('codex_list over 10,000 finished jobs (filter + page)', lists, 5);
      // The command line, as a person runs it: a whole process, from spawn to exit.
      const env = h.env({ CODEX_ASYNC_HOME: home, CODEX_BIN: SLEEPY });
      const command = (args: string[]) => {
        const t = performance.now();
        execFileSync(process.execPath, [SERVER_MAIN, ...args], { env, stdio: 'ignore' });
        return performance.now() - t;
      };
      record('command line: `ls` over 10,000 jobs (whole process)', Array.from({ length: 10 }, () => command(['ls'])));
      record('command line: `show ID` (whole process)', Array.from({ length: 10 }, () => command(['show', first])));
    }
    await conn.close();
    log(`store of ${n}: start p99 ${s.p99.toFixed(2)}, poll p99 ${p.p99.toFixed(2)}, list p99 ${l.p99.toFixed(2)}`);
  }
  return rows;
}

/** Peers that wrap codex, installed from npm into bench/.peers on first use. */
async function peers(h: Harness, direct: number[]): Promise<string[]> {
  const rows = ['| server | kind | time to a usable job handle p50 | one short job end to end p50 | overhead vs direct p50 | server RSS |', '|---|---|---|---|---|---|'];
  const directP50 = stats(direct).p50;
  const bin = path.join(PEERS, 'node_modules/.bin/codex-mcp-server');
  if (!fs.existsSync(bin)) {
    try {
      execFileSync('npm', ['install', '--prefix', PEERS, '--no-audit', '--no-fund', 'codex-mcp-server@1.4.10'], { stdio: 'ignore' });
    } catch {
      rows.push('| codex-mcp-server 1.4.10 | blocking | could not be installed from npm on this machine | | | |');
      return rows;
    }
  }
  const cwd = h.workdir();
  execFileSync('git', ['init', '-q', cwd]);
  const env = { ...h.env(), PATH: `${path.dirname(CODEX_BIN)}:${process.env.PATH ?? ''}` };
  const transport = new StdioClientTransport({ command: bin, args: [], env, stderr: 'ignore', cwd });
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(transport);
  const samples: number[] = [];
  let ok = 0;
  for (let i = 0; i < 15; i++) {
    const [t, r] = await timed(() => client.callTool({ name: 'codex', arguments: { prompt: `peer ${i}`, workingDirectory: cwd } }, { timeout: 120_000 } as never));
    samples.push(t);
    if (!(r as { isError?: boolean }).isError) ok++;
  }
  const rss = rssMb(transport.pid!);
  await client.close();
  const peer = stats(samples);
  rows.push(
    `| codex-mcp-server 1.4.10 (npm) | blocks until codex finishes | ${peer.p50.toFixed(0)} ms (= the whole job) | ${peer.p50.toFixed(0)} ms | ${(peer.p50 - directP50).toFixed(0)} ms | ${rss.toFixed(1)} MB |`,
  );
  log(`peer codex-mcp-server: p50 ${peer.p50.toFixed(0)} ms, ${ok}/15 calls succeeded`);
  if (ok < 15) rows.push(`| | | ${15 - ok} of its 15 calls returned an error | | | |`);
  return rows;
}

/**
 * A job's worktree on a repository of 10,000 files with uncommitted work (issue 12): our snapshot
 * of the user's changes plus `git worktree add`, beside a plain `git worktree add` of HEAD on the
 * same repository; removal; disk per worktree; and applying a job's 20 changed files back.
 */
async function worktrees(h: Harness): Promise<string[]> {
  const runs = 5;
  const dir = tempDir('worktree');
  const root = path.join(dir, 'repo');
  fs.mkdirSync(root);
  const { untouched } = seedWorkedOnRepo(root);
  const gitDir = path.join(root, '.git');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, stdio: 'ignore' });
  const at = (i: number) => ({ repo: root, path: path.join(dir, 'worktrees', `w${i}`), branch: `codex/bench${i}` });
  // Warm the page cache and the user's index (a user's `git status` would have) before timing.
  git('status', '--porcelain');

  // Interleaved, so both see the same load on a shared machine.
  const plainAdd: number[] = [];
  const plainAddWorkers: number[] = [];
  const plainRemove: number[] = [];
  const ours: number[] = [];
  const snapshot: number[] = [];
  const create: number[] = [];
  const remove: number[] = [];
  let worktreeKb = 0;
  let gitGrowthKb = 0;
  for (let i = 0; i < runs; i++) {
    const spec = at(i);
    plainAdd.push((await timed(async () => git('worktree', 'add', '--quiet', '--detach', spec.path, 'HEAD')))[0]);
    plainRemove.push((await timed(async () => git('worktree', 'remove', '--force', spec.path)))[0]);
    // The same parallel checkout createWorktree uses, so the ratio below is not only that.
    plainAddWorkers.push((await timed(async () => git('-c', 'checkout.workers=4', 'worktree', 'add', '--quiet', '--detach', spec.path, 'HEAD')))[0]);
    git('worktree', 'remove', '--force', spec.path);
    const gitBefore = duKb(gitDir);
    const [tSnap, base] = await timed(() => snapshotCommit(root, 'bench base'));
    const [tCreate] = await timed(() => createWorktree(spec, base));
    snapshot.push(tSnap);
    create.push(tCreate);
    ours.push(tSnap + tCreate);
    worktreeKb = duKb(spec.path);
    gitGrowthKb = duKb(gitDir) - gitBefore;
    remove.push((await timed(() => removeWorktree(spec)))[0]);
  }

  // A job that changed 20 files the user did not touch, applied (and put back) five times.
  const spec = at(99);
  const base = await snapshotCommit(root, 'bench base');
  await createWorktree(spec, base);
  const changed = untouched.slice(0, 20);
  for (const rel of changed) fs.appendFileSync(path.join(spec.path, rel), 'changed by the job\n');
  const [tDiff, changes] = await timed(() => changesOf(spec.path, base, { maxPatchBytes: 1 << 20 }));
  const dry: number[] = [];
  const apply: number[] = [];
  for (let i = 0; i < runs; i++) {
    const originals = changed.map((rel) => fs.readFileSync(path.join(root, rel)));
    dry.push((await timed(() => applyChanges({ target: root, base, tree: changes.tree, dryRun: true })))[0]);
    const [t, outcome] = await timed(() => applyChanges({ target: root, base, tree: changes.tree, dryRun: false }));
    if (!outcome.applied || outcome.files.length !== 20) throw new Error(`worktree bench: apply did not apply 20 files: ${JSON.stringify(outcome).slice(0, 300)}`);
    apply.push(t);
    changed.forEach((rel, k) => fs.writeFileSync(path.join(root, rel), originals[k]!));
  }
  await removeWorktree(spec);

  // Through the server (stand-in codex): codex_start's answer with isolation "worktree" beside
  // "none" on the same repository, and how long after it the job's worktree is ready.
  const conn = await h.connect({ CODEX_BIN: SLEEPY, CODEX_ASYNC_MAX_CONCURRENT: '1' });
  const answer: Record<'none' | 'worktree', number[]> = { none: [], worktree: [] };
  const ready: number[] = [];
  for (let i = 0; i < runs; i++) {
    for (const isolation of ['none', 'worktree'] as const) {
      const [t, r] = await timed(() => conn.call('codex_start', { prompt: `worktree bench ${i}`, cwd: root, isolation }));
      answer[isolation].push(t);
      if (isolation === 'worktree') {
        const begun = performance.now();
        for (;;) {
          const snap = await conn.call('codex_poll', { job_id: r.job_id, tail_lines: 0 });
          if (snap.workspace.state !== 'preparing') break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        ready.push(performance.now() - begun + t);
      }
      await waitFinal(conn, r.job_id);
      if (isolation === 'worktree') await conn.call('codex_discard', { job_id: r.job_id });
    }
  }
  await conn.close();
  fs.rmSync(dir, { recursive: true, force: true });

  const p50 = (xs: number[]) => stats(xs).p50;
  const ratio = p50(ours) / p50(plainAdd);
  const ratioWorkers = p50(ours) / p50(plainAddWorkers);
  log(`worktree: plain add p50 ${p50(plainAdd).toFixed(0)} ms, ours p50 ${p50(ours).toFixed(0)} ms (snapshot ${p50(snapshot).toFixed(0)} + create ${p50(create).toFixed(0)}), ratio ${ratio.toFixed(2)}`);
  log(`worktree: remove plain ${p50(plainRemove).toFixed(0)} ms, ours ${p50(remove).toFixed(0)} ms; disk ${worktreeKb} KiB + .git ${gitGrowthKb} KiB`);
  log(`worktree: changesOf ${tDiff.toFixed(0)} ms; apply 20 files: dry run ${p50(dry).toFixed(0)} ms, apply ${p50(apply).toFixed(0)} ms`);
  log(`worktree: plain add with 4 checkout workers p50 ${p50(plainAddWorkers).toFixed(0)} ms, ratio ${ratioWorkers.toFixed(2)}`);
  log(`worktree: codex_start answered in ${p50(answer.none).toFixed(0)} ms (none) / ${p50(answer.worktree).toFixed(0)} ms (worktree); worktree ready after ${p50(ready).toFixed(0)} ms`);
  const ms = (xs: number[]) => `${p50(xs).toFixed(0)} ms (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;
  return [
    `| measure (10,000 files; 50 modified, 10 deleted, 50 untracked, 1,000 ignored; ${runs} runs, p50 (min–max)) | value | target |`,
    '|---|---|---|',
    `| plain \`git worktree add --detach <path> HEAD\` | ${ms(plainAdd)} | |`,
    `| a job's worktree: snapshot of HEAD + uncommitted changes, then \`createWorktree\` | ${ms(ours)} = snapshot ${p50(snapshot).toFixed(0)} + create ${p50(create).toFixed(0)} | ≤ 1.2× plain: ${ratio.toFixed(2)}× ${ratio <= 1.2 ? '✓' : '✗'} |`,
    `| remove: plain \`git worktree remove --force\` / \`removeWorktree\` (worktree, registration, branch) | ${ms(plainRemove)} / ${ms(remove)} | |`,
    `| disk per worktree: its files / growth of .git | ${(worktreeKb / 1024).toFixed(1)} MiB / ${gitGrowthKb} KiB | |`,
    `| \`changesOf\` a job that changed 20 files (snapshot of the worktree, stat, patch) | ${tDiff.toFixed(0)} ms | |`,
    `| \`applyChanges\` of those 20 files: dry run / applied | ${ms(dry)} / ${ms(apply)} | |`,
    `| plain \`git worktree add\` with the same 4 checkout workers | ${ms(plainAddWorkers)} | ours: ${ratioWorkers.toFixed(2)}× |`,
    `| codex_start answered, through the server: isolation none / worktree | ${ms(answer.none)} / ${ms(answer.worktree)} | worktree not on the answer's path |`,
    `| from codex_start to the job's worktree ready (it shows "preparing its worktree" meanwhile) | ${ms(ready)} | |`,
  ];
}

const AGENTS_HEADING = 'Agents: one short job each, directly and through the server';

/**
 * One run of an agent's CLI as the job wrapper runs it (src/supervise/launch.ts): in the job's cwd,
 * at the job niceness, the prompt on stdin from a file, stdout and stderr to files. Returns the
 * exit status and what the CLI wrote on stdout.
 */
function runAsWrapper(bin: string, args: string[], env: NodeJS.ProcessEnv, cwd: string, nice: number, dir: string): Promise<{ code: number | null; stdout: string }> {
  const files = ['prompt.txt', 'events.jsonl', 'stderr.log'].map((name) => path.join(dir, name));
  const [stdin, stdout, stderr] = [fs.openSync(files[0]!, 'r'), fs.openSync(files[1]!, 'w'), fs.openSync(files[2]!, 'w')];
  const command = nice > 0 ? ['nice', '-n', String(nice), bin, ...args] : [bin, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { cwd, env, stdio: [stdin, stdout, stderr] });
    const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(guard);
      for (const fd of [stdin, stdout, stderr]) fs.closeSync(fd);
      resolve({ code, stdout: fs.readFileSync(files[1]!, 'utf8') });
    });
  });
}

/**
 * Issue 13: what a job through the server costs on top of running the agent's CLI directly, for
 * every agent in the registry, each against the loopback mock of its model API. Directly is the
 * command the server would run — the binary the server locates, the adapter's argv(spec) and
 * env(spec) on the job's environment — as the wrapper runs it; through the server is codex_start
 * with the agent to codex_wait returning the final snapshot. The two alternate run by run (and
 * which goes first alternates too), so load from other work on the machine falls on both.
 */
async function agentsOverhead(h: Harness, runs = 8): Promise<string[]> {
  const loadAtStart = os.loadavg();
  const rows = [
    '| agent | directly p50 / p95 ms | through the server p50 / p95 ms | overhead: p50 − p50 (median of the pairs) | server steps p50 ms: codex_start → wrapper running / agent exit → codex_wait returns | load average (1 min) during |',
    '|---|---|---|---|---|---|',
  ];
  let nice = 0;
  for (const agent of agents()) {
    const mocked = mockedAgent(agent.name);
    const mock = await mocked.startMock();
    const agentEnv = mocked.env(mock, h.env().HOME!);
    // The environment the server runs in: the MCP client adds what it always passes on (SHELL, TERM, …).
    const serverEnv = { ...getDefaultEnvironment(), ...h.env(agentEnv) };
    const config = loadConfig(serverEnv);
    nice = config.jobNice;
    const binary = await new AgentLocator(agent, config.bins[agent.name], config.searchPath).locate();
    const cwd = h.workdir();
    // The sweep at its default (the harness shortens it for tests): a user's server, not a test's.
    const conn = await h.connect({ ...agentEnv, CODEX_ASYNC_SWEEP_MS: '1000' });
    const answered = (text: string, what: string) => {
      if (!text.includes('mock answer: ')) throw new Error(`agents bench: ${agent.name} ${what} did not answer: ${text.slice(-500)}`);
    };
    const direct = async (label: string): Promise<number> => {
      const dir = tempDir('agent-direct');
      fs.writeFileSync(path.join(dir, 'prompt.txt'), `${label}: say hi`);
      // A read-only job with no options, as codex_start with only a prompt makes it.
      const spec = runSpec({ jobId: newJobId(), cwd, access: { sandbox: 'read-only', bypass: false }, lastMessageFile: path.join(dir, 'last-message.txt'), jobDir: dir });
      const env = { ...jobEnvironment(serverEnv), ...agent.env(spec) };
      const [t, ran] = await timed(() => runAsWrapper(binary.path, agent.argv(spec), env, cwd, config.jobNice, dir));
      if (ran.code !== 0) throw new Error(`agents bench: ${agent.name} exited ${ran.code}: ${fs.readFileSync(path.join(dir, 'stderr.log'), 'utf8').slice(-500)}`);
      answered(ran.stdout, 'run directly');
      fs.rmSync(dir, { recursive: true, force: true });
      return t;
    };
    // Where the server's time goes: from codex_start to the wrapper running (its pid file), and
    // from the agent's exit (the wrapper's exit file) to codex_wait returning.
    const toWrapper: number[] = [];
    const fromExit: number[] = [];
    const viaServer = async (label: string): Promise<number> => {
      const began = Date.now();
      const [t, done] = await timed(async () => {
        const { job_id } = await conn.call('codex_start', { prompt: `${label}: say hi`, cwd, agent: agent.name });
        return waitFinal(conn, job_id);
      });
      const ended = Date.now();
      if (done.status !== 'completed') throw new Error(`agents bench: ${agent.name} job ${done.job_id} ${done.status}: ${JSON.stringify(done.error)}`);
      answered(done.last_message ?? '', 'through the server');
      const mtime = (name: string) => fs.statSync(path.join(h.home, 'jobs', done.job_id, name)).mtimeMs;
      toWrapper.push(mtime('pid') - began);
      fromExit.push(ended - mtime('exit'));
      return t;
    };
    log(`agents: ${agent.name} ${binary.version} (${binary.path})`);
    // The warm-up fills caches on both paths: the binary's pages, Copilot's unpacked cache, the server's version probe.
    await direct('warm-up direct');
    await viaServer('warm-up server');
    const load = [os.loadavg()[0]!];
    const directly: number[] = [];
    const pairs: number[] = [];
    const served: number[] = [];
    for (let i = 0; i < runs; i++) {
      const pair = [() => direct(`direct ${i}`).then((t) => directly.push(t)), () => viaServer(`server ${i}`).then((t) => served.push(t))];
      if (i % 2) pair.reverse();
      for (const run of pair) await run();
      pairs.push(served.at(-1)! - directly.at(-1)!);
      load.push(os.loadavg()[0]!);
    }
    await conn.close();
    await mock.close();
    const [d, s] = [stats(directly), stats(served)];
    const overhead = s.p50 - d.p50;
    const [w, x] = [stats(toWrapper), stats(fromExit)];
    const range = (xs: number[]) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b).map((v) => v.toFixed(0)).join(' ');
    log(`agents: ${agent.name} directly p50 ${d.p50.toFixed(0)} ms [${sorted(directly)}], through the server p50 ${s.p50.toFixed(0)} ms [${sorted(served)}], overhead ${overhead.toFixed(0)} ms, pairs [${sorted(pairs)}]; load ${range(load)}`);
    rows.push(
      `| ${agent.title} (\`${agent.name}\` ${binary.version}) | ${d.p50.toFixed(0)} / ${d.p95.toFixed(0)} | ${s.p50.toFixed(0)} / ${s.p95.toFixed(0)} | ${overhead.toFixed(0)} ms, ${((overhead / d.p50) * 100).toFixed(0)} % (${stats(pairs).p50.toFixed(0)} ms) | ${w.p50.toFixed(0)} / ${x.p50.toFixed(0)} | ${range(load)} |`,
    );
  }
  const loadAtEnd = os.loadavg();
  const avg = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');
  const command = process.argv.includes('--only') ? `npm run bench -- ${process.argv.slice(process.argv.indexOf('--only')).join(' ')}` : 'npm run bench';
  return [
    `Measured ${new Date().toISOString().slice(0, 10)} with \`${command}\` on ${os.cpus().length} cores shared with other work:`,
    `load average (1 / 5 / 15 min) ${avg(loadAtStart)} at the start, ${avg(loadAtEnd)} at the end. Each agent's real CLI`,
    `answers a one-line prompt (no tool call) from the loopback mock of its model API (test/helpers/agentMocks.ts).`,
    `**Directly**: the command the server runs for the job — the same binary, the adapter's \`argv(spec)\` and`,
    `\`env(spec)\` on the job's environment, read-only — as the job wrapper runs it: at the job niceness (nice ${nice}),`,
    `the prompt on stdin from a file, stdout and stderr to files; spawn to exit. **Through the server**: \`codex_start\``,
    `with \`agent\` to \`codex_wait\` returning the final snapshot, at the MCP client, from a server with default settings.`,
    `${runs} runs of each after one warm-up, a direct and a server run back to back, which goes first alternating, so`,
    `both see the same load; the median of the pairs is the median of server − direct over those ${runs} pairs. The server`,
    `steps are read from the job's files: its wrapper's \`pid\` (written as the wrapper starts) and \`exit\` (as the agent ends).`,
    `Under load, single runs spread by more than the overhead (compare p50 and p95), so the p50 difference can come out`,
    `negative; the server steps are its own share measured directly (on a quiet machine codex_start takes ~5 ms and a`,
    `finished job is visible ~6 ms after the agent's exit: see Latency).`,
    '',
    ...rows,
    '',
  ];
}

/**
 * `--only cold,first`: run just those benches and print their figures; BENCHMARKS.md is left alone.
 * `--only agents --write` also puts the agents section into BENCHMARKS.md, leaving the rest as it is;
 * `--runs N` sets its number of runs per agent (default 8). `--only fleet --write` likewise writes the fleet
 * section; there `--runs N` sets the latency runs per mode (default 20) and `--jobs N` the jobs per
 * throughput run (default 200). `--only workenv --write` writes the section of a job's worktree as a working
 * environment (issue 21); there `--runs N` sets the runs of each way (default 3). `--only lean [--base REV] --write`
 * writes issue 22's before → after section: the figures of REV (default LEAN_BASE) and of this checkout in one
 * run; there `--runs N` sets the rounds of its latency figures (default 2) and `--jobs N` the jobs per
 * throughput run (default 200). A whole run keeps the lean section as it is (it compares two builds).
 * `--only platforms --write` writes issue 23's section: the Linux and the portable supervision path of this
 * checkout side by side; `--jobs N` sets the stand-in jobs per run (default 100). A whole run keeps it as it is.
 * `--only land --write` writes issue 24's section: one codex_land of 10 worktree jobs against 10 sequential
 * codex_apply; `--runs N` sets the runs (default 3, each making 20 real jobs).
 */
const BENCHES = ['cold', 'start', 'first', 'poll', 'pollload', 'visible', 'e2e', 'scale', 'rss', 'memory', 'idle', 'throughput', 'peers', 'worktree', 'workenv', 'agents', 'fleet', 'lean', 'platforms', 'land'] as const;
type BenchName = (typeof BENCHES)[number];

/**
 * Puts `## heading` and its text into BENCHMARKS.md in place of the section of that name, or, when
 * there is none, before the notes kept by hand (bench/NOTES.md), where a whole run writes it.
 */
function writeSection(heading: string, body: string[]): void {
  const file = path.join(ROOT, 'BENCHMARKS.md');
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const section = [`## ${heading}`, '', ...body];
  const at = sectionAt(lines, heading);
  if (at) {
    lines.splice(at.start, at.end - at.start, ...section);
  } else {
    const notes = path.join(ROOT, 'bench/NOTES.md');
    const notesHeading = fs.existsSync(notes) ? fs.readFileSync(notes, 'utf8').split('\n').find((line) => line.startsWith('## ')) : undefined;
    const notesAt = notesHeading ? lines.indexOf(notesHeading) : -1;
    lines.splice(notesAt < 0 ? lines.length : notesAt, 0, ...section);
  }
  fs.writeFileSync(file, lines.join('\n'));
  log(`wrote the section "${heading}" of BENCHMARKS.md`);
}

/** `--runs N`-style options: a positive whole number, or undefined when not given. */
function countOption(name: string): number | undefined {
  if (!process.argv.includes(name)) return undefined;
  const n = Number(process.argv[process.argv.indexOf(name) + 1]);
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`${name} takes a positive whole number`);
  return n;
}

/** `--base REV`-style options: the word after the name, or undefined when not given. */
function stringOption(name: string): string | undefined {
  if (!process.argv.includes(name)) return undefined;
  const value = process.argv[process.argv.indexOf(name) + 1];
  if (!value || value.startsWith('--')) throw new Error(`${name} takes a value`);
  return value;
}

/** Where the section `## heading` is among `lines`: its heading's index, and the next section's (or the end). */
function sectionAt(lines: string[], heading: string): { start: number; end: number } | null {
  const start = lines.indexOf(`## ${heading}`);
  if (start < 0) return null;
  const next = lines.findIndex((line, i) => i > start && line.startsWith('## '));
  return { start, end: next < 0 ? lines.length : next };
}

/** The lines of BENCHMARKS.md's section `## heading` (heading included), or none. */
function sectionOf(heading: string): string[] {
  const file = path.join(ROOT, 'BENCHMARKS.md');
  const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : [];
  const at = sectionAt(lines, heading);
  return at ? lines.slice(at.start, at.end) : [];
}

function selected(): Set<BenchName> | null {
  const at = process.argv.indexOf('--only');
  if (at < 0) return null;
  const names = (process.argv[at + 1] ?? '').split(',').filter(Boolean);
  const unknown = names.filter((n) => !(BENCHES as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length) {
    process.stderr.write(`--only takes a comma-separated list of: ${BENCHES.join(', ')}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}\n`);
    process.exit(2);
  }
  return new Set(names as BenchName[]);
}

async function main(): Promise<void> {
  const started = Date.now();
  const only = selected();
  const h = await startHarness();
  try {
    if (only) {
      const sections: string[][] = [];
      let direct: number[] = [];
      const steps: Record<BenchName, () => Promise<unknown>> = {
        cold: async () => recordAll(await coldStart(h)),
        start: () => startLatency(h),
        first: async () => recordAll(await firstStart(h)),
        poll: () => pollLatency(h),
        pollload: async () => recordAll(await pollUnderLoad(h)),
        visible: async () => recordAll(await completionVisibility(h)),
        e2e: async () => (direct = (await endToEnd(h)).direct),
        scale: async () => sections.push(await storeScaling(h)),
        rss: async () => sections.push(await idleRss(h)),
        memory: async () => sections.push(await memory(h)),
        idle: async () => sections.push(await idleCost(h)),
        throughput: async () => sections.push(await throughput(h)),
        peers: async () => sections.push(await peers(h, direct.length ? direct : (await endToEnd(h)).direct)),
        worktree: async () => sections.push(await worktrees(h)),
        workenv: async () => {
          const rows = await workenvBench(h, { runs: countOption('--runs') });
          sections.push(rows);
          if (process.argv.includes('--write')) writeSection(WORKENV_HEADING, rows);
        },
        agents: async () => {
          const rows = await agentsOverhead(h, countOption('--runs'));
          sections.push(rows);
          if (process.argv.includes('--write')) writeSection(AGENTS_HEADING, rows);
        },
        fleet: async () => {
          const rows = await fleetBench(h, { runs: countOption('--runs'), jobs: countOption('--jobs') });
          sections.push(rows);
          if (process.argv.includes('--write')) writeSection(FLEET_HEADING, rows);
        },
        lean: async () => {
          const rows = await leanBench({ base: stringOption('--base'), runs: countOption('--runs'), jobs: countOption('--jobs') });
          sections.push(rows);
          if (process.argv.includes('--write')) writeSection(LEAN_HEADING, rows);
        },
        platforms: async () => {
          const rows = await platformsBench(h, { jobs: countOption('--jobs') });
          sections.push(rows);
          if (process.argv.includes('--write')) writeSection(PLATFORMS_HEADING, rows);
        },
        land: async () => {
          const rows = await landBench(h, { runs: countOption('--runs') });
          sections.push(rows);
          if (process.argv.includes('--write')) writeSection(LAND_HEADING, rows);
        },
      };
      for (const name of BENCHES) {
        if (!only.has(name)) continue;
        log(`${name}…`);
        await steps[name]();
      }
      log('');
      if (figures.length) log(figureTable(figures).join('\n'));
      for (const rows of sections) log(`\n${rows.join('\n')}`);
      return;
    }
    log('cold start…');
    recordAll(await coldStart(h));
    log('codex_start latency…');
    await startLatency(h);
    log('first codex_start…');
    recordAll(await firstStart(h));
    log('codex_poll latency…');
    await pollLatency(h);
    log('codex_poll under load…');
    recordAll(await pollUnderLoad(h));
    log('completion visibility…');
    recordAll(await completionVisibility(h));
    log('end to end…');
    const e2e = await endToEnd(h);
    log('store scaling…');
    const scaling = await storeScaling(h);
    log('memory and idle cost…');
    const memoryRows = [...(await memory(h)), ...(await idleRss(h)).slice(2), ...(await idleCost(h)).slice(2)];
    log('throughput…');
    const through = await throughput(h);
    log('peers…');
    const peerRows = await peers(h, e2e.direct);
    log('worktrees…');
    const worktreeRows = await worktrees(h);
    log('worktree as a working environment…');
    const workenvRows = await workenvBench(h);
    log('agents…');
    const agentRows = await agentsOverhead(h);
    log('fleet…');
    const fleetRows = await fleetBench(h);
    log('landing…');
    const landRows = await landBench(h);
    const ours = stats(e2e.server);
    const floor = stats(e2e.direct);
    const ourStart = figures.find((f) => f.name === 'codex_start, idle (stand-in codex)')!.stat;
    peerRows.splice(
      2,
      0,
      `| codex-async-mcp (this) | background job | ${ourStart.p50.toFixed(1)} ms (codex_start) | ${ours.p50.toFixed(0)} ms (start + wait) | ${(ours.p50 - floor.p50).toFixed(0)} ms | see memory |`,
      `| \`codex exec\` directly | the floor | — | ${floor.p50.toFixed(0)} ms | 0 | — |`,
    );
    report.push(
      '# Benchmarks',
      '',
      'Produced by `npm run bench` (bench/run.ts). The real codex binary runs against the loopback mock of the',
      'OpenAI Responses API from the tests; the server is driven through the MCP SDK client over stdio. Where only',
      "the server's own cost matters (jobs that must stay running, 10,000-job stores), codex is replaced by",
      '`bench/fixtures/sleepy-codex.sh`, a shell stand-in that sleeps. Times are client round trips.',
      '',
      `- date: ${new Date().toISOString().slice(0, 10)}; whole run ${((Date.now() - started) / 60000).toFixed(1)} min`,
      `- machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`,
      `- node ${process.version}, ${execFileSync(CODEX_BIN, ['--version'], { encoding: 'utf8' }).trim()}`,
      '',
      '![p50 and p99 of the main figures](bench/figures.svg)',
      '',
      '## Latency',
      '',
      ...figureTable(figures),
      '',
      `End-to-end overhead per job, through the server vs \`codex exec\` directly: ${(ours.p50 - floor.p50).toFixed(1)} ms at p50 (target < 50 ms ${ours.p50 - floor.p50 < 50 ? '✓' : '✗'}).`,
      '',
      '## How cost grows with the store',
      '',
      ...scaling,
      '',
      '## Memory and idle cost',
      '',
      ...memoryRows,
      '',
      '## Throughput: 200 short mock jobs, 8 at a time',
      '',
      ...through,
      '',
      '## Side by side with other servers that wrap codex',
      '',
      ...peerRows,
      '',
      'Not measured: the Python codex-async-mcp this project started from (its dependencies come from PyPI,',
      'which this machine cannot reach), and other background-job wrappers of codex (none is published on npm',
      'that we could find). `codex mcp-server`, which older codex versions offered, is not in codex-cli 0.169.',
      '',
      "## A job's worktree (isolation: \"worktree\")",
      '',
      ...worktreeRows,
      '',
      `## ${WORKENV_HEADING}`,
      '',
      ...workenvRows,
      `## ${AGENTS_HEADING}`,
      '',
      ...agentRows,
      `## ${FLEET_HEADING}`,
      '',
      ...fleetRows,
      ...sectionOf(LEAN_HEADING),
      `## ${LAND_HEADING}`,
      '',
      ...landRows,
    );
    const notes = path.join(ROOT, 'bench/NOTES.md');
    if (fs.existsSync(notes)) report.push(fs.readFileSync(notes, 'utf8'));
    fs.writeFileSync(path.join(ROOT, 'bench/figures.svg'), barChart('codex-async-mcp: round trips at the MCP client', figures));
    fs.writeFileSync(path.join(ROOT, 'BENCHMARKS.md'), report.join('\n'));
    log(`wrote BENCHMARKS.md and bench/figures.svg in ${(performance.now() / 60000).toFixed(1)} min`);
  } finally {
    await h.close();
  }
}

await main();
