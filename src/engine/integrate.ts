/**
 * A landing's run, in a process of its own (`__land`, started by engine/landing.ts), so it outlives
 * the server that started it: the jobs merged in order onto the checkout's state, each clean merge
 * checked in an integration worktree, what passed delivered to the checkout (or a branch) at once,
 * and the jobs set aside given continuations when asked. Merges happen in git's objects; only a
 * check needs files, and only the delivery writes the checkout.
 */
import fs from 'node:fs';
import path from 'node:path';
import { agentOf, isAgentName } from '../agents/registry.js';
import { writeLanding, landingFiles, type Landing, type SetAside } from '../jobs/landings.js';
import { blockAt, pickBlock, portEnv, startingBlock } from '../jobs/ports.js';
import type { Job } from '../jobs/store.js';
import { runConfined } from '../supervise/confined.js';
import { jobEnvironment } from '../supervise/env.js';
import { findProcesses, listeningPorts, selfIdentity } from '../supervise/proc.js';
import { applyChanges, fileChanges, headTree, mergeChange, treeOf, treePatch, uncommittedOverlap } from '../workspace/changes.js';
import { commitTree, listPaths, runGit, runGitResult, type TrustedDrivers } from '../workspace/git.js';
import { bringIn, includePatterns } from '../workspace/include.js';
import { readProjectDefaults } from '../workspace/project.js';
import { snapshotTree } from '../workspace/snapshot.js';
import { branchCommit, createWorktree, removeWorktree } from '../workspace/worktree.js';
import type { StepResult } from '../workspace/types.js';
import type { EngineParts } from './parts.js';
import type { Reading } from './reading.js';
import { setupCache, setupScript } from './setup.js';
import type { Starting } from './starting.js';

/** How much of a job's own diff its continuation is given. */
const CONTINUATION_DIFF_BYTES = 200 * 1024;

export interface Work {
  job: Job;
  /** The tree the job started from, and the one its worktree holds. */
  from: string;
  to: string;
}

/** Where the integration stands: its last commit and that commit's tree. */
interface Head {
  commit: string;
  tree: string;
}

const now = () => Date.now();

/** The drivers every landed job's workspace trusted: the merges run no other (git.ts driverOverrides). */
export function commonDrivers(p: EngineParts, jobs: Job[]): TrustedDrivers {
  const each = jobs.map((job) => new Set(p.workspaces.trustedDrivers(job)));
  return [...(each[0] ?? [])].filter((d) => each.every((set) => set.has(d)));
}

/** What a landing's setup and checks carry in their environment, so a landing whose process died can end them. */
export const LANDING_MARKER = 'CODEX_ASYNC_LANDING_ID';

/** The integration worktree of a landing: beside the jobs' own, named so no job id matches it. */
export function integrationSpec(p: EngineParts, l: Pick<Landing, 'id' | 'repo'>) {
  return { repo: l.repo, path: path.join(p.layout.worktreesDir, `land-${l.id}`), branch: `codex/landing-${l.id}` };
}

/** Removes a landing's integration worktree, its branch and its temp directory; what is gone already is fine. */
export async function removeIntegration(p: EngineParts, l: Pick<Landing, 'id' | 'repo'>): Promise<void> {
  const spec = integrationSpec(p, l);
  // A check still running there (its landing's process died) goes first: found by its marker.
  for (const s of findProcesses({ pgid: null, trustGroup: false, markers: [`${LANDING_MARKER}=${l.id}`], anySession: true, since: null })) {
    try {
      process.kill(s.pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  await removeWorktree(spec).catch((err: unknown) => p.log('warn', `landing ${l.id}: cannot remove ${spec.path}: ${(err as Error).message}`));
  fs.rmSync(`${spec.path}.tmp`, { recursive: true, force: true });
}

/**
 * How a landing ends that stopped short (`why`: its process died, or an error cut its run), from
 * its record alone: a delivery into the checkout it had begun is finished from its journal; a
 * branch it had already moved counts as landed; once delivered, it is done; before that nothing
 * was written, so it is `interrupted` (`failed` when an error says why). engine/landing.ts uses it
 * for a dead process, Integration.run for an error.
 */
export async function settle(p: EngineParts, l: Landing, why: string, status: 'interrupted' | 'failed'): Promise<Pick<Landing, 'status' | 'files' | 'message' | 'landed' | 'commits'>> {
  const kept = { landed: l.landed, commits: l.commits, files: l.files };
  if (l.phase === 'resolving') {
    return { ...kept, status: 'done', message: `landed ${l.landed.join(', ')}; ${why} while it started continuations, so some may be missing (started: ${l.resolving.map((r) => r.continuation_job_id).join(', ') || 'none'})` };
  }
  if (l.phase === 'delivering' && l.delivery) {
    return { ...kept, ...(await rollForward(p, l, why).catch((e: unknown) => ({ status: 'failed' as const, files: [], message: `${why}, and finishing the writing from its journal failed too (${(e as Error).message}): compare the files ${listPaths(l.delivery!.paths, 10)} with tree ${l.delivery!.after}` }))) };
  }
  if (l.phase === 'delivering' && l.into === 'branch' && l.head_commit !== null && (await branchCommit(l.repo, l.branch!).catch(() => null)) === l.head_commit) {
    markLandedFromRecord(p, l, false);
    return { ...kept, status: 'done', files: await fileChanges(l.repo, l.base_commit!, l.head_commit), message: `landed ${l.landed.join(', ')} onto branch ${l.branch}; ${why} right after` };
  }
  return { landed: [], commits: [], files: [], status, message: `${why} while ${l.progress ?? l.phase}, before it wrote anything: ${l.into === 'checkout' ? 'your checkout' : `branch ${l.branch}`} is as it was; land again` };
}

/**
 * Finishes a delivery from its journal (`l.delivery`), whatever state the paths it names are in:
 * what still differs from the tree it makes is written, so the checkout ends fully landed.
 */
async function rollForward(p: EngineParts, l: Landing, why: string): Promise<Pick<Landing, 'status' | 'files' | 'message'>> {
  const { before, after, paths } = l.delivery!;
  const drivers = l.drivers;
  const current = await snapshotTree(l.repo, drivers);
  const rest = await treePatch(l.repo, current, after, { renames: false, paths });
  if (rest.length) {
    const applied = await runGitResult(['apply', '--whitespace=nowarn', '-'], { cwd: l.repo, input: rest, okCodes: [1, 128], drivers });
    if (applied.code !== 0) {
      return {
        status: 'failed',
        files: [],
        message: `${why}, and the rest could not be written (${applied.stderr.trim()}): compare the files ${listPaths(paths, 10)} with tree ${after}`,
      };
    }
  }
  markLandedFromRecord(p, l, true);
  return { status: 'done', files: await fileChanges(l.repo, before, after), message: `landed ${l.landed.join(', ')} into ${l.repo}; ${why}, and the rest was written from its journal` };
}

/** Records the landing's landed jobs as landed, with the trees its record holds: what each worktree held when the landing was asked for. */
export function markLandedFromRecord(p: EngineParts, l: Landing, applied: boolean): void {
  const at = now();
  for (const id of l.landed) {
    const job = p.store.get(id);
    if (job) p.store.setLanded(job.workspace.path!, l.id, at, l.trees[l.job_ids.indexOf(id)]!, applied);
  }
}

/**
 * The jobs whose change touches files you changed since that job started and have not committed
 * (as codex_apply refuses them): its version would be mixed into your work in progress.
 */
export async function overlapsYourWork(repo: string, drivers: TrustedDrivers, work: readonly Work[]): Promise<{ job_id: string; files: string[] }[]> {
  const [user, head] = await Promise.all([snapshotTree(repo, drivers), headTree(repo)]);
  const found: { job_id: string; files: string[] }[] = [];
  for (const w of work) {
    const files = await uncommittedOverlap(repo, { from: w.from, to: w.to, user, head });
    if (files.length) found.push({ job_id: w.job.id, files });
  }
  return found;
}

export const overlapRefusal = (o: { job_id: string; files: string[] }) =>
  `your checkout has uncommitted changes to ${o.files.length === 1 ? 'a file' : 'files'} job ${o.job_id} also changed: ${listPaths(o.files, 10)}; nothing was changed: commit or stash your changes to these files, then land again`;

class Cancelled extends Error {
  override name = 'Cancelled';
}

export class Integration {
  private l: Landing;

  constructor(
    private readonly p: EngineParts,
    private readonly reading: Reading,
    private readonly starting: Starting,
    landing: Landing,
    private readonly signal?: AbortSignal,
  ) {
    this.l = landing;
  }

  /** A cancel (engine/landing.ts): its mark, or the SIGTERM that aborted `signal`. Looked at before each step, and before writing. */
  private stopIfCancelled(): void {
    if (this.signal?.aborted || fs.existsSync(landingFiles(this.p.layout, this.l.id).cancel)) throw new Cancelled();
  }

  private save(change: Partial<Landing>): void {
    const step = change.progress && change.progress !== this.l.progress ? [change.progress] : [];
    this.l = { ...this.l, ...change, steps: [...this.l.steps, ...step] };
    writeLanding(this.p.layout, this.l);
  }

  /** The landing's end, written once its integration worktree is gone (run's finally): a reader of "done" finds nothing left. */
  private end(status: Landing['status'], message: string): void {
    this.l = { ...this.l, status, phase: 'ended', progress: null, message };
  }

  async run(): Promise<void> {
    this.save({ owner: selfIdentity(), phase: 'preparing', progress: 'reading the jobs' });
    try {
      this.stopIfCancelled();
      const work: Work[] = [];
      for (const [i, id] of this.l.job_ids.entries()) {
        const job = this.reading.get(id);
        this.p.workspaces.checkLandable(job);
        work.push({ job, from: await treeOf(this.l.repo, job.workspace.base_commit!), to: this.l.trees[i]! });
      }
      let head: Head = { commit: this.l.base_commit!, tree: await treeOf(this.l.repo, this.l.base_commit!) };
      const base = head;
      const checked = this.l.check_command !== null;
      if (checked && !(await this.prepareIntegration(work))) return;
      for (const [i, w] of work.entries()) head = await this.landOne(w, head, `${i + 1}/${work.length}`);
      if (this.l.landed.length === 0) {
        await this.resolve(work, head);
        return this.end('done', `nothing landed: ${this.asideSummary()}`);
      }
      if (!(await this.deliver(work, base, head))) return;
      await this.resolve(work, head);
      this.end('done', this.summary());
    } catch (err) {
      if (err instanceof Cancelled || (this.signal?.aborted && this.l.phase !== 'delivering' && this.l.phase !== 'resolving')) {
        this.l = { ...this.l, landed: [], commits: [], files: [] };
        return this.end('cancelled', `cancelled while ${this.l.progress ?? this.l.phase}, before it wrote anything: ${this.l.into === 'checkout' ? 'your checkout' : `branch ${this.l.branch}`} is as it was`);
      }
      const message = (err as Error).message.split('\n').slice(0, 6).join(' ');
      const settled = await settle(this.p, this.l, `an error stopped it (${message})`, 'failed');
      this.l = { ...this.l, ...settled };
      this.end(settled.status, settled.message);
    } finally {
      if (this.l.integration) await removeIntegration(this.p, this.l);
      this.save({ integration: null, finished_at: now() });
    }
  }

  /**
   * The integration worktree, as a job's is made: the base's files, the ignored files the jobs
   * brought in, and the repository's setup run before any job's change, so that nothing an agent
   * wrote runs with network: on the base, or, onto an existing branch (which holds earlier
   * landings' jobs), on HEAD (each check then resets the worktree to the commit it checks).
   */
  private async prepareIntegration(work: Work[]): Promise<boolean> {
    const spec = integrationSpec(this.p, this.l);
    this.save({ integration: spec.path, progress: 'making the integration worktree' });
    const trusted = this.l.branch_from === null ? this.l.base_commit! : (await runGit(['rev-parse', '--verify', 'HEAD^{commit}'], { cwd: this.l.repo })).trim();
    await createWorktree(spec, trusted, this.l.drivers);
    fs.mkdirSync(`${spec.path}.tmp`, { recursive: true, mode: 0o700 });
    const patterns = includePatterns(this.l.repo, [...new Set(work.flatMap((w) => w.job.include))]);
    if (patterns.length) await bringIn({ repo: this.l.repo, worktree: spec.path, patterns, share: true });
    const setup = readProjectDefaults(this.l.repo).setup;
    if (setup === null) return true;
    this.save({ progress: `running the setup: ${setup}` });
    const f = landingFiles(this.p.layout, this.l.id);
    const cache = setupCache(this.p.layout, this.l.repo);
    fs.writeFileSync(f.setup, setupScript(setup, cache), { mode: 0o600 });
    // As a job's setup: the whole worktree writable (a monorepo installs at its top) and the cache.
    const result = await this.step(setup, f.setup, f.setupLog, [spec.path, cache], true);
    this.save({ setup: result });
    if (result.passed) return true;
    this.end('failed', `the repository's setup (${setup}) failed with exit code ${result.exit_code} in the integration worktree, so no check could run and nothing landed; see setup.output_tail`);
    return false;
  }

  /** A setup or check in the integration worktree, confined to it as a job's are (supervise/confined.ts). */
  private async step(command: string, script: string, log: string, writable: string[], network: boolean): Promise<StepResult> {
    const where = integrationSpec(this.p, this.l).path;
    const range = this.p.config.ports;
    const first = pickBlock(range, startingBlock(range, this.p.config.home), this.p.store.heldPorts(), listeningPorts());
    const env = { ...jobEnvironment(process.env), TMPDIR: `${where}.tmp`, [LANDING_MARKER]: this.l.id, ...(first === null ? {} : portEnv(blockAt(first))) };
    return runConfined({
      command,
      script,
      // Where the jobs worked, as their own checks run (a package of a monorepo), when they agree.
      cwd: path.join(where, this.l.subdir),
      env,
      log,
      sandboxPath: (await this.p.locators.of('codex').locate()).path,
      writable,
      network,
      timeoutMs: this.p.config.defaultTimeoutSeconds * 1000,
      nice: this.p.config.jobNice,
      signal: this.signal,
    });
  }

  /** One job merged onto what landed before it and, with a check, checked there. The new head, or the old one when it is set aside. */
  private async landOne(w: Work, head: Head, count: string): Promise<Head> {
    this.stopIfCancelled();
    const id = w.job.id;
    this.save({ phase: 'merging', progress: `merging job ${id} (${count})` });
    const onto = this.l.landed.length ? 'the jobs landed before it' : this.l.into === 'checkout' ? 'your checkout' : `${this.l.branch}`;
    const merged = await mergeChange(this.l.repo, { from: w.from, to: w.to, onto: head.tree, ontoName: onto, changeName: `job ${id}'s change`, drivers: this.l.drivers });
    if (merged.conflicts.length) {
      const files = merged.conflicts.map((c) => c.path);
      return this.setAside(head, {
        job_id: id,
        reason: 'conflict',
        files,
        message: `its change conflicts with ${onto} in ${listPaths(files, 10)}`,
      });
    }
    if (merged.tree === head.tree) {
      return this.setAside(head, { job_id: id, reason: 'no_changes', message: `nothing to land: it changed nothing, or ${onto} already holds its changes` });
    }
    const commit = await commitTree(this.l.repo, merged.tree, [head.commit], commitMessage(w.job, this.reading), authorOf(w.job));
    if (this.l.check_command !== null) {
      this.save({ phase: 'checking', progress: `checking job ${id} (${count}): ${this.l.check_command}` });
      const where = integrationSpec(this.p, this.l).path;
      // What an earlier check left (untracked files, its temp files; a set-aside job's among them)
      // must not decide this one. Ignored files stay: the setup's dependencies, what was brought in.
      await runGit(['clean', '-ffdq'], { cwd: where });
      fs.rmSync(`${where}.tmp`, { recursive: true, force: true });
      fs.mkdirSync(`${where}.tmp`, { mode: 0o700 });
      await runGit(['reset', '--hard', '--quiet', commit], { cwd: where, drivers: this.l.drivers });
      const f = landingFiles(this.p.layout, this.l.id);
      if (!fs.existsSync(f.check)) fs.writeFileSync(f.check, `${this.l.check_command}\n`, { mode: 0o600 });
      const check = await this.step(this.l.check_command, f.check, f.checkLog, [], false);
      this.stopIfCancelled(); // A check the cancel stopped failed for that reason, not the job's.
      if (!check.passed) {
        return this.setAside(head, { job_id: id, reason: 'check_failed', check, message: `the check failed (exit code ${check.exit_code}) with its change merged` });
      }
    }
    this.save({ landed: [...this.l.landed, id], commits: [...this.l.commits, { job_id: id, commit }], head_commit: commit });
    return { commit, tree: merged.tree };
  }

  private setAside(head: Head, aside: SetAside): Head {
    this.save({ set_aside: [...this.l.set_aside, aside] });
    return head;
  }

  /** Brings what landed to its place: the checkout (all or nothing, journalled) or the branch. */
  private async deliver(work: Work[], base: Head, head: Head): Promise<boolean> {
    this.stopIfCancelled();
    this.save({ progress: this.l.into === 'checkout' ? 'writing the checkout' : `updating branch ${this.l.branch}` });
    const landed = work.filter((w) => this.l.landed.includes(w.job.id));
    if (this.l.into === 'branch') {
      this.save({ phase: 'delivering' });
      const old = this.l.branch_from ?? '';
      const moved = await runGitResult(['update-ref', '-m', `codex-async-mcp: landing ${this.l.id}`, `refs/heads/${this.l.branch}`, head.commit, old], {
        cwd: this.l.repo,
        okCodes: [1, 128],
      });
      if (moved.code !== 0) {
        const now = await branchCommit(this.l.repo, this.l.branch!).catch(() => null);
        this.end(
          'refused',
          now !== this.l.branch_from
            ? `branch ${this.l.branch} moved while the jobs were landed, so it was left as it is; land again`
            : `git could not update branch ${this.l.branch} (${moved.stderr.trim().split('\n')[0]}); nothing was changed`,
        );
        return false;
      }
      markLandedFromRecord(this.p, this.l, false);
      this.save({ files: await fileChanges(this.l.repo, base.tree, head.tree) });
      return true;
    }
    const [overlap] = await overlapsYourWork(this.l.repo, this.l.drivers, landed);
    if (overlap) {
      this.end('refused', overlapRefusal(overlap));
      return false;
    }
    const o = await applyChanges({
      target: this.l.repo,
      base: base.commit,
      tree: head.tree,
      dryRun: false,
      drivers: this.l.drivers,
      beforeWrite: (delivery) => {
        this.stopIfCancelled();
        this.save({ phase: 'delivering', delivery });
        if (this.p.config.testPause === 'land-delivering') process.kill(process.pid, 'SIGSTOP');
      },
    });
    if (o.conflicts.length || o.refused) {
      const why = o.refused ?? `your checkout changed while the jobs were landed, in ways that conflict with them: ${listPaths(o.conflicts.map((c) => c.path), 10)}`;
      this.end('refused', `${why.replace(/[.;]?\s*$/, '')}. Nothing was changed`);
      // git refused after the journal was written: saved at once, or a recovery would write over your edit.
      if (this.l.delivery) this.save({ delivery: null });
      return false;
    }
    markLandedFromRecord(this.p, this.l, true);
    this.save({ files: o.files, phase: 'resolving' });
    return true;
  }

  /**
   * Uncommitted changes of yours to files a landed job changed since it started (as codex_apply
   * refuses them): its version would be mixed into your work in progress.
   */
  /**
   * With resolve: each job set aside for a conflict or a failed check continues its own thread in a
   * new worktree made from what landed, told what went wrong and shown its earlier change.
   */
  private async resolve(work: Work[], head: Head): Promise<void> {
    if (!this.l.resolve) return;
    this.save({ phase: 'resolving' });
    for (const aside of this.l.set_aside) {
      if (aside.reason === 'no_changes') continue;
      const w = work.find((x) => x.job.id === aside.job_id)!;
      this.save({ progress: `starting a continuation of job ${aside.job_id}` });
      try {
        const { patch, truncated } = await this.p.workspaces.workOf(w.job, CONTINUATION_DIFF_BYTES);
        const prompt = continuationPrompt(this.l, aside, patch ?? '', truncated);
        // Its parent's label, so that the continuation's commit, once landed, says what the change is.
        const label = w.job.label ?? `${(w.job.prompt_head.split('\n').find((line) => line.trim()) ?? '').trim().slice(0, 150)} (continued)`;
        const started = await this.starting.reply({ job_id: w.job.id, prompt, label }, { worktreeFrom: head.commit });
        this.save({ resolving: [...this.l.resolving, { job_id: aside.job_id, continuation_job_id: started.job_id }] });
      } catch (err) {
        aside.message = `${aside.message}; no continuation could be started: ${(err as Error).message}`;
        this.save({ set_aside: this.l.set_aside });
      }
    }
  }

  private asideSummary(): string {
    return this.l.set_aside.map((a) => `job ${a.job_id} ${a.message}`).join('; ') || 'no job';
  }

  private summary(): string {
    const where = this.l.into === 'checkout' ? `into ${this.l.repo} as uncommitted changes (review them with git status and git diff)` : `onto branch ${this.l.branch}, one commit each`;
    const aside = this.l.set_aside.length ? `; set aside: ${this.asideSummary()}` : '';
    const resolving = this.l.resolving.length ? `; continuations started: ${this.l.resolving.map((r) => `${r.continuation_job_id} for ${r.job_id}`).join(', ')} (land them when they finish)` : '';
    return `landed ${this.l.landed.length} job${this.l.landed.length === 1 ? '' : 's'} (${this.l.landed.join(', ')}) ${where}${aside}${resolving}`;
  }
}

/** A landed job's commit: its label or the prompt's first line, then its final message; the job named. */
function commitMessage(job: Job, reading: Reading): string {
  const title = (job.label ?? job.prompt_head.split('\n').find((line) => line.trim()) ?? `job ${job.id}`).trim();
  const subject = title.length > 72 ? `${title.slice(0, 71)}…` : title;
  let body = '';
  try {
    body = (reading.result(job.id).final_message ?? '').trim();
  } catch {
    // No final message to add.
  }
  if (body.length > 4000) body = `${body.slice(0, 4000)}…`;
  return [subject, ...(body ? ['', body] : []), '', `Codex-Async-Job: ${job.id}`].join('\n');
}

/** The agent that made the change, as a commit's author. */
function authorOf(job: Job): { name: string; email: string } {
  const title = isAgentName(job.agent) ? agentOf(job.agent).title : job.agent;
  return { name: title, email: `${job.agent}@codex-async-mcp.invalid` };
}

/** What a continuation is told: why its change did not land, where it now works, and its earlier diff. */
function continuationPrompt(l: Landing, aside: SetAside, patch: string, truncated: boolean): string {
  const why =
    aside.reason === 'conflict'
      ? `Your change could not be merged: ${aside.message} (files: ${aside.files!.join(', ')}).`
      : `With your change merged, the check \`${l.check_command}\` failed (exit code ${aside.check?.exit_code}). The end of its output:\n\n${aside.check?.output_tail.trimEnd() ?? ''}\n`;
  return [
    `Your earlier change could not be landed together with the other jobs' work. ${why}`,
    '',
    `This working directory is new: it holds the project with what landed (${l.landed.length ? `the changes of ${l.landed.join(', ')}` : 'nothing yet'}), but not your change. Make your change again on top of it, keeping what the others did${aside.reason === 'conflict' ? ', and resolve the conflicting files so that both changes hold' : ', so that the check passes'}.`,
    '',
    `Your earlier change, as a diff against the state you started from${truncated ? ' (cut at its size limit)' : ''}:`,
    '',
    '```diff',
    patch.trimEnd(),
    '```',
  ].join('\n');
}
