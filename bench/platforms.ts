/**
 * Issue 23: what supervising costs on each platform path of one build — Linux's /proc and the
 * portable ps/lsof path a Mac runs (CODEX_ASYNC_PLATFORM=posix) — measured here on Linux, where
 * both run. One look of each kind, timed in this process; then stand-in jobs through a local server
 * on each path, the paths taking turns, with the CPU of the server's cgroup (wrappers, callbacks and
 * `ps` included) minus the stand-in's own.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { linux } from '../src/supervise/platform/linux.ts';
import type { Platform } from '../src/supervise/platform/platform.ts';
import { posix } from '../src/supervise/platform/posix.ts';
import type { Harness } from '../test/helpers/harness.ts';
import { cpuGroup } from './cpu.ts';
import { localServer, SLOTS, timeJobs } from './fleet.ts';
import { standInAlone } from './lean.ts';
import { stats } from './lib.ts';

export const PLATFORMS_HEADING = 'Supervision on each platform path (issue 23)';

const log = (line: string) => process.stdout.write(`${line}\n`);

/** p50 of `n` runs of `fn`, in ms. */
function timed(fn: () => unknown, n = 40): number {
  fn();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  return stats(samples).p50;
}

function looks(p: Platform, pids: number[]): Record<string, number> {
  return {
    'one process (identity)': timed(() => p.stat(process.pid)),
    'every process (the turn\'s table)': timed(() => p.all()),
    [`the environments of ${pids.length}`]: timed(() => p.environments(pids)),
    'ports listened on': timed(() => p.listening(), 10),
  };
}

export async function platformsBench(h: Harness, opts: { jobs?: number } = {}): Promise<string[]> {
  const jobs = opts.jobs ?? 100;
  const began = performance.now();
  const load = os.loadavg()[0]!.toFixed(1);
  const all = linux.all();
  const pids = all.slice(-20).map((r) => r.pid);
  const cost = { linux: looks(linux, pids), posix: looks(posix, pids) };
  for (const [name, figures] of Object.entries(cost)) log(`platforms, ${name}: ${Object.entries(figures).map(([k, v]) => `${k} ${v.toFixed(2)} ms`).join(', ')}`);
  const standIn = await standInAlone(30);
  const runs: Record<'linux' | 'posix', Array<{ seconds: number; cpuMs: number }>> = { linux: [], posix: [] };
  for (const name of ['linux', 'posix', 'posix', 'linux'] as const) {
    const group = cpuGroup(`platform-${name}`);
    const conn = await localServer(h, SLOTS, { CODEX_ASYNC_PLATFORM: name });
    try {
      group.add(conn.pid);
      const before = group.usedMs();
      const run = await timeJobs(conn, jobs, `${name} path`, [conn.pid]);
      await group.settle([conn.pid]);
      const cpuMs = (group.usedMs() - before) / jobs - standIn.perRunMs;
      runs[name].push({ seconds: run.took / 1000, cpuMs });
      log(`platforms, ${name}: ${jobs} jobs in ${(run.took / 1000).toFixed(1)} s, supervision ${cpuMs.toFixed(1)} ms of CPU a job`);
    } finally {
      await conn.close();
      await group.remove();
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const row = (label: string, f: (name: 'linux' | 'posix') => string) => `| ${label} | ${f('linux')} | ${f('posix')} |`;
  return [
    `\`npm run bench -- --only platforms --write\` (bench/platforms.ts), ${new Date().toISOString().slice(0, 10)}: one build, both paths, on this Linux`,
    `machine (${os.cpus().length} CPUs, ${all.length} processes, load ${load} at the start; ${((performance.now() - began) / 60000).toFixed(1)} min). macOS runs the portable path;`,
    'no Mac measured it here. A look is one call into the platform from this process (p50); the job figures are',
    `${jobs} stand-in jobs (${SLOTS} at a time) through a local server on each path, twice each, the paths taking turns;`,
    `supervision CPU is the server's cgroup (server, wrappers, callbacks, ps) a job, minus the stand-in's own (${standIn.perRunMs.toFixed(1)} ms).`,
    '',
    '| measure | Linux (/proc) | portable (ps, lsof) |',
    '|---|---|---|',
    ...Object.keys(cost.linux).map((k) => row(`a look: ${k}`, (name) => `${cost[name][k]!.toFixed(2)} ms`)),
    row(`${jobs} jobs, ${SLOTS} slots: wall time`, (name) => runs[name].map((r) => `${r.seconds.toFixed(1)} s`).join(', ')),
    row('supervision CPU a job', (name) => `${mean(runs[name].map((r) => r.cpuMs)).toFixed(1)} ms (${runs[name].map((r) => r.cpuMs.toFixed(1)).join(', ')})`),
    '',
    'Every look on the portable path is a `ps` or `lsof` process, blocking the server while it runs, where /proc',
    'costs a read; proc.ts shares one table of every process among all the queries of a turn of the event loop, and',
    'on the portable path identity checks read it too, so a sweep over every running job costs one `ps`. What is left',
    'is about six `ps` a job at ~17 ms of CPU each: the wrapper\'s own start time and one check of its listener, the',
    'server\'s look at the new wrapper, and its look at the ended job\'s leftovers (the table, then the environments).',
    '',
  ];
}
