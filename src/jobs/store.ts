import type { AgentName } from '../agents/agent.js';
import type { Progress } from '../agents/progress.js';
import type { Sandbox } from '../agents/access.js';
import type { ChangeSummary, StepResult, Isolation, JobWorkspace } from '../workspace/types.js';
import type { BroughtIn } from '../workspace/include.js';
import type { Db } from './db.js';
import { blockAt, type PortBlock } from './ports.js';
import type { ErrorKind, JobError, JobStatus, StopReason } from './states.js';

/** A job as stored. Times are epoch milliseconds. */
export interface Job {
  seq: number;
  id: string;
  status: JobStatus;
  /** Which CLI runs it: see agents/registry.ts. */
  agent: AgentName;
  prompt_head: string;
  prompt_bytes: number;
  cwd: string;
  sandbox: Sandbox;
  bypass: boolean;
  approval_policy: string | null;
  model: string | null;
  reasoning_effort: string | null;
  timeout_seconds: number;
  stall_seconds: number | null;
  has_output_schema: boolean;
  images: string[];
  add_dirs: string[];
  label: string | null;
  parent_job_id: string | null;
  resume_thread_id: string | null;
  thread_id: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  deadline_at: number | null;
  pid: number | null;
  pid_start: string | null;
  /** Fencing token of the current claim: each claim takes the next one. */
  launch_token: number;
  /** "pid starttime" of the process holding the claim. */
  claim_owner: string | null;
  /** When the claim's owner began spawning codex; from then on nobody else takes the claim over. */
  launched_at: number | null;
  stop_reason: StopReason | null;
  stop_requested_at: number | null;
  exit_code: number | null;
  error: JobError | null;
  progress: Progress | null;
  events_offset: number;
  final_message: string | null;
  isolation: Isolation;
  workspace: JobWorkspace;
  /** The best-of-N group this job is an attempt of. */
  group_id: string | null;
  check_command: string | null;
  check: StepResult | null;
  /** Run in the worktree before the agent starts, when the worktree is made (a reply runs none); null: none. */
  setup_command: string | null;
  /** How it went, recorded when the job finished. */
  setup: StepResult | null;
  /** The start's own `.worktreeinclude` patterns, beside the repository's file. */
  include: string[];
  /** Recorded once the job finished, for a job whose workspace is a git checkout. */
  changes: ChangeSummary | null;
  /** The block of ports a running worktree job holds (jobs/ports.ts). */
  ports: PortBlock | null;
}

export type NewJob = Pick<
  Job,
  | 'id'
  | 'agent'
  | 'prompt_head'
  | 'prompt_bytes'
  | 'cwd'
  | 'sandbox'
  | 'bypass'
  | 'approval_policy'
  | 'model'
  | 'reasoning_effort'
  | 'timeout_seconds'
  | 'stall_seconds'
  | 'has_output_schema'
  | 'images'
  | 'add_dirs'
  | 'label'
  | 'parent_job_id'
  | 'resume_thread_id'
  | 'created_at'
  | 'isolation'
  | 'workspace'
  | 'group_id'
  | 'check_command'
  | 'setup_command'
  | 'include'
>;

export interface Outcome {
  status: 'completed' | 'failed' | 'cancelled';
  exit_code: number | null;
  error: JobError | null;
  final_message: string | null;
  thread_id: string | null;
  progress: Progress;
  events_offset: number;
  finished_at: number;
  check: StepResult | null;
  setup: StepResult | null;
}

export interface ListFilter {
  status?: JobStatus | undefined;
  cwd?: string | undefined;
  label?: string | undefined;
  /** Only jobs older (smaller seq) than this, for paging. */
  beforeSeq?: number | undefined;
  limit: number;
}

export type Row = Record<string, unknown>;

/** A stored row as a Job; throws on a row whose JSON columns do not parse. */
export function toJob(row: Row): Job {
  const errorKind = row.error_kind as ErrorKind | null;
  return {
    ...(row as unknown as Job),
    bypass: row.bypass === 1,
    has_output_schema: row.has_output_schema === 1,
    images: JSON.parse(row.images as string) as string[],
    add_dirs: JSON.parse(row.add_dirs as string) as string[],
    include: row.include ? (JSON.parse(row.include as string) as string[]) : [],
    error: errorKind ? { kind: errorKind, message: (row.error_message as string | null) ?? '' } : null,
    progress: row.progress ? (JSON.parse(row.progress as string) as Progress) : null,
    workspace: {
      kind: row.isolation as Isolation,
      repo: row.ws_repo as string | null,
      subdir: (row.ws_subdir as string | null) ?? '',
      path: row.ws_path as string | null,
      branch: row.ws_branch as string | null,
      base_commit: row.ws_base as string | null,
      state: row.ws_state as JobWorkspace['state'],
      applied_tree: row.ws_applied_tree as string | null,
      applied_at: row.ws_applied_at as number | null,
      landed_by: (row.ws_landed_by as string | null) ?? null,
      landed_at: (row.ws_landed_at as number | null) ?? null,
      landed_tree: (row.ws_landed_tree as string | null) ?? null,
      brought_in: row.ws_brought_in ? (JSON.parse(row.ws_brought_in as string) as BroughtIn) : null,
    },
    check: row.check_result ? (JSON.parse(row.check_result as string) as StepResult) : null,
    setup: row.setup_result ? (JSON.parse(row.setup_result as string) as StepResult) : null,
    changes: row.changes ? (JSON.parse(row.changes as string) as ChangeSummary) : null,
    ports: typeof row.ports_first === 'number' ? blockAt(row.ports_first) : null,
  };
}

/**
 * A job's columns and its port block, for every read that makes a Job. Only a running job holds one:
 * a final job's row that a crash kept from being released is free (see reservePorts).
 */
const JOB = `SELECT *, (SELECT first FROM ports WHERE ports.job_id = jobs.id AND jobs.status = 'running') AS ports_first FROM jobs`;

/** The range of an index holding exactly the values that begin with `prefix`. */
function prefixRange(prefix: string): { low: string; high: string } {
  return { low: prefix, high: prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1) };
}

/** A workspace as its columns. */
function workspaceRow(ws: JobWorkspace): Row {
  return {
    ws_repo: ws.repo,
    ws_subdir: ws.subdir,
    ws_path: ws.path,
    ws_branch: ws.branch,
    ws_base: ws.base_commit,
    ws_state: ws.state,
    ws_applied_tree: ws.applied_tree,
    ws_applied_at: ws.applied_at,
    ws_brought_in: ws.brought_in ? JSON.stringify(ws.brought_in) : null,
    ws_landed_by: ws.landed_by,
    ws_landed_at: ws.landed_at,
    ws_landed_tree: ws.landed_tree,
  };
}

/** A job's settings as columns: booleans as 0/1, lists as JSON. */
function settingsRow<T extends Pick<Job, 'bypass' | 'has_output_schema' | 'images' | 'add_dirs' | 'include' | 'workspace'>>(job: T): Row {
  const { workspace, ...rest } = job;
  return {
    ...rest,
    ...workspaceRow(workspace),
    bypass: job.bypass ? 1 : 0,
    has_output_schema: job.has_output_schema ? 1 : 0,
    images: JSON.stringify(job.images),
    add_dirs: JSON.stringify(job.add_dirs),
    include: job.include.length ? JSON.stringify(job.include) : null,
  };
}

/**
 * Every SQL statement of the job store. Transitions are single guarded UPDATEs (see states.ts);
 * the queue claim runs in an IMMEDIATE transaction so the concurrency limit holds across every
 * server process that shares the database.
 */
export class JobStore {
  private readonly s;

  constructor(private readonly db: Db) {
    this.s = {
      insert: db.prepare(
        `INSERT INTO jobs (id, status, prompt_head, prompt_bytes, cwd, sandbox, bypass, approval_policy, model,
           reasoning_effort, timeout_seconds, stall_seconds, has_output_schema, images, add_dirs, label, parent_job_id,
           resume_thread_id, thread_id, created_at, isolation, ws_repo, ws_subdir, ws_path, ws_branch, ws_base, ws_state,
           ws_applied_tree, ws_applied_at, ws_brought_in, group_id, check_command, setup_command, include, agent)
         VALUES (@id, 'queued', @prompt_head, @prompt_bytes, @cwd, @sandbox, @bypass, @approval_policy, @model,
           @reasoning_effort, @timeout_seconds, @stall_seconds, @has_output_schema, @images, @add_dirs, @label, @parent_job_id,
           @resume_thread_id, @resume_thread_id, @created_at, @isolation, @ws_repo, @ws_subdir, @ws_path, @ws_branch, @ws_base,
           @ws_state, @ws_applied_tree, @ws_applied_at, @ws_brought_in, @group_id, @check_command, @setup_command, @include, @agent)`,
      ),
      get: db.prepare(`${JOB} WHERE id = ?`),
      idsFrom: db.prepare(`SELECT id FROM jobs WHERE id >= @low AND id < @high ORDER BY id`),
      queuePosition: db.prepare(`SELECT COUNT(*) AS n FROM jobs WHERE status = 'queued' AND seq <= ?`),
      countRunning: db.prepare(`SELECT COUNT(*) AS n FROM jobs WHERE status = 'running'`),
      anyQueued: db.prepare(`SELECT 1 FROM jobs WHERE status = 'queued' LIMIT 1`),
      oldestQueued: db.prepare(
        `${JOB} WHERE status = 'queued' AND agent IN (SELECT value FROM json_each(@agents)) ORDER BY seq LIMIT @n`,
      ),
      queuedAgents: db.prepare(`SELECT DISTINCT agent FROM jobs WHERE status = 'queued'`),
      unfinishedIds: db.prepare(`SELECT id FROM jobs WHERE status IN ('queued', 'running') ORDER BY seq`),
      claim: db.prepare(
        `UPDATE jobs SET status = 'running', started_at = @now, deadline_at = @now + CAST(timeout_seconds * 1000 AS INTEGER),
           launch_token = launch_token + 1, claim_owner = @owner, launched_at = NULL
         WHERE id = @id AND status = 'queued'`,
      ),
      beginLaunch: db.prepare(
        `UPDATE jobs SET launched_at = @now
         WHERE id = @id AND status = 'running' AND launch_token = @token AND launched_at IS NULL AND pid IS NULL
           AND stop_reason IS NULL`,
      ),
      setProcess: db.prepare(
        `UPDATE jobs SET pid = @pid, pid_start = @pid_start
         WHERE id = @id AND status = 'running' AND launch_token = @token AND pid IS NULL`,
      ),
      release: db.prepare(
        `UPDATE jobs SET status = 'queued', started_at = NULL, deadline_at = NULL, progress = NULL, events_offset = 0,
           claim_owner = NULL, launched_at = NULL
         WHERE id = @id AND status = 'running' AND pid IS NULL AND stop_reason IS NULL AND launch_token = @token
           AND launched_at IS @launched_at`,
      ),
      running: db.prepare(`${JOB} WHERE status = 'running' ORDER BY seq`),
      activeOnThread: db.prepare(
        `SELECT id FROM jobs WHERE status IN ('queued','running') AND (thread_id = @t OR resume_thread_id = @t) LIMIT 1`,
      ),
      saveProgress: db.prepare(
        `UPDATE jobs SET progress = @progress, events_offset = @events_offset, thread_id = COALESCE(@thread_id, thread_id)
         WHERE id = @id AND status = 'running' AND events_offset < @events_offset`,
      ),
      requestStop: db.prepare(
        `UPDATE jobs SET stop_reason = @reason, stop_requested_at = @now
         WHERE id = @id AND status = 'running' AND (stop_reason IS NULL OR stop_reason = 'lingering' AND @reason != 'lingering')
           AND (@token IS NULL OR launch_token = @token)`,
      ),
      finish: db.prepare(
        `UPDATE jobs SET status = @status, exit_code = @exit_code, error_kind = @error_kind, error_message = @error_message,
           final_message = @final_message, thread_id = COALESCE(@thread_id, thread_id), progress = @progress,
           events_offset = @events_offset, finished_at = @finished_at, check_result = @check_result,
           setup_result = @setup_result
         WHERE id = @id AND status = 'running' AND stop_reason IS @seen_stop_reason AND launch_token = @seen_token
           AND launched_at IS @seen_launched_at`,
      ),
      restore: db.prepare(
        `INSERT INTO jobs (id, status, prompt_head, prompt_bytes, cwd, sandbox, bypass, approval_policy, model,
           reasoning_effort, timeout_seconds, stall_seconds, has_output_schema, images, add_dirs, label, parent_job_id,
           resume_thread_id, thread_id, created_at, started_at, finished_at, deadline_at, pid, pid_start, stop_reason,
           stop_requested_at, exit_code, error_kind, error_message, progress, events_offset, final_message, launch_token, launched_at,
           isolation, ws_repo, ws_subdir, ws_path, ws_branch, ws_base, ws_state, ws_applied_tree, ws_applied_at, group_id,
           ws_brought_in, check_command, check_result, setup_command, setup_result, include, changes, agent)
         VALUES (@id, @status, @prompt_head, @prompt_bytes, @cwd, @sandbox, @bypass, @approval_policy, @model,
           @reasoning_effort, @timeout_seconds, @stall_seconds, @has_output_schema, @images, @add_dirs, @label, @parent_job_id,
           @resume_thread_id, @thread_id, @created_at, @started_at, @finished_at, @deadline_at, @pid, @pid_start, @stop_reason,
           @stop_requested_at, @exit_code, @error_kind, @error_message, @progress, @events_offset, @final_message, @launch_token,
           @launched_at, @isolation, @ws_repo, @ws_subdir, @ws_path, @ws_branch, @ws_base, @ws_state, @ws_applied_tree,
           @ws_applied_at, @group_id, @ws_brought_in, @check_command, @check_result, @setup_command, @setup_result, @include, @changes, @agent)`,
      ),
      setWorkspace: db.prepare(
        `UPDATE jobs SET ws_repo = @ws_repo, ws_subdir = @ws_subdir, ws_path = @ws_path, ws_base = @ws_base, ws_state = @ws_state,
           ws_brought_in = @ws_brought_in
         WHERE id = @id AND status = 'running' AND launch_token = @token`,
      ),
      worktreeState: db.prepare(`UPDATE jobs SET ws_state = @state WHERE ws_path = @path AND isolation = 'worktree'`),
      applied: db.prepare(`UPDATE jobs SET ws_applied_tree = @tree, ws_applied_at = @at WHERE ws_path = @path AND isolation = 'worktree'`),
      landed: db.prepare(`UPDATE jobs SET ws_landed_by = @landing, ws_landed_at = @at, ws_landed_tree = @tree WHERE ws_path = @path AND isolation = 'worktree'`),
      landedWorktrees: db.prepare(
        `${JOB} WHERE isolation = 'worktree' AND ws_state = 'ready' AND ws_landed_tree IS NOT NULL AND status IN ('completed', 'failed', 'cancelled') ORDER BY seq`,
      ),
      onWorktree: db.prepare(`${JOB} WHERE ws_path = ? AND isolation = 'worktree' ORDER BY seq`),
      setChanges: db.prepare(`UPDATE jobs SET changes = @changes WHERE id = @id`),
      group: db.prepare(`${JOB} WHERE group_id = ? ORDER BY seq`),
      groupsFrom: db.prepare(`SELECT DISTINCT group_id FROM jobs WHERE group_id >= @low AND group_id < @high ORDER BY group_id`),
      portsHeld: db.prepare(
        `SELECT ports.first FROM ports JOIN jobs ON jobs.id = ports.job_id WHERE jobs.status IN ('queued', 'running') AND ports.job_id != ?`,
      ),
      dropPorts: db.prepare(`DELETE FROM ports WHERE job_id = ?`),
      portsOf: db.prepare(`SELECT first FROM ports WHERE job_id = ? LIMIT 1`),
      // Replaces only a row the transaction found free: its job final or gone.
      takePorts: db.prepare(`INSERT OR REPLACE INTO ports (first, job_id) VALUES (@first, @id)`),
      cancelQueued: db.prepare(
        `UPDATE jobs SET status = 'cancelled', error_kind = 'cancelled', error_message = @message, finished_at = @now
         WHERE id = @id AND status = 'queued'`,
      ),
    };
  }

  insert(job: NewJob): void {
    this.s.insert.run(settingsRow(job));
  }

  /** Writes back a whole job, every column as given, in one transaction: what a repair rebuilt. */
  restore(jobs: Job[]): void {
    this.db.transaction(() => {
      for (const job of jobs) {
        const { seq: _seq, error, check, setup, changes, ...rest } = job;
        this.s.restore.run({
          ...settingsRow(rest),
          error_kind: error?.kind ?? null,
          error_message: error?.message ?? null,
          progress: job.progress ? JSON.stringify(job.progress) : null,
          check_result: check ? JSON.stringify(check) : null,
          setup_result: setup ? JSON.stringify(setup) : null,
          changes: changes ? JSON.stringify(changes) : null,
        });
      }
    })();
  }

  /** Inserts a job continuing `threadId` unless a job on that thread is queued or running. */
  insertOnThread(job: NewJob, threadId: string): string | null {
    const tx = this.db.transaction(() => {
      const busy = this.s.activeOnThread.get({ t: threadId }) as { id: string } | undefined;
      if (busy) return busy.id;
      this.insert(job);
      return null;
    });
    return tx.immediate();
  }

  get(id: string): Job | null {
    const row = this.s.get.get(id) as Row | undefined;
    return row ? toJob(row) : null;
  }

  /** The ids that begin with `prefix`, in order: a range over the id index, not a scan. */
  idsStartingWith(prefix: string): string[] {
    return (this.s.idsFrom.all(prefixRange(prefix)) as Array<{ id: string }>).map((row) => row.id);
  }

  queuePosition(job: Job): number {
    return (this.s.queuePosition.get(job.seq) as { n: number }).n;
  }

  running(): Job[] {
    return (this.s.running.all() as Row[]).map(toJob);
  }

  /** A plain read: most sweeps find nothing queued and need no write lock (or codex) to know it. */
  anyQueued(): boolean {
    return this.s.anyQueued.get() !== undefined;
  }

  /** Jobs queued or running, oldest first. */
  unfinishedIds(): string[] {
    return (this.s.unfinishedIds.all() as Array<{ id: string }>).map((row) => row.id);
  }

  /** The agents queued jobs wait for. */
  queuedAgents(): string[] {
    return (this.s.queuedAgents.all() as Array<{ agent: string }>).map((row) => row.agent);
  }

  /**
   * Moves the oldest queued jobs of `agents` (those this process can run) to running while fewer
   * than `max` run, machine-wide. Each claim is a lease held by `owner` ("pid starttime") under a
   * new launch token.
   */
  claimQueued(max: number, now: number, owner: string, agents: readonly string[]): Job[] {
    if (!this.anyQueued() || agents.length === 0) return [];
    const tx = this.db.transaction(() => {
      const running = (this.s.countRunning.get() as { n: number }).n;
      const free = max - running;
      if (free <= 0) return [];
      const picked = (this.s.oldestQueued.all({ n: free, agents: JSON.stringify(agents) }) as Row[]).map(toJob);
      for (const job of picked) this.s.claim.run({ id: job.id, now, owner });
      return picked.map((job) => this.get(job.id)!);
    });
    return tx.immediate();
  }

  /**
   * The check before any side effect of a launch (emptying the job's files, spawning codex): true
   * only while the claim under `token` is still this one's, not stopped, not begun. From then on no
   * other process releases the claim while its owner lives.
   */
  beginLaunch(id: string, token: number, now: number): boolean {
    return this.s.beginLaunch.run({ id, token, now }).changes === 1;
  }

  /** Records the launched process; false if the claim under `token` is no longer the job's. */
  setProcess(id: string, pid: number, pidStart: string, token: number): boolean {
    return this.s.setProcess.run({ id, pid, pid_start: pidStart, token }).changes === 1;
  }

  /**
   * running → queued, for the claim under `token` that never launched codex, provided its launch
   * state is still `launchedAt` as the caller saw it.
   */
  release(id: string, token: number, launchedAt: number | null): boolean {
    return this.s.release.run({ id, token, launched_at: launchedAt }).changes === 1;
  }

  saveProgress(id: string, progress: Progress, eventsOffset: number): void {
    this.s.saveProgress.run({
      id,
      progress: JSON.stringify(progress),
      events_offset: eventsOffset,
      thread_id: progress.thread_id,
    });
  }

  /**
   * Records why a running job is being stopped; false if it is not running or already stopping, or
   * (with `token`) if it is no longer that launch.
   */
  requestStop(id: string, reason: StopReason, now: number, token: number | null = null): boolean {
    return this.s.requestStop.run({ id, reason, now, token }).changes === 1;
  }

  /**
   * running → final. False when another process finished the job first, or when the row changed
   * since `seen` was read (a stop request, a new claim or launch): the verdict must then be made again.
   */
  finish(id: string, o: Outcome, seen: Pick<Job, 'stop_reason' | 'launch_token' | 'launched_at'>): boolean {
    return (
      this.s.finish.run({
        id,
        seen_stop_reason: seen.stop_reason,
        seen_token: seen.launch_token,
        seen_launched_at: seen.launched_at,
        status: o.status,
        exit_code: o.exit_code,
        error_kind: o.error?.kind ?? null,
        error_message: o.error?.message ?? null,
        final_message: o.final_message,
        thread_id: o.thread_id,
        progress: JSON.stringify(o.progress),
        events_offset: o.events_offset,
        finished_at: o.finished_at,
        check_result: o.check ? JSON.stringify(o.check) : null,
        setup_result: o.setup ? JSON.stringify(o.setup) : null,
      }).changes === 1
    );
  }

  cancelQueued(id: string, now: number): boolean {
    return this.s.cancelQueued.run({ id, now, message: 'cancelled before it started' }).changes === 1;
  }

  /**
   * Records where a launch's job works (found, or prepared, before codex starts); false if the claim
   * under `token` is no longer the job's.
   */
  setWorkspace(id: string, ws: JobWorkspace, token: number): boolean {
    const { ws_repo, ws_subdir, ws_path, ws_base, ws_state, ws_brought_in } = workspaceRow(ws);
    return this.s.setWorkspace.run({ id, token, ws_repo, ws_subdir, ws_path, ws_base, ws_state, ws_brought_in }).changes === 1;
  }

  /** Every job working in the worktree at `path` (a job and the replies that continued it). */
  onWorktree(path: string): Job[] {
    return (this.s.onWorktree.all(path) as Row[]).map(toJob);
  }

  /** Sets the state of the worktree at `path` on every job sharing it. */
  setWorktreeState(path: string, state: JobWorkspace['state']): void {
    this.s.worktreeState.run({ path, state });
  }

  /**
   * Records that the worktree at `path` landed by `landing`, holding `tree`; into the checkout
   * (`applied`), it also counts as applied, so applying it again is refused as for any applied worktree.
   */
  setLanded(path: string, landing: string, at: number, tree: string, applied: boolean): void {
    this.s.landed.run({ path, landing, at, tree });
    if (applied) this.setApplied(path, tree, at);
  }

  /** Finished jobs whose worktree is still there after it landed: gc may remove it (retention.ts). */
  landedWorktrees(): Job[] {
    return (this.s.landedWorktrees.all() as Row[]).map(toJob);
  }

  /** The port blocks running jobs hold now (a landing's check takes one none of them holds). */
  heldPorts(): ReadonlySet<number> {
    return new Set((this.s.portsHeld.all('') as Array<{ first: number }>).map((row) => row.first));
  }

  /** Records that the worktree at `path` was applied as `tree`, on every job sharing it. */
  setApplied(path: string, tree: string, at: number): void {
    this.s.applied.run({ path, tree, at });
  }

  setChanges(id: string, changes: ChangeSummary): void {
    this.s.setChanges.run({ id, changes: JSON.stringify(changes) });
  }

  /**
   * The job's block: the one it holds already (a job keeps one block from its first launch to its
   * end, whoever asks), else the one `pick` chooses among those no other job holds (a held block's
   * job is queued or running), in one IMMEDIATE transaction, so that two servers sharing the home
   * never give out the same block. Null when `pick` finds none; `held` is the blocks other jobs
   * hold then.
   */
  reservePorts(id: string, pick: (held: ReadonlySet<number>) => number | null): { first: number | null; held: ReadonlySet<number> } {
    const tx = this.db.transaction(() => {
      const held = new Set((this.s.portsHeld.all(id) as Array<{ first: number }>).map((row) => row.first));
      const own = this.s.portsOf.get(id) as { first: number } | undefined;
      const first = own?.first ?? pick(held);
      if (first !== null && !own) this.s.takePorts.run({ first, id });
      return { first, held };
    });
    return tx.immediate();
  }

  /** The job's block is free again: it reached its final status. */
  releasePorts(id: string): void {
    this.s.dropPorts.run(id);
  }

  /** The attempts of a best-of-N group, oldest first. */
  group(groupId: string): Job[] {
    return (this.s.group.all(groupId) as Row[]).map(toJob);
  }

  /** The group ids that begin with `prefix`. */
  groupIdsStartingWith(prefix: string): string[] {
    return (this.s.groupsFrom.all(prefixRange(prefix)) as Array<{ group_id: string }>).map((row) => row.group_id);
  }

  /**
   * Finished jobs that `gc` may delete: finished before `cutoff`, apart from the `keep` most recent
   * finished jobs. Queued and running jobs are never candidates.
   */
  collectable(cutoff: number, keep: number): Job[] {
    const rows = this.db
      .prepare(
        `${JOB} WHERE status IN ('completed', 'failed', 'cancelled') AND finished_at < @cutoff
           AND seq NOT IN (SELECT seq FROM jobs WHERE status IN ('completed', 'failed', 'cancelled') ORDER BY seq DESC LIMIT @keep)
         ORDER BY seq`,
      )
      .all({ cutoff, keep }) as Row[];
    return rows.map(toJob);
  }

  /** Deletes the rows of these jobs if they are (still) finished; returns the ids deleted. */
  deleteFinished(ids: string[]): string[] {
    const del = this.db.prepare(`DELETE FROM jobs WHERE id = ? AND status IN ('completed', 'failed', 'cancelled')`);
    return this.db.transaction(() => ids.filter((id) => del.run(id).changes === 1))();
  }

  /** Copies the write-ahead log into the database without waiting for other readers or writers. */
  checkpoint(): void {
    this.db.pragma('wal_checkpoint(PASSIVE)');
  }

  list(f: ListFilter): Job[] {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: f.limit };
    if (f.status) {
      where.push('status = @status');
      params.status = f.status;
    }
    if (f.cwd) {
      where.push('cwd = @cwd');
      params.cwd = f.cwd;
    }
    if (f.label) {
      where.push('label = @label');
      params.label = f.label;
    }
    if (f.beforeSeq !== undefined) {
      where.push('seq < @before');
      params.before = f.beforeSeq;
    }
    const sql = `${JOB} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT @limit`;
    return (this.db.prepare(sql).all(params) as Row[]).map(toJob);
  }
}
