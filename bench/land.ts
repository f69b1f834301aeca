/**
 * Issue 24: landing several finished worktree jobs as one change. On the worktree bench's
 * repository (10,000 files, the user's uncommitted work in it), each run makes 20 real jobs — the
 * real codex against the loopback mock, sandbox workspace-write, isolation worktree, each running
 * one shell command that changes 1–5 files — as two identical sets of 10 (same files, same edits).
 * One set is brought in with a single `codex_land {job_ids}` (no check, into the checkout), the other
 * with 10 `codex_apply` calls one after another; which goes first alternates between runs. After
 * each, the checkout is put back (only the jobs' files), so both start from the same state.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tempDir, waitFinal, type Connection, type Harness } from '../test/helpers/harness.ts';
import { changesOf } from '../src/workspace/changes.ts';
import { snapshotTree } from '../src/workspace/snapshot.ts';
import { seedWorkedOnRepo, sleep, stats, timed } from './lib.ts';

export const LAND_HEADING = 'Landing several jobs as one change (issue 24)';

const log = (line: string) => process.stdout.write(`${line}\n`);

/** The goal: one landing takes at most this multiple of the same jobs applied one by one. */
const GOAL = 1.5;
const JOBS = 10;
/** Jobs the server runs at once while a run's jobs are made. */
const SLOTS = 4;

/** Job k of a set changes 1 + k mod 5 files: 1, 2, 3, 4, 5, 1, … — 30 files for 10 jobs. */
const filesOf = (k: number) => 1 + (k % 5);

/** The paths each job of a set changes, none shared between jobs (so all merge cleanly). */
function jobFiles(untouched: string[]): string[][] {
  let at = 0;
  return Array.from({ length: JOBS }, (_, k) => {
    const files = untouched.slice(at, at + filesOf(k));
    at += files.length;
    return files;
  });
}

/** A prompt that makes the real codex append one line to each of `files` (the mock's [[shell:…]] marker). */
function prompt(k: number, files: string[]): string {
  const cmd = `for f in ${files.join(' ')}; do printf 'changed by job ${k}\\n' >> "$f"; done`;
  return `[[shell:${cmd}]] job ${k}: append a line to ${files.length} file${files.length === 1 ? '' : 's'}`;
}

const LINE = (k: number) => `changed by job ${k}\n`;

interface Run {
  land: number;
  apply: number;
  /** Which of the two went first in this run. */
  first: 'land' | 'apply';
  making: number;
  /** One look at a job's worktree (changesOf, as codex_apply and codex_land read a job's work), p50 ms. */
  lookJob: number;
  /** One look at the checkout (snapshotTree of HEAD + the user's uncommitted work), p50 ms. */
  lookCheckout: number;
}

/** How many looks of each kind one codex_land and 10 codex_apply take at this build (src/engine/landing.ts, integrate.ts, workspaces.ts). */
const LOOKS = {
  // The server reads every job's worktree (its process takes the trees from the record) and the
  // checkout to refuse an overlap before it starts, then snapshots the checkout as the landing's base;
  // the landing's process reads the checkout twice more (the overlap check before delivery, then applyChanges).
  land: { job: JOBS, checkout: 4 },
  apply: { job: JOBS, checkout: JOBS },
};

/** p50 of a few looks of each kind, untimed by either figure: what the looks counted in LOOKS cost now. */
async function looks(root: string, job: { path: string; base: string }): Promise<{ lookJob: number; lookCheckout: number }> {
  const job3: number[] = [];
  const checkout3: number[] = [];
  for (let i = 0; i < 3; i++) {
    job3.push((await timed(() => changesOf(job.path, job.base, { statOnly: true, maxPatchBytes: 0 })))[0]);
    checkout3.push((await timed(() => snapshotTree(root)))[0]);
  }
  return { lookJob: stats(job3).p50, lookCheckout: stats(checkout3).p50 };
}

/** The checkout holds every job's line in every job's file, and `git status` lists them on top of `before`. */
function assertBroughtIn(root: string, sets: string[][], before: string, how: string): void {
  sets.forEach((files, k) => {
    for (const rel of files) {
      if (!fs.readFileSync(path.join(root, rel), 'utf8').endsWith(LINE(k))) throw new Error(`land bench: after ${how}, ${rel} lacks job ${k}'s line`);
    }
  });
  const added = status(root).filter((line) => !before.includes(`${line}\n`));
  const expected = sets.flat().length;
  if (added.length !== expected) throw new Error(`land bench: after ${how}, git status shows ${added.length} new entries, not ${expected}: ${added.slice(0, 5).join(', ')}`);
}

const status = (root: string) => execFileSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);

/** Puts the jobs' files back as HEAD has them (none of them is among the user's own changes). */
function putBack(root: string, files: string[], before: string): void {
  execFileSync('git', ['checkout', '--', ...files], { cwd: root });
  const now = `${status(root).join('\n')}\n`;
  if (now !== before) throw new Error('land bench: the checkout is not as before after putting the jobs\' files back');
}

/**
 * The seed's commit of 10,000 files leaves git's `gc --auto` packing in the background, and its prune
 * of emptied object folders races with the jobs' snapshots of the checkout (`git add` fails: "unable
 * to create temporary file"). Waits for it, then packs, as a user's repository of this size is.
 */
async function packed(root: string): Promise<void> {
  const running = path.join(root, '.git', 'gc.pid');
  for (const until = Date.now() + 300_000; fs.existsSync(running) && Date.now() < until; ) await sleep(200);
  execFileSync('git', ['gc', '--quiet'], { cwd: root, stdio: 'ignore' });
}

/** Starts the 2×10 jobs, all at once (the server queues them), and waits until every one is finished. */
async function makeJobs(conn: Connection, root: string, sets: string[][], run: number): Promise<{ land: string[]; apply: string[]; sample: { path: string; base: string } }> {
  const start = (k: number, set: string) =>
    conn.call('codex_start', { prompt: prompt(k, sets[k]!), cwd: root, sandbox: 'workspace-write', isolation: 'worktree', label: `land bench ${run} ${set} ${k}` });
  const land: string[] = [];
  const apply: string[] = [];
  for (let k = 0; k < JOBS; k++) {
    land.push((await start(k, 'land')).job_id);
    apply.push((await start(k, 'apply')).job_id);
  }
  let sample = { path: '', base: '' };
  for (const id of [...land, ...apply]) {
    const done = await waitFinal(conn, id, 600);
    if (done.status !== 'completed') throw new Error(`land bench: job ${id} ended ${done.status}: ${done.error ?? ''}`);
    sample = { path: done.workspace.path, base: done.workspace.base_commit };
  }
  // Each job really changed its files, in its worktree (the answer codex_apply and codex_land read).
  for (const [k, id] of [...land.entries(), ...apply.entries()]) {
    const diff = await conn.call('codex_diff', { job_id: id, stat_only: true });
    if (diff.files.length !== filesOf(k)) throw new Error(`land bench: job ${id} changed ${diff.files.length} files, not ${filesOf(k)}`);
  }
  return { land, apply, sample };
}

/** One `codex_land` of the jobs, asked again with its landing_id while it answers "running". */
async function land(conn: Connection, ids: string[]): Promise<void> {
  let r = await conn.call('codex_land', { job_ids: ids });
  while (r.status === 'running') r = await conn.call('codex_land', { landing_id: r.landing_id });
  // "done": the landing ended; `landed` says what of it landed (all ten, or the bench is wrong).
  if (r.status !== 'done' || r.landed.length !== ids.length || r.set_aside.length !== 0) {
    throw new Error(`land bench: the landing ended ${r.status}, ${r.landed.length} landed, ${r.set_aside.length} set aside: ${r.message}`);
  }
}

async function applyEach(conn: Connection, ids: string[]): Promise<void> {
  for (const id of ids) {
    const r = await conn.call('codex_apply', { job_id: id });
    if (!r.applied) throw new Error(`land bench: codex_apply of ${id} did not apply: ${r.message}`);
  }
}

export async function landBench(h: Harness, opts: { runs?: number } = {}): Promise<string[]> {
  const runs = opts.runs ?? 3;
  const loadAtStart = os.loadavg();
  const began = Date.now();
  const dir = tempDir('land');
  const root = path.join(dir, 'repo');
  fs.mkdirSync(root);
  const sets = jobFiles(seedWorkedOnRepo(root).untouched);
  await packed(root);
  const allFiles = sets.flat();
  // Also warms the page cache and the user's index, as a user's `git status` would have.
  const before = `${status(root).join('\n')}\n`;
  const conn = await h.connect({ CODEX_ASYNC_MAX_CONCURRENT: String(SLOTS) });
  const results: Run[] = [];
  try {
    const tools = (await conn.client.listTools()).tools.map((t) => t.name);
    if (!tools.includes('codex_land')) throw new Error('land bench: this build has no codex_land tool (build the checkout that has it: npm run build)');
    for (let i = 0; i < runs; i++) {
      const [making, jobs] = await timed(() => makeJobs(conn, root, sets, i));
      const first = i % 2 === 0 ? 'land' : 'apply';
      const measured: Partial<Record<'land' | 'apply', number>> = {};
      for (const how of first === 'land' ? (['land', 'apply'] as const) : (['apply', 'land'] as const)) {
        const [t] = await timed(() => (how === 'land' ? land(conn, jobs.land) : applyEach(conn, jobs.apply)));
        measured[how] = t;
        assertBroughtIn(root, sets, before, how === 'land' ? 'codex_land' : 'the codex_apply calls');
        putBack(root, allFiles, before);
      }
      const looked = await looks(root, jobs.sample);
      for (const id of [...jobs.land, ...jobs.apply]) {
        // Untimed: the next run's 20 worktrees need the disk these hold. A landed job may already be gone.
        const r = await conn.raw('codex_discard', { job_id: id });
        if (r.isError) log(`land bench: codex_discard ${id}: ${r.content?.[0]?.text ?? ''}`);
      }
      const run: Run = { land: measured.land!, apply: measured.apply!, first, making, ...looked };
      results.push(run);
      log(`land (run ${i + 1}/${runs}, ${first} first): codex_land ${run.land.toFixed(0)} ms, 10 × codex_apply ${run.apply.toFixed(0)} ms, ratio ${(run.land / run.apply).toFixed(2)}; a look at a job's worktree ${run.lookJob.toFixed(0)} ms, at the checkout ${run.lookCheckout.toFixed(0)} ms; the 20 jobs took ${(making / 1000).toFixed(1)} s to make`);
    }
  } finally {
    await conn.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const loadAtEnd = os.loadavg();
  const p50 = (xs: number[]) => stats(xs).p50;
  const ms = (xs: number[]) => `${p50(xs).toFixed(0)} ms (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;
  const landTimes = results.map((r) => r.land);
  const applyTimes = results.map((r) => r.apply);
  const ratios = results.map((r) => r.land / r.apply);
  const ratio = p50(landTimes) / p50(applyTimes);
  const avg = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');
  const fileCount = allFiles.length;
  const command = process.argv.includes('--only') ? `npm run bench -- ${process.argv.slice(process.argv.indexOf('--only')).join(' ')}` : 'npm run bench';
  const lookJob = p50(results.map((r) => r.lookJob));
  const lookCheckout = p50(results.map((r) => r.lookCheckout));
  const inLooks = (how: 'land' | 'apply') => LOOKS[how].job * lookJob + LOOKS[how].checkout * lookCheckout;
  log(`land: codex_land p50 ${p50(landTimes).toFixed(0)} ms, sequential codex_apply p50 ${p50(applyTimes).toFixed(0)} ms, ratio ${ratio.toFixed(2)} (goal ≤ ${GOAL})`);
  return [
    `\`${command}\` (bench/land.ts), ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores shared with other work; load average`,
    `(1 / 5 / 15 min) ${avg(loadAtStart)} at the start, ${avg(loadAtEnd)} at the end; ${runs} runs, ${((Date.now() - began) / 60000).toFixed(1)} min in all.`,
    `The worktree bench's repository (10,000 files, packed; the user's 50 modified, 10 deleted, 50 untracked, 1,000 ignored).`,
    `Each run makes 20 real jobs through the server (the real codex against the loopback mock, sandbox workspace-write,`,
    `isolation worktree, ${SLOTS} at a time), each running one shell command that appends a line to 1–5 files none of the others`,
    `touches (${fileCount} files for 10 jobs): two identical sets of 10. One set is landed with one \`codex_land {job_ids}\` (no check,`,
    `into the checkout; called again with its \`landing_id\` while it answers "running"), the other brought in by 10`,
    '`codex_apply` calls one after another; which goes first alternates, and after each the checkout gets its jobs\' files',
    'back (`git checkout --` of those files only), checked to be as before. Times are at the MCP client, from the first call',
    "to the last answer; every job's change checked to be in the checkout. Making the jobs is not timed in either.",
    '',
    `| measure (${runs} runs, p50 (min–max)) | value | goal |`,
    '|---|---|---|',
    `| one \`codex_land\` of 10 jobs (no check: 10 merges in git's objects, no integration worktree; the combined change into the checkout) | ${ms(landTimes)} | |`,
    `| the same 10 jobs by 10 sequential \`codex_apply\` | ${ms(applyTimes)} | |`,
    `| landing ÷ sequential apply (of the p50s; per run ${ratios.map((r) => r.toFixed(2)).join(', ')}) | ${ratio.toFixed(2)}× | ≤ ${GOAL}× ${ratio <= GOAL ? '✓' : '✗'} |`,
    `| per job: landing / apply | ${(p50(landTimes) / JOBS).toFixed(0)} ms / ${(p50(applyTimes) / JOBS).toFixed(0)} ms | |`,
    `| one look at a job's worktree (\`changesOf\`: its files hashed into a tree) / at the checkout (\`snapshotTree\`) | ${lookJob.toFixed(0)} ms / ${lookCheckout.toFixed(0)} ms | |`,
    `| the looks each way takes (see below), at those costs: landing / apply | ${(inLooks('land') / 1000).toFixed(1)} s / ${(inLooks('apply') / 1000).toFixed(1)} s (${(inLooks('land') / inLooks('apply')).toFixed(2)}×) | |`,
    `| making the 20 jobs of a run (start to all finished, ${SLOTS} at a time; not part of either figure) | ${(p50(results.map((r) => r.making)) / 1000).toFixed(1)} s | |`,
    '',
    `Where the time goes: both ways are mostly looks at 10,000-file trees. \`codex_apply\` looks once at the job's worktree`,
    `and once at the checkout: ${LOOKS.apply.job} + ${LOOKS.apply.checkout} looks for 10 jobs. \`codex_land\`, at this build, looks at every job's worktree`,
    "once (in the server, before it starts; its process takes the trees from the landing's record) and at the checkout",
    `${LOOKS.land.checkout} times (refusing an overlap with your uncommitted work up front, the landing's base, the overlap check again`,
    `before delivery, the delivery): ${LOOKS.land.job} + ${LOOKS.land.checkout}.`,
    `What is left besides the looks — ${((p50(landTimes) - inLooks('land')) / 1000).toFixed(1)} s of the landing, ${((p50(applyTimes) - inLooks('apply')) / 1000).toFixed(1)} s of the 10 applies — is the merges, writing`,
    "the checkout and the records, and for the landing starting its process and the wait's 200 ms polls of its state.",
    '',
  ];
}
