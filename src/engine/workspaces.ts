import type { z } from 'zod';
import type { applyOutput, diffOutput, discardOutput } from './shapes.js';
import fs from 'node:fs';
import path from 'node:path';
import { invalid, ToolError } from '../errors.js';
import { createPrivate, jobFiles, readSmall, type HomeLayout } from '../jobs/files.js';
import { isFinal } from '../jobs/states.js';
import type { Job, JobStore } from '../jobs/store.js';
import type { Logger } from '../log.js';
import { isWithin } from '../paths.js';
import { applyChanges, changesOf } from '../workspace/changes.js';
import { configuredDrivers, GitError, listPaths, type TrustedDrivers } from '../workspace/git.js';
import { findRepo, findRepoOfWorktree, type Repo } from '../workspace/repo.js';
import { isJobId } from '../jobs/ids.js';
import { snapshotCommit } from '../workspace/snapshot.js';
import { createWorktree, removeWorktree, type WorktreeSpec } from '../workspace/worktree.js';
import { bringIn, includePatterns, linkedPaths, type BroughtIn } from '../workspace/include.js';
import type { JobWorkspace } from '../workspace/types.js';


/** A job whose checkout has not been looked at yet (isolation none, before its launch). */
export const UNSEEN_CHECKOUT: JobWorkspace = {
  kind: 'none',
  repo: null,
  subdir: '',
  path: null,
  branch: null,
  base_commit: null,
  state: null,
  applied_tree: null,
  applied_at: null,
  landed_by: null,
  landed_at: null,
  landed_tree: null,
  brought_in: null,
};

/** What a job's worktree had brought in, as its maker recorded it (a repair reads it back); null without a record. */
export function readBroughtIn(file: string): BroughtIn | null {
  try {
    const recorded = JSON.parse(readSmall(file) ?? 'null') as BroughtIn | null;
    return recorded && Array.isArray(recorded.entries) ? recorded : null;
  } catch {
    return null;
  }
}

/** The longest unified diff codex_diff returns; past it the diff is cut and says so. */
export const DIFF_MAX_BYTES = 512 * 1024;

export type DiffResult = z.infer<typeof diffOutput>;
export type ApplyResult = z.infer<typeof applyOutput>;
export type DiscardResult = z.infer<typeof discardOutput>;

const spec = (ws: JobWorkspace): WorktreeSpec => ({ repo: ws.repo!, path: ws.path!, branch: ws.branch! });

/** Git's own words, as a tool error a caller can act on. */
export function gitFailure(what: string, err: unknown): never {
  if (err instanceof ToolError) throw err;
  const detail = err instanceof GitError ? err.stderr.trim() || err.message : (err as Error).message;
  throw new ToolError('conflict', `${what}: ${detail.split('\n').slice(0, 6).join(' ')}`);
}

/** The checkout holding cwd (null outside one), a failure of git told as a tool error: for a start's plan (plan.ts). */
export function checkoutOf(cwd: string): Promise<Repo | null> {
  return findRepo(cwd).catch((err: unknown) => gitFailure(`cannot read the git repository at ${cwd}`, err));
}

/**
 * Where jobs work: the user's checkout, or a git worktree per job under the state directory (see
 * workspace/ for the git side). A worktree is planned when the job is created (plan.ts), made when it
 * launches (never on the path of codex_start's answer), reviewed with diff, brought into the
 * checkout with apply, and removed by discard or when its last job is deleted.
 */
export class Workspaces {
  private readonly groupSnapshots = new Map<string, Promise<string>>();

  constructor(
    private readonly store: JobStore,
    private readonly layout: HomeLayout,
    private readonly log: Logger,
  ) {}

  /** A planned workspace for one job: a new worktree gets the job's own place and branch; a continued one is shared. */
  static forJob(planned: JobWorkspace, id: string, layout: HomeLayout): JobWorkspace {
    if (planned.kind !== 'worktree' || planned.state !== 'preparing') return planned;
    return { ...planned, path: path.join(layout.worktreesDir, id), branch: `codex/${id}` };
  }

  /** Whether a launch has to prepare the workspace before codex starts. */
  needsPreparing(job: Job): boolean {
    return job.workspace.state === 'preparing' || (job.workspace.kind === 'none' && job.workspace.path === null);
  }

  /**
   * At launch, before codex starts. A worktree is made from HEAD plus the user's uncommitted
   * changes (the attempts of one group share one such base); without isolation, the checkout's
   * state is recorded so that codex_diff can later tell what changed since.
   */
  async prepare(job: Job): Promise<JobWorkspace> {
    const ws = job.workspace;
    if (ws.kind === 'none') {
      const repo = await findRepo(job.cwd).catch(() => null);
      if (!repo) return { ...ws, path: job.cwd };
      const base = await this.recordDrivers(job.id, repo.root)
        .then((drivers) => snapshotCommit(repo.root, `codex-async-mcp: checkout as job ${job.id} started`, drivers))
        .catch(() => null);
      return { ...ws, repo: repo.root, subdir: repo.subdir, path: repo.root, base_commit: base, state: base ? 'ready' : null };
    }
    const drivers = await this.recordDrivers(job.id, ws.repo!);
    // A continuation made by a landing (engine/integrate.ts) starts from the integration's state.
    const base = ws.base_commit ?? this.groupBase(job) ?? (await this.snapshotFor(job, drivers));
    await createWorktree(spec(ws), base, drivers);
    fs.mkdirSync(Workspaces.tmpOf(ws), { recursive: true, mode: 0o700 });
    return { ...ws, base_commit: base, state: 'ready', brought_in: await this.bringIn(job) };
  }

  /**
   * The ignored files the repository's .worktreeinclude and the start's include name, from the
   * checkout into the new worktree (workspace/include.ts says how each comes over). A link is
   * only for a job in a sandbox, and never where the job was given a root to write.
   */
  private async bringIn(job: Job): Promise<BroughtIn | null> {
    const ws = job.workspace;
    const patterns = includePatterns(ws.repo!, job.include);
    if (patterns.length === 0) return null;
    const writable = [ws.subdir, ...job.add_dirs.filter((dir) => isWithin(dir, ws.repo!)).map((dir) => path.relative(ws.repo!, dir))];
    const sandboxed = !job.bypass && job.sandbox !== 'danger-full-access';
    const brought = await bringIn({ repo: ws.repo!, worktree: ws.path!, patterns, share: sandboxed, writable });
    const file = jobFiles(this.layout, job.id).broughtIn;
    createPrivate(file);
    fs.writeFileSync(file, JSON.stringify(brought));
    return brought;
  }

  /**
   * One snapshot per group in this process: its attempts are prepared at the same time, and must
   * not each take their own while the user keeps editing.
   */
  private snapshotFor(job: Job, drivers: TrustedDrivers): Promise<string> {
    const take = () => snapshotCommit(job.workspace.repo!, `codex-async-mcp: base of job ${job.id}`, drivers);
    if (job.group_id === null) return take();
    let shared = this.groupSnapshots.get(job.group_id);
    if (!shared) {
      shared = take();
      this.groupSnapshots.set(job.group_id, shared);
      // Kept only while it is being taken; later attempts find the base recorded on a sibling.
      const forget = () => void setTimeout(() => this.groupSnapshots.delete(job.group_id!), 60_000).unref();
      shared.then(forget, () => this.groupSnapshots.delete(job.group_id!));
    }
    return shared;
  }

  /** The base an earlier attempt of the same group started from, so every attempt starts alike. */
  private groupBase(job: Job): string | null {
    if (job.group_id === null) return null;
    return this.store.group(job.group_id).find((j) => j.id !== job.id && j.workspace.base_commit)?.workspace.base_commit ?? null;
  }

  /**
   * The repository's filter and merge drivers before the job runs, kept in the job's directory
   * (which no job can write): from now on the server's git runs only these on the workspace and
   * on the checkout it is applied to, whatever the job adds to the repository's config. Recorded
   * rather than read later, since the config is shared with the job (git.ts GUARD).
   */
  private async recordDrivers(id: string, root: string): Promise<TrustedDrivers> {
    const drivers = await configuredDrivers(root);
    const file = jobFiles(this.layout, id).gitDrivers;
    createPrivate(file);
    fs.writeFileSync(file, JSON.stringify(drivers));
    return drivers;
  }

  /**
   * The drivers recorded by the job that made this workspace (a worktree is named after it). None
   * when the record is gone (that job deleted, or made before there was one): the safe default.
   */
  trustedDrivers(job: Job): TrustedDrivers {
    const owner = job.workspace.kind === 'worktree' ? path.basename(job.workspace.path!) : job.id;
    try {
      const recorded = JSON.parse(readSmall(jobFiles(this.layout, owner).gitDrivers) ?? '[]') as unknown;
      return Array.isArray(recorded) ? recorded.filter((e): e is string => typeof e === 'string') : [];
    } catch {
      return [];
    }
  }

  /**
   * How the server's git reads a job's workspace: only the drivers trusted for it, and without the
   * links to the checkout it was given (not the job's changes).
   */
  private gitView(job: Job): { drivers: TrustedDrivers; exclude: string[] } {
    return { drivers: this.trustedDrivers(job), exclude: linkedPaths(job.workspace.brought_in) };
  }

  /**
   * A finished worktree job that may be landed (engine/landing.ts), as it may be applied: its
   * worktree there and ready, no job (a reply) still working in it.
   */
  checkLandable(job: Job): void {
    if (job.workspace.kind !== 'worktree') {
      throw new ToolError('conflict', `job ${job.id} ran without isolation, so its changes are already in ${job.cwd}: only jobs run with isolation "worktree" can be landed`);
    }
    if (!isFinal(job.status)) throw new ToolError('not_finished', (t) => `job ${job.id} is still ${job.status}: wait for it with ${t('wait')}, then land it`);
    this.checkAvailable(job, 'apply');
    const busy = this.store.onWorktree(job.workspace.path!).find((j) => !isFinal(j.status));
    if (busy) throw new ToolError('not_finished', (t) => `job ${busy.id} is still ${busy.status} in job ${job.id}'s worktree: wait for it with ${t('wait')}, then land`);
  }

  /** The job's worktree as a tree (its work, untracked files included), and its diff when `patchBytes` is given. */
  async workOf(job: Job, patchBytes = 0): Promise<{ tree: string; patch: string | null; truncated: boolean }> {
    const ws = job.workspace;
    const c = await changesOf(ws.path!, ws.base_commit!, { statOnly: patchBytes === 0, maxPatchBytes: patchBytes, ...this.gitView(job) }).catch((err: unknown) =>
      gitFailure(`cannot read job ${job.id}'s worktree`, err),
    );
    return { tree: c.tree, patch: c.patch, truncated: c.truncated };
  }

  /** Where codex runs: cwd's place in the worktree, or cwd. */
  runDir(job: Job): string {
    const ws = job.workspace;
    return ws.kind === 'worktree' ? path.join(ws.path!, ws.subdir) : job.cwd;
  }

  /** add_dirs inside the repository point into the worktree instead: a worktree job never writes the user's checkout. */
  runDirs(job: Job): string[] {
    const ws = job.workspace;
    if (ws.kind !== 'worktree') return job.add_dirs;
    return job.add_dirs.map((dir) => (isWithin(dir, ws.repo!) ? path.join(ws.path!, path.relative(ws.repo!, dir)) : dir));
  }

  /** A worktree job's own temp directory, its $TMPDIR: the sandbox keeps /tmp read-only for it. */
  private static tmpOf(ws: JobWorkspace): string {
    return `${ws.path!}.tmp`;
  }

  /** What a job's environment gains: its own $TMPDIR in a worktree. */
  runEnv(job: Job): Record<string, string> {
    return job.workspace.kind === 'worktree' ? { TMPDIR: Workspaces.tmpOf(job.workspace) } : {};
  }

  /**
   * The worktree, its branch and its temp directory go. `keepCommits`: a branch someone committed
   * on stays (gc and retention are not asked by a person; discard is).
   */
  private async remove(ws: JobWorkspace, keepCommits = false): Promise<void> {
    const branchGone = await removeWorktree(spec(ws), keepCommits && ws.base_commit ? { keepBranchUnlessAt: ws.base_commit } : {});
    fs.rmSync(Workspaces.tmpOf(ws), { recursive: true, force: true });
    if (!branchGone) this.log('warn', `kept branch ${ws.branch} in ${ws.repo}: it has commits made after the job; delete it with git branch -D when done`);
  }

  /** A worktree whose making was cut short (a crash, a cancel) goes: nothing half-made is left. */
  async abandon(job: Job): Promise<void> {
    if (job.workspace.kind !== 'worktree' || job.workspace.state !== 'preparing') return;
    await this.remove(job.workspace);
    this.store.setWorktreeState(job.workspace.path!, 'failed');
  }

  /** Once a job has finished: the size of its changes, for ls, top and the ranking of attempts. */
  async summarize(job: Job): Promise<void> {
    const ws = job.workspace;
    if (ws.state !== 'ready' || !ws.base_commit || !ws.path) return;
    try {
      const c = await changesOf(ws.path, ws.base_commit, { statOnly: true, maxPatchBytes: 0, ...this.gitView(job), ...this.scope(job) });
      this.store.setChanges(job.id, { files: c.files.length, additions: c.additions, deletions: c.deletions });
    } catch (err) {
      this.log('warn', `job ${job.id}: cannot measure its changes (${(err as Error).message.split('\n')[0]})`);
    }
  }

  /** Without isolation, only cwd's part of the checkout is the job's to show. */
  private scope(job: Job): { paths?: string[] } {
    return job.workspace.kind === 'none' && job.workspace.subdir ? { paths: [job.workspace.subdir] } : {};
  }

  async diff(job: Job, opts: { statOnly: boolean; paths: string[] | undefined; maxBytes?: number }): Promise<DiffResult> {
    const ws = job.workspace;
    this.checkAvailable(job, 'diff');
    const scoped = this.scope(job).paths;
    const paths = opts.paths?.map((p) => this.repoPath(job, p)) ?? scoped;
    const c = await changesOf(ws.path!, ws.base_commit!, { statOnly: opts.statOnly, paths, maxPatchBytes: opts.maxBytes ?? DIFF_MAX_BYTES, ...this.gitView(job) }).catch((err: unknown) =>
      gitFailure(`cannot compute the changes of job ${job.id}`, err),
    );
    return {
      job_id: job.id,
      isolation: ws.kind,
      base_commit: ws.base_commit!,
      files: c.files,
      additions: c.additions,
      deletions: c.deletions,
      patch: c.patch,
      truncated: c.truncated,
      note:
        ws.kind === 'none'
          ? `job ${job.id} ran in your checkout (isolation "none"): this is every change under ${job.cwd} since it started, including any made meanwhile by you or other jobs`
          : isFinal(job.status)
            ? null
            : `job ${job.id} is still ${job.status}: its changes so far`,
    };
  }

  /** A path the caller gave, relative to cwd, as git sees it from the top of the checkout. */
  private repoPath(job: Job, p: string): string {
    const sub = job.workspace.subdir;
    const rel = path.posix.normalize(path.posix.join(sub, p.replaceAll('\\', '/')));
    const inside = sub === '' ? rel !== '..' && !rel.startsWith('../') : rel === sub || rel.startsWith(`${sub}/`);
    if (path.isAbsolute(p) || !inside) throw invalid(`paths are relative to the job's cwd and stay inside it: "${p}"`);
    return rel;
  }

  private checkAvailable(job: Job, what: 'diff' | 'apply' | 'discard'): void {
    const ws = job.workspace;
    if (ws.kind === 'none') {
      if (what !== 'diff') {
        throw new ToolError('conflict', `job ${job.id} ran without isolation, so its changes are already in ${job.cwd}: there is nothing to ${what}`);
      }
      if (!ws.base_commit) {
        throw new ToolError('conflict', (t) =>
          job.sandbox === 'read-only' && !job.bypass
            ? `job ${job.id} ran in the read-only sandbox, so it changed no file`
            : ws.path === null
            ? `job ${job.id} has not started yet, so there is nothing to compare: wait for it with ${t('wait')}`
            : `job ${job.id} ran in ${job.cwd} without isolation, and that is not a git checkout with a commit, so what it changed cannot be told apart: start jobs with isolation "worktree" in a git repository to review their changes`,
        );
      }
      return;
    }
    if (ws.state === 'discarded') throw new ToolError('conflict', `job ${job.id}'s worktree was discarded; its changes are gone (its record and logs remain)`);
    if (ws.state !== 'ready' || !ws.base_commit) {
      throw new ToolError('not_finished', (t) =>
        ws.state === 'failed'
          ? `job ${job.id}'s worktree could not be made (${job.error?.message ?? `see ${t('poll')}`}), so there are no changes`
          : `job ${job.id}'s worktree is still being prepared: wait for the job with ${t('wait')}`,
      );
    }
  }

  /**
   * Brings the job's changes into the checkout it was started from, as uncommitted changes. All or
   * nothing: conflicts and overlapping uncommitted changes are found before anything is written, and
   * reported in the result (applied: false) with the checkout left as it was.
   * Applying again brings only what changed in the worktree since (a reply may have continued it);
   * when nothing did, it is refused.
   */
  async apply(job: Job, dryRun: boolean): Promise<ApplyResult> {
    this.checkAvailable(job, 'apply');
    const ws = job.workspace;
    const busy = this.store.onWorktree(ws.path!).find((j) => !isFinal(j.status));
    if (busy) throw new ToolError('not_finished', (t) => `job ${busy.id} is still ${busy.status} in this worktree: wait for it with ${t('wait')}, then apply`);
    const view = this.gitView(job);
    const { drivers } = view;
    const current = await changesOf(ws.path!, ws.base_commit!, { statOnly: true, maxPatchBytes: 0, ...view }).catch((err: unknown) =>
      gitFailure(`cannot read job ${job.id}'s worktree`, err),
    );
    if (ws.applied_tree === current.tree || (ws.applied_tree === null && current.files.length === 0)) {
      throw new ToolError(
        'conflict',
        ws.applied_tree === null
          ? `job ${job.id} changed nothing: there is nothing to apply`
          : `job ${job.id}'s changes were already applied to ${ws.repo} (${new Date(ws.applied_at ?? 0).toISOString()}) and its worktree has not changed since`,
      );
    }
    const o = await applyChanges({ target: ws.repo!, base: ws.base_commit!, tree: current.tree, since: ws.applied_tree, dryRun, drivers }).catch((err: unknown) =>
      gitFailure(`cannot apply job ${job.id}'s changes to ${ws.repo}`, err),
    );
    const result: ApplyResult = {
      job_id: job.id,
      dry_run: dryRun,
      applied: o.applied,
      target: ws.repo!,
      files: o.files,
      conflicts: o.conflicts,
      refused: o.refused,
      message: '',
    };
    const list = o.conflicts.map((c) => `${c.path} (${c.reason})`).join(', ');
    if (o.refused) result.message = `${o.refused}. Nothing was changed.`;
    else if (o.conflicts.length) result.message = `${o.conflicts.length} file(s) conflict with ${ws.repo}: ${list}. Nothing was changed.`;
    else if (o.files.length === 0) result.message = `${ws.repo} already has these changes: nothing to apply`;
    else if (dryRun) result.message = `would apply ${o.files.length} file(s) to ${ws.repo} cleanly; nothing was changed`;
    else result.message = `applied ${o.files.length} file(s) to ${ws.repo} as uncommitted changes: ${howToReview(o.files)}`;
    const done = o.applied || (o.files.length === 0 && !o.refused && !o.conflicts.length);
    if (done && !dryRun) this.store.setApplied(ws.path!, current.tree, Date.now());
    return result;
  }

  /** Removes the job's worktree and branch; its record and logs stay. A dry run only refuses or not. */
  async discard(job: Job, dryRun = false): Promise<DiscardResult> {
    const ws = job.workspace;
    if (ws.kind === 'none') this.checkAvailable(job, 'discard');
    const busy = this.store.onWorktree(ws.path!).find((j) => !isFinal(j.status));
    if (busy) throw new ToolError('not_finished', (t) => `job ${busy.id} is still ${busy.status} in this worktree: cancel it (${t('cancel')}) or wait for it first`);
    const done = { job_id: job.id, path: ws.path!, branch: ws.branch! };
    if (ws.state === 'discarded') return { ...done, discarded: false, message: `job ${job.id}'s worktree was already discarded` };
    if (dryRun) return { ...done, discarded: false, message: `would remove worktree ${ws.path} and branch ${ws.branch}` };
    await this.remove(ws).catch((err: unknown) => gitFailure(`cannot remove ${ws.path}`, err));
    this.store.setWorktreeState(ws.path!, 'discarded');
    return { ...done, discarded: true, message: `removed worktree ${ws.path} and branch ${ws.branch}` };
  }

  /**
   * Worktree directories no job knows of (its row lost, e.g. rebuilt by a repair without it): their
   * registration and branch go too, found through the worktree's own link to its repository. A
   * job's directory still there means it is known yet: its row being collected right now (whose
   * collector keeps a branch committed on, which this cannot tell), or one a repair brings back.
   */
  async removeOrphans(): Promise<string[]> {
    const removed: string[] = [];
    let names: string[];
    try {
      names = fs.readdirSync(this.layout.worktreesDir);
    } catch {
      return removed;
    }
    for (const name of names) {
      const id = name.endsWith('.tmp') ? name.slice(0, -'.tmp'.length) : name;
      if (!isJobId(id) || this.store.get(id) || fs.existsSync(jobFiles(this.layout, id).dir)) continue;
      const where = path.join(this.layout.worktreesDir, name);
      const repo = name === id ? findRepoOfWorktree(where) : null;
      try {
        if (repo) await removeWorktree({ repo, path: where, branch: `codex/${id}` });
        fs.rmSync(where, { recursive: true, force: true });
        removed.push(where);
      } catch (err) {
        this.log('warn', `cannot remove orphaned worktree ${where}: ${(err as Error).message}`);
      }
    }
    return removed;
  }

  /**
   * Worktrees whose changes landed (engine/landing.ts) and that still hold what landed: their work
   * is in the checkout or on a branch, so gc removes them (the jobs' records stay). One changed
   * since (a reply, a person) stays. Returns the jobs whose worktree went (or would, dry).
   */
  async removeLanded(dryRun: boolean): Promise<Job[]> {
    const removed: Job[] = [];
    for (const job of this.store.landedWorktrees()) {
      const ws = job.workspace;
      if (removed.some((j) => j.workspace.path === ws.path)) continue;
      if (this.store.onWorktree(ws.path!).some((j) => !isFinal(j.status))) continue;
      const now = await this.workOf(job).catch(() => null);
      if (now?.tree !== ws.landed_tree) continue;
      if (!dryRun) {
        try {
          await this.remove(ws, true);
        } catch (err) {
          this.log('warn', `cannot remove landed worktree ${ws.path}: ${(err as Error).message}`);
          continue;
        }
        this.store.setWorktreeState(ws.path!, 'discarded');
      }
      removed.push(job);
    }
    return removed;
  }

  /** After jobs were deleted: their worktrees go with the last job that used them. */
  async removeUnused(deleted: Job[]): Promise<void> {
    const paths = new Set(deleted.filter((j) => j.workspace.kind === 'worktree' && j.workspace.path).map((j) => j.workspace.path!));
    for (const p of paths) {
      if (this.store.onWorktree(p).length > 0) continue;
      const job = deleted.find((j) => j.workspace.path === p)!;
      await this.remove(job.workspace, true).catch((err: unknown) => this.log('warn', `cannot remove worktree ${p}: ${(err as Error).message}`));
    }
  }
}

/**
 * Applied files arrive unstaged, so the new ones are untracked: `git diff` leaves them out, and
 * saying only "review with git diff" shows a user nothing for a job that only added files.
 */
function howToReview(files: ApplyResult['files']): string {
  const added = files.filter((f) => f.status === 'added').map((f) => f.path);
  if (added.length === 0) return 'review them with git diff';
  const which = `new file${added.length === 1 ? '' : 's'} (untracked, so git diff does not show ${added.length === 1 ? 'it' : 'them'}; git status lists ${added.length === 1 ? 'it' : 'them'}): ${listPaths(added, 10)}`;
  return added.length === files.length ? which : `review them with git status and git diff; ${which}`;
}
