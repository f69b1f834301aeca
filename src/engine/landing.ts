/**
 * codex_land: several finished worktree jobs brought into the checkout (or onto a branch) as one
 * change. Here, what a caller asks: the landing checked and planned (jobs, checkout, branch), a dry
 * run answered on the spot, a real one recorded (jobs/landings.ts) and handed to a process of its
 * own (`__land`, engine/integrate.ts) that survives the server, then waited for. A landing whose
 * process died is finished by whoever reads it next: never a checkout left half written.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { invalid, ToolError } from '../errors.js';
import { JOB_ID_PREFIX_PATTERN, newJobId } from '../jobs/ids.js';
import { takeLock } from '../jobs/lockfile.js';
import { allLandings, landingByPrefix, landingFiles, readLanding, writeLanding, type Landing, type LandInto } from '../jobs/landings.js';
import type { Job } from '../jobs/store.js';
import { MAIN } from '../supervise/launch.js';
import { identityAlive, isAlive } from '../supervise/proc.js';
import { changedPaths, fileChanges, mergeChange, treeOf } from '../workspace/changes.js';
import type { ApplyConflict } from '../workspace/types.js';
import { listPaths, runGit, runGitResult, splitZ, type TrustedDrivers } from '../workspace/git.js';
import { snapshotCommit, snapshotTree } from '../workspace/snapshot.js';
import { branchCommit } from '../workspace/worktree.js';
import type { LandInput, LandingView, LandWaitOptions } from './api.js';
import type { Groups } from './groups.js';
import { commonDrivers, Integration, overlapRefusal, overlapsYourWork, removeIntegration, settle, type Work } from './integrate.js';
import type { EngineParts } from './parts.js';
import type { Reading } from './reading.js';
import type { Starting } from './starting.js';
import { checkCommand } from './validate.js';

/** The most jobs one landing takes: each is a merge (and a check); more is a queue, not a landing. */
export const MAX_LANDED_JOBS = 50;

/** A landing recorded without an owner for this long never got its process going. */
const NEVER_STARTED_MS = 60_000;

interface Planned {
  jobs: Job[];
  /** Each job's change: the tree it started from and the one its worktree holds, read once. */
  work: Work[];
  repo: string;
  into: LandInto;
  branch: string | null;
  branchFrom: string | null;
  check: string | null;
  resolve: boolean;
  drivers: TrustedDrivers;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function view(l: Landing): LandingView {
  return {
    landing_id: l.id,
    status: l.status,
    dry_run: false,
    into: l.into,
    target: l.repo,
    branch: l.branch,
    landed: l.landed,
    set_aside: l.set_aside,
    resolving: l.resolving,
    commits: l.commits,
    files: l.files,
    setup: l.setup,
    progress: l.progress,
    created_at: iso(l.created_at)!,
    finished_at: iso(l.finished_at),
    message: l.status === 'running' ? `still landing: ${l.progress ?? l.phase}; call again with landing_id "${l.id}" to wait for it` : l.message,
  };
}

export class Landings {
  constructor(
    private readonly p: EngineParts,
    private readonly reading: Reading,
    private readonly groups: Groups,
    private readonly starting: Starting,
  ) {}

  /** Starts a landing (or answers a dry run) and waits up to `timeoutMs` for it to end. */
  async land(input: LandInput, timeoutMs: number, opts: LandWaitOptions = {}): Promise<LandingView> {
    if (input.landing_id !== undefined) {
      const extra = Object.keys(input).filter((k) => k !== 'landing_id' && k !== 'cancel' && k !== 'timeout_seconds' && input[k as keyof LandInput] !== undefined);
      if (extra.length) throw invalid(`landing_id waits for (or, with cancel, stops) a landing already started: leave out ${extra.join(', ')}`);
      if (input.cancel) this.cancel(input.landing_id);
      return this.landing(input.landing_id, timeoutMs, opts);
    }
    if (input.cancel) throw invalid('cancel goes with landing_id: the landing to stop');
    const planned = await this.plan(input);
    if (input.dry_run) return this.dryRun(planned);
    await this.refuseBusy(planned.repo);
    if (planned.into === 'checkout') await this.refuseOverlap(planned);
    const id = newJobId();
    const base =
      planned.into === 'branch'
        ? (planned.branchFrom ?? (await runGit(['rev-parse', '--verify', 'HEAD^{commit}'], { cwd: planned.repo })).trim())
        : await snapshotCommit(planned.repo, `codex-async-mcp: checkout as landing ${id} began`, planned.drivers);
    const landing: Landing = {
      id,
      status: 'running',
      phase: 'starting',
      created_at: Date.now(),
      finished_at: null,
      owner: null,
      job_ids: planned.jobs.map((j) => j.id),
      trees: planned.work.map((w) => w.to),
      drivers: [...planned.drivers],
      check_command: planned.check,
      into: planned.into,
      branch: planned.into === 'branch' ? (planned.branch ?? `codex/land-${id}`) : null,
      branch_from: planned.branchFrom,
      resolve: planned.resolve,
      repo: planned.repo,
      subdir: new Set(planned.jobs.map((j) => j.workspace.subdir)).size === 1 ? planned.jobs[0]!.workspace.subdir : '',
      base_commit: base,
      head_commit: null,
      integration: null,
      landed: [],
      set_aside: [],
      commits: [],
      resolving: [],
      files: [],
      setup: null,
      delivery: null,
      progress: 'starting its process',
      steps: ['starting its process'],
      message: '',
    };
    writeLanding(this.p.layout, landing);
    // Checked before, and again now that it is recorded: of two landings asked for at once, the
    // earlier recorded goes on, the later stops here, so one runs per checkout whatever the timing.
    const rival = allLandings(this.p.layout).find(
      (o) => o.id !== id && o.repo === landing.repo && o.status === 'running' && (o.created_at < landing.created_at || (o.created_at === landing.created_at && o.id < id)),
    );
    if (rival) {
      writeLanding(this.p.layout, { ...landing, status: 'refused', phase: 'ended', finished_at: Date.now(), progress: null, message: `landing ${rival.id} began landing into ${landing.repo} at the same time` });
      throw new ToolError('conflict', `landing ${rival.id} is landing jobs into ${landing.repo}: wait for it (codex_land {"landing_id": "${rival.id}"}), then land again`);
    }
    this.spawnRun(landing);
    return this.landing(id, timeoutMs, opts);
  }

  /** The landing's state, once it has ended or `timeoutMs` has passed; one whose process died is finished first. */
  async landing(idOrPrefix: string, timeoutMs: number, { signal, onProgress }: LandWaitOptions = {}): Promise<LandingView> {
    const id = this.resolve(idOrPrefix);
    const until = Date.now() + timeoutMs;
    let told = 0;
    for (;;) {
      let l = readLanding(this.p.layout, id);
      if (!l) throw new ToolError('not_found', `no landing with id "${id}"`);
      if (l.status === 'running') l = await this.recoverIfDead(l);
      for (; told < (l.steps?.length ?? 0); told++) onProgress?.(l.steps[told]!, told);
      const left = until - Date.now();
      if (l.status !== 'running' || left <= 0 || this.p.closed || signal?.aborted) return view(l);
      await new Promise((resolve) => setTimeout(resolve, Math.min(200, left)));
    }
  }

  /** In the landing's own process (`__land`): runs it to its end; `signal` (SIGTERM, a cancel) stops it before it writes. */
  async run(id: string, signal?: AbortSignal): Promise<void> {
    const l = readLanding(this.p.layout, id);
    if (!l || l.status !== 'running' || l.owner !== null) throw new Error(`landing ${id} is not waiting to run`);
    await new Integration(this.p, this.reading, this.starting, l, signal).run();
  }

  /**
   * Asks a running landing to stop: a mark its process looks for at each step, and SIGTERM to that
   * process (its identity checked), which stops the check under way. Once it writes your checkout
   * it is too late: that takes a moment and ends landed.
   */
  private cancel(idOrPrefix: string): void {
    const id = this.resolve(idOrPrefix);
    const l = readLanding(this.p.layout, id);
    if (!l || l.status !== 'running') return;
    if (l.phase === 'delivering' || l.phase === 'resolving') {
      throw new ToolError('conflict', `landing ${id} is already ${l.phase === 'delivering' ? 'writing what landed' : 'starting continuations'}: it ends in a moment; wait for it (codex_land {"landing_id": "${id}"})`);
    }
    fs.writeFileSync(landingFiles(this.p.layout, id).cancel, '', { mode: 0o600 });
    const [pid, start] = (l.owner ?? '').split(' ');
    if (l.owner !== null && identityAlive(l.owner)) {
      try {
        if (isAlive(Number(pid), start ?? null)) process.kill(Number(pid), 'SIGTERM');
      } catch {
        // Gone meanwhile: it ended, or a reader will find it dead.
      }
    }
  }

  private resolve(idOrPrefix: string): string {
    const prefix = idOrPrefix.trim().toLowerCase();
    if (!JOB_ID_PREFIX_PATTERN.test(prefix)) throw invalid(`"${idOrPrefix.slice(0, 40)}" is not a landing id: landing ids are the 12 hex characters codex_land returned (or a unique start of them)`);
    const id = landingByPrefix(this.p.layout, prefix);
    if (!id) throw new ToolError('not_found', `no landing with id "${prefix}" (or more than one starts with it): landing ids are returned by codex_land`);
    return id;
  }

  /** Every check of a landing that needs no process of its own: what it lands, where, how. */
  private async plan(input: LandInput): Promise<Planned> {
    if (input.job_ids !== undefined && input.group_id !== undefined) throw invalid('give job_ids or group_id, not both');
    if (input.into !== undefined && input.into !== 'checkout' && input.into !== 'branch') throw invalid(`into is "checkout" or "branch", not "${input.into}"`);
    const into: LandInto = input.into ?? (input.branch !== undefined ? 'branch' : 'checkout');
    if (into === 'checkout' && input.branch !== undefined) throw invalid('branch goes with into "branch": leave it out to land into the checkout');
    if (input.resolve && input.dry_run) throw invalid('a dry run changes nothing, so it starts no continuations: leave out resolve');
    const check = checkCommand('check_command', input.check_command);
    const ids = input.group_id !== undefined ? (await this.groups.group(input.group_id)).attempts.map((a) => a.job_id) : (input.job_ids ?? []);
    if (ids.length === 0) throw invalid('give job_ids: the finished worktree jobs to land, in the order to land them (or group_id for the attempts of a group)');
    if (ids.length > MAX_LANDED_JOBS) throw invalid(`at most ${MAX_LANDED_JOBS} jobs land at once; land them in several landings`);
    const jobs = ids.map((id) => this.reading.get(id));
    const twice = jobs.find((job, i) => jobs.findIndex((other) => other.id === job.id) !== i);
    if (twice) throw invalid(`job ${twice.id} is listed twice: each job lands once`);
    for (const job of jobs) this.p.workspaces.checkLandable(job);
    const repos = [...new Set(jobs.map((j) => j.workspace.repo!))];
    if (repos.length > 1) throw invalid(`the jobs come from different checkouts (${repos.join(', ')}): land each checkout's jobs on their own`);
    const repo = repos[0]!;
    if (!fs.existsSync(repo)) throw new ToolError('conflict', `the checkout the jobs came from, ${repo}, is gone`);
    // A check runs under codex's sandbox, whichever agents made the jobs.
    if (check !== null && !input.dry_run) await this.p.locators.of('codex').locate();
    const named = into === 'branch' && input.branch !== undefined ? await checkBranchName(repo, input.branch) : null;
    const [branch, branchFrom] = [named?.name ?? null, named?.from ?? null];
    const drivers = commonDrivers(this.p, jobs);
    // One after another: each reads a worktree of the whole repository.
    const work: Planned['work'] = [];
    for (const job of jobs) work.push({ job, from: await treeOf(repo, job.workspace.base_commit!), to: (await this.p.workspaces.workOf(job)).tree });
    return { jobs, work, repo, into, branch, branchFrom, check, resolve: input.resolve === true, drivers };
  }

  /** One landing at a time per checkout: a second would deliver onto the first's half-known result. */
  private async refuseBusy(repo: string): Promise<void> {
    for (let l of allLandings(this.p.layout)) {
      if (l.status !== 'running' || l.repo !== repo) continue;
      l = await this.recoverIfDead(l);
      if (l.status === 'running') {
        throw new ToolError('conflict', `landing ${l.id} is still landing jobs into ${repo}: wait for it (codex_land {"landing_id": "${l.id}"}), then land again`);
      }
    }
  }

  /** Into the checkout: refused before any work when your uncommitted changes overlap a job's (as codex_apply refuses). */
  private async refuseOverlap(planned: Planned): Promise<void> {
    const [first] = await overlapsYourWork(planned.repo, planned.drivers, planned.work);
    if (first) throw new ToolError('conflict', overlapRefusal(first));
  }

  /**
   * What a landing without a check would do, changing nothing: which jobs would land in this order
   * and which not, which pairs of jobs conflict with each other, and which conflict with the checkout.
   */
  private async dryRun(planned: Planned): Promise<LandingView> {
    const { repo, drivers, work } = planned;
    const start =
      planned.into === 'checkout' ? await snapshotTree(repo, drivers) : await treeOf(repo, planned.branchFrom ?? 'HEAD');
    const onto = planned.into === 'checkout' ? 'your checkout' : (planned.branch ?? 'HEAD');
    const merge = (w: (typeof work)[number], tree: string, name: string) => mergeChange(repo, { from: w.from, to: w.to, onto: tree, ontoName: name, drivers });
    const paths = (c: ApplyConflict[]) => c.map((x) => x.path);

    const withCheckout: { job_id: string; files: string[]; reason: string }[] = [];
    const alone = new Map<string, string>();
    for (const w of work) {
      const m = await merge(w, start, onto);
      if (m.conflicts.length) withCheckout.push({ job_id: w.job.id, files: paths(m.conflicts), reason: `conflicts with ${onto}` });
      else alone.set(w.job.id, m.tree);
    }
    if (planned.into === 'checkout') {
      for (const o of await overlapsYourWork(repo, drivers, work)) {
        if (!withCheckout.some((w) => w.job_id === o.job_id)) withCheckout.push({ ...o, reason: 'you have uncommitted changes to these files, which the job also changed' });
      }
    }
    const conflicts: { a: string; b: string; files: string[] }[] = [];
    // Only pairs that change a path in common are merged: of 50 jobs' 1,225 pairs, few.
    const touched = await Promise.all(work.map((w) => changedPaths(repo, w.from, w.to)));
    const share = (i: number, j: number) => [...touched[i]!].some((p) => touched[j]!.has(p));
    for (const [i, a] of work.entries()) {
      const after = alone.get(a.job.id);
      if (after === undefined) continue;
      for (const [j, b] of work.entries()) {
        if (j <= i || !alone.has(b.job.id) || !share(i, j)) continue;
        const m = await merge(b, after, `job ${a.job.id}'s change`);
        if (m.conflicts.length) conflicts.push({ a: a.job.id, b: b.job.id, files: paths(m.conflicts) });
      }
    }
    let tree = start;
    const landed: string[] = [];
    const setAside: LandingView['set_aside'] = [];
    for (const w of work) {
      const m = await merge(w, tree, landed.length ? 'the jobs landed before it' : onto);
      if (m.conflicts.length) setAside.push({ job_id: w.job.id, reason: 'conflict', files: paths(m.conflicts), message: `would conflict in ${listPaths(paths(m.conflicts), 10)}` });
      else if (m.tree === tree) setAside.push({ job_id: w.job.id, reason: 'no_changes', message: 'nothing to land' });
      else {
        landed.push(w.job.id);
        tree = m.tree;
      }
    }
    const said = [
      `would land ${landed.length} of ${work.length} job${work.length === 1 ? '' : 's'} in this order${landed.length ? ` (${landed.join(', ')})` : ''}`,
      ...(conflicts.length ? [`${conflicts.length} pair${conflicts.length === 1 ? '' : 's'} of jobs conflict: ${conflicts.map((c) => `${c.a} × ${c.b} in ${listPaths(c.files, 5)}`).join('; ')}`] : []),
      ...(withCheckout.length ? [`${withCheckout.length} conflict with ${onto}: ${withCheckout.map((c) => `${c.job_id} (${listPaths(c.files, 5)})`).join('; ')}`] : []),
    ];
    return {
      landing_id: null,
      status: 'done',
      dry_run: true,
      into: planned.into,
      target: repo,
      branch: planned.branch,
      landed,
      set_aside: setAside,
      resolving: [],
      commits: [],
      files: await fileChanges(repo, start, tree),
      setup: null,
      conflicts,
      with_checkout: withCheckout,
      progress: null,
      created_at: new Date().toISOString(),
      finished_at: new Date().toISOString(),
      message: `${said.join('; ')}. No check ran (a dry run runs none) and nothing was changed.`,
    };
  }

  /** The landing's own process, in a session of its own: a server that exits leaves it running. */
  private spawnRun(l: Landing): void {
    const f = landingFiles(this.p.layout, l.id);
    const log = fs.openSync(f.log, 'a', 0o600);
    try {
      const child = spawn(process.execPath, [MAIN, '__land', l.id], { detached: true, stdio: ['ignore', 'ignore', log], env: process.env, cwd: this.p.config.home });
      child.once('error', (err) => writeLanding(this.p.layout, { ...l, status: 'failed', phase: 'ended', finished_at: Date.now(), message: `cannot start the landing's process: ${err.message}` }));
      child.unref();
    } finally {
      fs.closeSync(log);
    }
  }

  /**
   * A running landing whose process is gone is finished here, once (the lock file): a delivery it
   * had begun is completed from its journal, so the checkout is either as before or fully landed;
   * before that, nothing was written and it is recorded as interrupted.
   */
  private async recoverIfDead(l: Landing): Promise<Landing> {
    const dead = l.owner === null ? Date.now() - l.created_at > NEVER_STARTED_MS : !identityAlive(l.owner);
    if (!dead) return l;
    const f = landingFiles(this.p.layout, l.id);
    // Held while a recovery runs, which may take long: only a dead holder's lock is taken over.
    if (!takeLock(f.lock, Infinity)) return l; // Someone else is finishing it.
    try {
      const now = readLanding(this.p.layout, l.id);
      if (!now || now.status !== 'running') return now ?? l;
      const finished = await this.finish(now).catch(
        (err: unknown): Landing => ({ ...now, status: 'failed', phase: 'ended', finished_at: Date.now(), progress: null, message: `its process died, and finishing it failed: ${(err as Error).message}` }),
      );
      if (now.integration) await removeIntegration(this.p, now);
      writeLanding(this.p.layout, { ...finished, integration: null });
      return finished;
    } finally {
      fs.rmSync(f.lock, { force: true });
    }
  }

  private async finish(l: Landing): Promise<Landing> {
    const why = l.owner === null ? "its process never started (see land.log in the landing's directory)" : "its process died (see land.log in the landing's directory)";
    const settled = await settle(this.p, l, why, 'interrupted');
    return { ...l, ...settled, phase: 'ended', finished_at: Date.now(), progress: null, integration: null };
  }
}

/** A branch name git takes, or a clear refusal; the branch must not be the one a worktree has checked out. */
async function checkBranchName(repo: string, name: string): Promise<{ name: string; from: string | null }> {
  const ok = await runGitResult(['check-ref-format', '--branch', name], { cwd: repo, okCodes: [1, 128] });
  // Taken as given only: git would expand "@{-1}" into another branch's name.
  if (ok.code !== 0 || ok.stdout.toString('utf8').trim() !== name || name.startsWith('-')) throw invalid(`"${name.slice(0, 100)}" is not a valid branch name`);
  const list = await runGit(['worktree', 'list', '--porcelain', '-z'], { cwd: repo });
  const entries = splitZ(list);
  const at = entries.findIndex((e) => e === `branch refs/heads/${name}`);
  if (at >= 0) {
    const where = entries.slice(0, at).reverse().find((e) => e.startsWith('worktree '))?.slice('worktree '.length);
    throw new ToolError('conflict', `branch ${name} is checked out${where ? ` at ${where}` : ''}: landing onto it would change files under someone's feet; give another branch, or land into the checkout`);
  }
  const from = await branchCommit(repo, name);
  if (from === null) {
    // A name git accepts may still not be makeable (refs/heads/codex exists beside codex/x): try, and let go.
    const tried = await runGitResult(['update-ref', '--stdin'], { cwd: repo, input: `start\ncreate refs/heads/${name} HEAD\nprepare\nabort\n`, okCodes: [1, 128] });
    if (tried.code !== 0) throw invalid(`branch ${name} cannot be made: ${tried.stderr.trim().split('\n')[0]}`);
  }
  return { name, from };
}
