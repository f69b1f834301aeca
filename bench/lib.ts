/** Measuring helpers for bench/run.ts: statistics, /proc readings, seeding a store, the report. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { emptyProgress } from '../src/agents/progress.ts';
import { openDb } from '../src/jobs/db.ts';
import { homeLayout, prepareHome } from '../src/jobs/files.ts';
import { newJobId } from '../src/jobs/ids.ts';
import { JobStore } from '../src/jobs/store.ts';
import { UNSEEN_CHECKOUT } from '../src/engine/workspaces.ts';

export interface Stat {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function stats(samples: number[]): Stat {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
  return { n: s.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s.at(-1) ?? NaN };
}

export async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const r = await fn();
  return [performance.now() - t, r];
}

export async function sample(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await timed(() => fn(i)))[0]);
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resident memory of one process, in MiB. */
export function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** CPU seconds (user + system) a process has used, and its voluntary context switches (wake-ups). */
export function cpuAndWakeups(pid: number): { cpuSeconds: number; wakeups: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]);
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return { cpuSeconds: ticks / 100, wakeups: Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0) };
}

/**
 * What a process costs while nobody calls it: CPU as a percentage of one core, and wake-ups
 * (voluntary context switches of its main thread, the event loop) per second, over `seconds`.
 */
export async function quietCost(pid: number, seconds: number): Promise<{ cpuPct: number; wakeupsPerSecond: number }> {
  const before = cpuAndWakeups(pid);
  await sleep(seconds * 1000);
  const after = cpuAndWakeups(pid);
  return {
    cpuPct: ((after.cpuSeconds - before.cpuSeconds) / seconds) * 100,
    wakeupsPerSecond: (after.wakeups - before.wakeups) / seconds,
  };
}

export function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Fills a store with `count` finished jobs, as if they had run, straight through the job store. */
export function seedFinishedJobs(home: string, count: number, cwd: string): void {
  const layout = homeLayout(home);
  prepareHome(layout);
  const db = openDb(layout.db);
  const store = new JobStore(db);
  const now = Date.now() - count * 1000;
  const insertAll = db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const id = newJobId();
      store.insert({
        id,
        agent: 'codex',
        prompt_head: `seeded job ${i}`,
        prompt_bytes: 12,
        cwd,
        sandbox: 'read-only',
        bypass: false,
        approval_policy: null,
        model: null,
        reasoning_effort: null,
        timeout_seconds: 3600,
        stall_seconds: null,
        has_output_schema: false,
        images: [],
        add_dirs: [],
        label: i % 10 === 0 ? 'tenth' : null,
        parent_job_id: null,
        resume_thread_id: null,
        created_at: now + i * 1000,
        isolation: 'none',
        workspace: UNSEEN_CHECKOUT,
        group_id: null,
        check_command: null,
        setup_command: null,
        include: [],
      });
      fs.mkdirSync(path.join(layout.jobsDir, id), { mode: 0o700 });
    }
  });
  insertAll();
  // Claimed by a process that never lived ("0 0"), then finished against that claim.
  for (const job of store.claimQueued(count, now, '0 0', ['codex'])) {
    store.finish(
      job.id,
      {
        status: 'completed',
        exit_code: 0,
        error: null,
        final_message: 'done',
        thread_id: null,
        check: null,
        setup: null,
        progress: emptyProgress(),
        events_offset: 0,
        finished_at: now,
      },
      job,
    );
  }
  db.close();
}

const fmt = (x: number) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x.toFixed(2)) : 'n/a');

export interface Figure {
  name: string;
  stat: Stat;
  /** p99 target in ms, if the issue sets one. */
  target?: number;
}

export function figureTable(figures: Figure[]): string[] {
  const rows = figures.map((f) => {
    const verdict = f.target === undefined ? '' : f.stat.p99 <= f.target ? `< ${f.target} ✓` : `< ${f.target} ✗`;
    return `| ${f.name} | ${f.stat.n} | ${fmt(f.stat.p50)} | ${fmt(f.stat.p95)} | ${fmt(f.stat.p99)} | ${fmt(f.stat.max)} | ${verdict} |`;
  });
  return ['| measure | n | p50 ms | p95 ms | p99 ms | max ms | p99 target |', '|---|---|---|---|---|---|---|', ...rows];
}

/** A horizontal bar chart of p50 and p99 (log scale), readable on GitHub as an SVG file. */
export function barChart(title: string, figures: Figure[]): string {
  const rowH = 26;
  const left = 330;
  const width = 900;
  const plot = width - left - 90;
  const top = 40;
  const height = top + figures.length * rowH + 40;
  const max = Math.max(...figures.map((f) => f.stat.p99).filter(Number.isFinite), 1);
  const scale = (v: number) => (Math.log10(Math.max(v, 0.1)) + 1) / (Math.log10(max) + 1) * plot;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const bars = figures.map((f, i) => {
    const y = top + i * rowH;
    const target = f.target === undefined ? '' : `<line x1="${left + scale(f.target)}" x2="${left + scale(f.target)}" y1="${y}" y2="${y + 18}" stroke="#d33" stroke-width="2"/>`;
    return [
      `<text x="${left - 8}" y="${y + 13}" text-anchor="end">${esc(f.name)}</text>`,
      `<rect x="${left}" y="${y}" width="${scale(f.stat.p99).toFixed(1)}" height="18" fill="#9ecae1"/>`,
      `<rect x="${left}" y="${y + 4}" width="${scale(f.stat.p50).toFixed(1)}" height="10" fill="#3182bd"/>`,
      target,
      `<text x="${left + scale(f.stat.p99) + 6}" y="${y + 13}">${fmt(f.stat.p50)} / ${fmt(f.stat.p99)} ms</text>`,
    ].join('');
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="22" font-size="15" font-weight="bold">${esc(title)}</text>
${bars.join('\n')}
<text x="10" y="${height - 12}" fill="#555">dark bar: p50 · light bar: p99 · red mark: p99 target · log scale, milliseconds</text>
</svg>
`;
}

/**
 * A repository of `files` small text files three folders deep, committed, then worked on the way
 * a user's checkout is: 50 tracked files modified, 10 deleted, 50 untracked added, and an ignored
 * folder of 1,000 files. Returns the paths of files left untouched (for a job to change).
 */
export function seedWorkedOnRepo(root: string, files = 10_000): { untouched: string[] } {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'Bench');
  git('config', 'user.email', 'bench@localhost');
  const all: string[] = [];
  for (let i = 0; i < files; i++) {
    const rel = `pkg${i % 10}/mod${Math.floor(i / 10) % 10}/part${Math.floor(i / 100) % 10}/file${i}.txt`;
    fs.mkdirSync(path.join(root, path.dirname(rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), `file ${i}\n${'some text on a line\n'.repeat(10)}`);
    all.push(rel);
  }
  fs.writeFileSync(path.join(root, '.gitignore'), 'build/\n');
  git('add', '-A');
  git('commit', '-qm', 'bench: 10,000 files');
  for (const rel of all.slice(0, 50)) fs.appendFileSync(path.join(root, rel), 'changed by the user\n');
  for (const rel of all.slice(50, 60)) fs.rmSync(path.join(root, rel));
  for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(root, `pkg${i % 10}/new${i}.txt`), `untracked ${i}\n`);
  fs.mkdirSync(path.join(root, 'build'));
  for (let i = 0; i < 1000; i++) fs.writeFileSync(path.join(root, `build/out${i}.o`), `ignored ${i}\n`);
  return { untouched: all.slice(60) };
}

/** Disk used by a directory, in KiB, as `du -sk` counts it. */
export function duKb(dir: string): number {
  return Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split('\t')[0]);
}
