import type { z } from 'zod';
import type * as shapes from './shapes.js';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { AGENT_NAMES, runsInOurSandbox, type Agent, type AgentName, type Feature } from '../agents/agent.js';
import { AgentLocators } from '../agents/binary.js';
import { resolveAccess, type Access } from '../agents/access.js';
import { agentOf, isAgentName } from '../agents/registry.js';
import type { Config } from '../config.js';
import { invalid, ToolError } from '../errors.js';
import { Bus } from '../jobs/bus.js';
import { damagedError, guardDamage, isDamage, openDb } from '../jobs/db.js';
import { readActivityTail, readNewLines, readRawTail } from '../jobs/eventlog.js';
import { fileSize, homeLayout, jobFiles, prepareHome, readStep, underTempDir, type HomeLayout } from '../jobs/files.js';
import { isJobId, newJobId } from '../jobs/ids.js';
import { isDiskFull, Reserve } from '../jobs/reserve.js';
import { isFinal } from '../jobs/states.js';
import { JobStore, type Job, type NewJob } from '../jobs/store.js';
import type { Logger } from '../log.js';
import { probeSandbox, sandboxRefusal } from '../supervise/sandbox.js';
import { livingProcesses, stopJob } from '../supervise/terminate.js';
import type { JobApi, WaitOptions } from './api.js';
import { collectGarbage } from './retention.js';
import { Runner } from './runner.js';
import { Waiters } from './waiters.js';
import { toGroupView, type GroupView } from './groups.js';
import { PROJECT_FILE } from '../workspace/project.js';
import { Workspaces, type ApplyResult, type DiffResult, type DiscardResult } from './workspaces.js';
import type { Isolation, JobWorkspace } from '../workspace/types.js';
import { describeJob, toResult, toSnapshot, toSummary, type JobResult, type JobSummary, type Snapshot } from './snapshot.js';
import {
  checkAllowedRoots,
  checkIsolation,
  checkLineup,
  checkCommand,
  checkCwd,
  checkJobId,
  checkModelOptions,
  checkOutputSchema,
  checkPaths,
  checkPrompt,
  checkTimeout,
  checkWritableRoots,
  LIMITS,
  notFound,
  unknownAgent,
} from './validate.js';

/** The job options an agent may not take (Agent.unsupported), as a start or a reply gives them. */
type Options = Partial<Record<Feature, unknown>>;

/**
 * The engine's inputs and outputs are the tools' schemas (shapes.ts): one definition each. Its
 * inputs take any string where a tool's schema lists choices: the command line passes what a
 * person typed, and the engine's own checks name the valid values.
 */
export type StartInput = AsTyped<z.input<typeof shapes.startInput>>;
export type ReplyInput = AsTyped<z.input<typeof shapes.replyInput>>;
type AsTyped<T> = { [K in keyof T]: T[K] extends infer V ? (V extends string ? string : V extends readonly string[] ? string[] : V) : never };
export type ListInput = z.input<typeof shapes.listInput>;
export type Started = z.infer<typeof shapes.startedOutput>;
export type WaitOutcome = z.infer<typeof shapes.waitOutput>;

const OUTPUT_MAX_CHARS = 8000;
/** How long cancel waits, in 50 ms ticks, for a launch in flight (a worktree being made) to record its process or end. */
const PREPARING_WAIT_TICKS = 1200;
const THREAD_ID_PATTERN = /^[0-9A-Za-z][0-9A-Za-z_-]{7,79}$/;

/**
 * The job engine: every operation the MCP tools (and the command line) offer, over the job store,
 * the codex adapter and process supervision. Any number of engines in any number of processes may
 * share one home directory; they coordinate only through the database and the notify directory.
 */
export class Engine implements JobApi {
  private readonly layout: HomeLayout;
  private readonly store: JobStore;
  private readonly bus: Bus;
  private readonly locators: AgentLocators;
  private readonly waiters = new Waiters();
  private readonly runner: Runner;
  private readonly workspaces: Workspaces;
  private closed = false;

  private constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly db: ReturnType<typeof openDb>,
  ) {
    this.layout = homeLayout(config.home);
    this.store = guardDamage(new JobStore(db), this.layout.db);
    this.bus = new Bus(this.layout);
    this.locators = new AgentLocators(config.bins, config.searchPath, this.layout.agentVersions);
    const reserve = new Reserve(config.home, config.reserveBytes);
    reserve.ensure();
    this.workspaces = new Workspaces(this.store, this.layout, log);
    this.runner = new Runner(config, log, this.store, this.bus, this.layout, this.locators, this.waiters, reserve, this.workspaces);
  }

  /**
   * `forCommand`: a short-lived command line process — codex is looked up only when a job needs
   * it, and the caller runs `catchUp()` so what it shows is current.
   */
  static open(config: Config, log: Logger, opts: { forCommand?: boolean; callback?: boolean } = {}): Engine {
    const layout = homeLayout(config.home);
    prepareHome(layout);
    const db = openDb(layout.db, layout.jobsDir);
    let engine: Engine;
    try {
      engine = new Engine(config, log, db);
    } catch (err) {
      db.close();
      if (isDamage(err)) throw damagedError(layout.db, `is damaged (${(err as Error).message})`);
      throw err;
    }
    if (opts.callback) return engine;
    // Said once, where it helps: when a server starts (and by `doctor`), not before every command's output.
    if (!opts.forCommand && underTempDir(config.home)) {
      log('warn', `CODEX_ASYNC_HOME ${config.home} is under a temporary directory, which codex's workspace-write sandbox can write to: keep it elsewhere`);
    }
    engine.runner.start(!opts.forCommand);
    return engine;
  }

  /** A job's wrapper calling back (see supervise/launch.ts): its codex exited, or its deadline passed. */
  async callback(event: 'exited' | 'deadline', id: string, launch: number): Promise<void> {
    if (event === 'exited') await this.runner.afterExit(id, launch);
    else await this.runner.atDeadline(id, launch);
  }

  /**
   * One sweep now: records the outcome of jobs whose codex exited or vanished while no server
   * watched, and starts queued jobs if there is room. A server does this on its own every second;
   * a command calls it first so that what it lists is true.
   */
  catchUp(): Promise<void> {
    return this.runner.sweep();
  }

  /** How long finished jobs are kept (CODEX_ASYNC_RETENTION_DAYS); null: forever. */
  get retentionMs(): number | null {
    return this.config.retentionMs;
  }

  /** Stops watching; jobs run on. */
  async close(): Promise<void> {
    this.closed = true;
    this.waiters.wakeAll();
    await this.runner.close();
    this.db.close();
  }

  // ── starting jobs ────────────────────────────────────────────────────────────────────────────

  /**
   * `given`: the ids a fleet front end already handed out for this start (fleet/runner.ts), one per
   * attempt; otherwise they are made here.
   */
  async start(input: StartInput, given?: { ids: string[]; groupId: string | null }): Promise<Started> {
    const prompt = checkPrompt(input.prompt);
    if (input.runner_labels?.length && !given) {
      throw invalid('runner_labels choose among fleet runners, and this server runs jobs itself: set CODEX_ASYNC_REDIS_URL (docs/SCALING.md), or leave runner_labels out');
    }
    const lineup = checkLineup(input).map((name) => this.checkAgent(name, input));
    const attempts = lineup.length;
    if (given && (given.ids.length !== attempts || (attempts > 1) !== (given.groupId !== null))) {
      throw invalid(`the fleet handed out ${given.ids.length} job ids for ${attempts} attempts`);
    }
    const agents = [...new Set(lineup)];
    const cwd = checkCwd(input.cwd);
    const access = resolveAccess(input, this.config.allowDangerous);
    const schema = checkOutputSchema(input.output_schema);
    const addDirs = checkPaths('add_dirs', input.add_dirs, cwd);
    const images = checkPaths('images', input.images, cwd);
    this.checkPlaces(access, cwd, addDirs, images);
    for (const agent of agents) {
      for (const dir of addDirs) {
        const problem = agent.pathProblem?.(dir);
        if (problem) throw invalid(`add_dirs: ${problem}; leave it out, or use another agent`);
      }
    }
    const isolation = checkIsolation(input.isolation, attempts, this.config.defaultIsolation);
    const check = checkCommand('check_command', input.check_command);
    const first = given?.ids[0] ?? newJobId();
    const planned = await this.workspaces.plan(first, cwd, isolation, access);
    Workspaces.checkAddDirs(planned, addDirs);
    const environment = Workspaces.environment(planned, input);
    const groupId = given ? given.groupId : attempts > 1 ? newJobId() : null;
    for (const agent of agents) await this.locators.of(agent.name).locate();
    await this.checkSandbox(agents, access);
    // The setup and the check run under codex's sandbox whichever agent does the work.
    const step = check !== null ? 'check_command' : environment.setup_command !== null ? 'setup_command' : null;
    if (step && agents.some((agent) => agent.name !== 'codex') && access.sandbox !== 'danger-full-access') {
      await this.locators.of('codex').locate().catch((err: Error) => {
        const fromProject = step === 'setup_command' && input.setup_command === undefined ? ` (the repository's ${PROJECT_FILE} names it; setup_command "" skips it)` : '';
        throw new ToolError('codex_unavailable', `${step}${fromProject} runs under codex's sandbox, so codex must be installed too: ${err.message}`);
      });
    }
    const ids: string[] = [];
    try {
      for (let i = 0; i < attempts; i++) {
        const id = i === 0 ? first : (given?.ids[i] ?? newJobId());
        const job = this.newJob(id, lineup[i]!.name, prompt, cwd, access, input, {
          images,
          add_dirs: addDirs,
          has_output_schema: schema !== null,
          parent_job_id: null,
          resume_thread_id: null,
          isolation,
          workspace: Workspaces.forJob(planned, id, this.layout),
          group_id: groupId,
          check_command: check,
          ...environment,
        });
        this.create(job, prompt, schema, null);
        ids.push(id);
      }
    } catch (err) {
      // A group is all its attempts or none: those already recorded are cancelled before they start.
      for (const id of ids) this.store.cancelQueued(id, Date.now());
      throw err;
    }
    return this.started(ids, groupId);
  }

  /** The agent named (codex when none is), refusing the options it cannot honour. */
  private checkAgent(name: string | undefined, input: Options): Agent {
    if (name !== undefined && !isAgentName(name)) throw invalid(unknownAgent(name));
    const agent = agentOf(name ?? 'codex');
    this.refuseUnsupported(agent, input);
    return agent;
  }

  private refuseUnsupported(agent: Agent, input: Options): void {
    for (const feature of agent.unsupported) {
      const value = input[feature];
      if (value !== undefined && !(Array.isArray(value) && value.length === 0)) {
        throw invalid(`${agent.title} cannot take ${feature}: leave it out, or use agent "codex"`);
      }
    }
  }

  async reply(input: ReplyInput): Promise<Started> {
    const prompt = checkPrompt(input.prompt);
    let threadId: string;
    let agent: Agent;
    let cwd: string;
    let access: Access;
    let addDirs: string[] = [];
    let parentId: string | null = null;
    let approvalPolicy = input.approval_policy;
    let workspace: JobWorkspace | null = null;
    let isolation: Isolation = 'none';
    let environment: Pick<NewJob, 'setup_command' | 'include'> | null = null;
    if (input.job_id !== undefined) {
      if (input.thread_id !== undefined) throw invalid('give job_id or thread_id, not both');
      for (const key of ['cwd', 'sandbox', 'approval_policy', 'agent'] as const) {
        if (input[key] !== undefined) throw invalid(`${key} comes from the parent job when replying by job_id; leave it out`);
      }
      const parent = this.get(input.job_id);
      agent = agentOf(parent.agent);
      this.refuseUnsupported(agent, input);
      if (!parent.thread_id) {
        throw new ToolError(
          isFinal(parent.status) ? 'conflict' : 'not_finished',
          isFinal(parent.status)
            ? (t) => `job ${parent.id} never started a ${agent.title} session (${describeJob(parent)}), so there is nothing to continue: start a new job with ${t('start')}`
            : (t) => `job ${parent.id} is ${parent.status} and has no ${agent.title} session yet: wait for it with ${t('wait')}, then reply`,
        );
      }
      if (!parent.cwd) {
        throw new ToolError('conflict', `job ${parent.id} was recovered by a repair without its settings, so its cwd is unknown: reply with thread_id "${parent.thread_id}" and cwd instead`);
      }
      threadId = parent.thread_id;
      cwd = parent.cwd;
      approvalPolicy = parent.approval_policy ?? undefined;
      access = resolveAccess({ sandbox: parent.sandbox, approval_policy: approvalPolicy }, this.config.allowDangerous);
      addDirs = parent.add_dirs;
      parentId = parent.id;
      workspace = this.continuedWorkspace(parent);
      // In the same worktree, as its parent's setup left it. Not run again: the setup has network,
      // and what it runs (package.json scripts, install hooks) the agent could have rewritten.
      environment = { setup_command: null, include: parent.include };
    } else if (input.thread_id !== undefined) {
      agent = this.checkAgent(input.agent, input);
      if (!THREAD_ID_PATTERN.test(input.thread_id)) {
        throw invalid(`"${input.thread_id.slice(0, 80)}" is not a ${agent.title} session id (such as the one ${agent.command} prints at start)`);
      }
      if (input.cwd === undefined) throw invalid('cwd is required with thread_id: the directory the thread works in');
      threadId = input.thread_id;
      cwd = checkCwd(input.cwd);
      access = resolveAccess(input, this.config.allowDangerous);
      isolation = agent.resumesInPlaceOnly ? 'none' : this.config.defaultIsolation;
    } else {
      throw invalid((t) => `give job_id (a job started by ${t('start')}) or thread_id (any agent's session id) with cwd`);
    }
    this.checkPlaces(access, cwd, addDirs, []);
    const id = newJobId();
    workspace ??= await this.workspaces.plan(id, cwd, isolation, access);
    environment ??= Workspaces.environment(workspace, {});
    const job = this.newJob(id, agent.name, prompt, cwd, access, { ...input, approval_policy: approvalPolicy }, {
      images: [],
      add_dirs: addDirs,
      has_output_schema: false,
      parent_job_id: parentId,
      resume_thread_id: threadId,
      isolation: workspace.kind,
      workspace: Workspaces.forJob(workspace, id, this.layout),
      group_id: null,
      check_command: null,
      ...environment,
    });
    await this.locators.of(agent.name).locate();
    await this.checkSandbox([agent], access);
    this.create(job, prompt, null, threadId);
    return this.started([job.id], null);
  }

  /** A reply continues in its parent's worktree, which must still be there; null: the parent had none. */
  private continuedWorkspace(parent: Job): JobWorkspace | null {
    const ws = parent.workspace;
    if (ws.kind === 'none') return null;
    if (ws.state !== 'ready') {
      throw new ToolError(
        'conflict',
        ws.state === 'discarded'
          ? (t) => `job ${parent.id}'s worktree was discarded, so its thread cannot continue there: start a new job with ${t('start')}`
          : (t) => `job ${parent.id}'s worktree ${ws.state === 'failed' ? 'could not be made' : 'is not ready'}: start a new job with ${t('start')}`,
      );
    }
    return ws;
  }

  /** Refuses a job our OS sandbox should confine on a machine where it cannot be made: never unconfined silently. */
  private async checkSandbox(agents: readonly Agent[], access: Access): Promise<void> {
    const agent = agents.find((a) => runsInOurSandbox(a, access));
    if (!agent) return;
    const probe = await probeSandbox(this.config.bwrap, this.config.searchPath);
    if (!probe.ok) throw new ToolError('sandbox_unavailable', sandboxRefusal(agent, access, probe));
  }

  /** Where codex may look and write: inside the allowed roots, never over the state directory. */
  private checkPlaces(access: Access, cwd: string, addDirs: string[], images: string[]): void {
    checkAllowedRoots(
      [
        { what: 'cwd', path: cwd, dir: true },
        ...addDirs.map((p) => ({ what: 'add_dirs entry', path: p, dir: true })),
        ...images.map((p) => ({ what: 'images entry', path: p, dir: false })),
      ],
      this.config.allowedRoots,
    );
    checkWritableRoots(access, cwd, addDirs, this.config.home);
  }

  private newJob(
    id: string,
    agent: AgentName,
    prompt: string,
    cwd: string,
    access: Access,
    input: Pick<StartInput, 'approval_policy' | 'model' | 'reasoning_effort' | 'timeout_seconds' | 'stall_seconds' | 'label'>,
    /** What the start or reply decided besides the options every job takes. */
    rest: Omit<NewJob, 'id' | 'agent' | 'prompt_head' | 'prompt_bytes' | 'cwd' | 'sandbox' | 'bypass' | 'created_at' | keyof typeof input>,
  ): NewJob {
    checkModelOptions(input);
    if (input.label !== undefined && input.label.length > LIMITS.labelChars) {
      throw invalid(`label is longer than ${LIMITS.labelChars} characters`);
    }
    return {
      id,
      agent,
      prompt_head: prompt.slice(0, 2000),
      prompt_bytes: Buffer.byteLength(prompt),
      cwd,
      sandbox: access.sandbox,
      bypass: access.bypass,
      approval_policy: input.approval_policy ?? null,
      model: input.model ?? null,
      reasoning_effort: input.reasoning_effort ?? null,
      timeout_seconds: checkTimeout('timeout_seconds', input.timeout_seconds, this.config.defaultTimeoutSeconds),
      stall_seconds: input.stall_seconds === undefined ? null : checkTimeout('stall_seconds', input.stall_seconds, 0),
      label: input.label ?? null,
      created_at: Date.now(),
      ...rest,
    };
  }

  /** Writes the job's files, then records it as queued: a job in the database is always runnable. */
  private create(job: NewJob, prompt: string, schema: string | null, threadId: string | null): void {
    const files = jobFiles(this.layout, job.id);
    try {
      fs.mkdirSync(files.dir, { mode: 0o700 });
      fs.writeFileSync(files.prompt, prompt, { mode: 0o600, flag: 'wx' });
      // The settings the directory would otherwise lack: a repair rebuilds the row from them.
      fs.writeFileSync(files.settings, JSON.stringify(job), { mode: 0o600, flag: 'wx' });
      if (schema !== null) fs.writeFileSync(files.outputSchema, schema, { mode: 0o600, flag: 'wx' });
      if (job.check_command !== null) fs.writeFileSync(files.check, `${job.check_command}\n`, { mode: 0o600, flag: 'wx' });
      if (threadId === null) this.store.insert(job);
      else {
        const busy = this.store.insertOnThread(job, threadId);
        if (busy) {
          throw new ToolError(
            'conflict',
            (t) => `job ${busy} is still working on thread ${threadId}: wait for it (${t('wait')}) or cancel it (${t('cancel')}), then reply`,
          );
        }
      }
    } catch (err) {
      fs.rmSync(files.dir, { recursive: true, force: true });
      if (err instanceof ToolError) throw err;
      const hint = isDiskFull(err) ? ': the disk is full; free some space and try again' : `: ${(err as Error).message}`;
      throw new ToolError('storage', `cannot record the job in ${this.config.home}${hint}`);
    }
    this.bus.publish(job.id);
  }

  private async started(ids: string[], groupId: string | null): Promise<Started> {
    await this.runner.dispatch();
    const job = this.get(ids[0]!);
    return {
      job_id: job.id,
      status: job.status,
      created_at: new Date(job.created_at).toISOString(),
      queue_position: job.status === 'queued' ? this.store.queuePosition(job) : null,
      isolation: job.isolation,
      group_id: groupId,
      job_ids: ids,
    };
  }

  // ── reading jobs ─────────────────────────────────────────────────────────────────────────────

  /**
   * The whole id for what a caller typed: the id itself, or a prefix only one job's id starts with
   * (as git and docker take them). Callers that look a job up repeatedly resolve once, so a job
   * created meanwhile cannot make their prefix ambiguous halfway through.
   */
  resolve(idOrPrefix: string): string {
    const id = checkJobId(idOrPrefix);
    if (isJobId(id)) return id;
    const matches = this.store.idsStartingWith(id);
    if (matches.length === 0) throw notFound(id);
    if (matches.length > 1) {
      const shown = matches.slice(0, 10).join(', ');
      throw invalid(`job id prefix "${id}" is ambiguous: ${matches.length} jobs start with it (${shown}${matches.length > 10 ? ', …' : ''}); give more characters`);
    }
    return matches[0]!;
  }

  private get(id: string): Job {
    const whole = this.resolve(id);
    const job = this.store.get(whole);
    if (!job) throw notFound(whole);
    return job;
  }

  private snapshotOf(job: Job, tailLines = 100): Snapshot {
    const fresh = this.runner.refresh(job);
    const files = jobFiles(this.layout, job.id);
    // Recorded when the job ends; until then, as far as the wrapper has got.
    if (fresh.status === 'running') fresh.setup = readStep(files, 'setup', fresh.setup_command);
    const output = readActivityTail(agentOf(job.agent).stream, files.events, tailLines, OUTPUT_MAX_CHARS);
    return toSnapshot(fresh, output, fresh.status === 'queued' ? this.store.queuePosition(fresh) : null, this.runner.phase(fresh));
  }

  poll(id: string, tailLines = 100): Snapshot {
    if (!Number.isInteger(tailLines) || tailLines < 0) throw invalid(`tail_lines must be a whole number from 0 up, got ${tailLines}`);
    return this.snapshotOf(this.get(id), tailLines);
  }

  /** The readable activity log, longer than poll's: for the `codex-job://{id}/output` resource. */
  activity(id: string): string {
    const job = this.get(id);
    return readActivityTail(agentOf(job.agent).stream, jobFiles(this.layout, job.id).events, 2000, 256 * 1024);
  }

  /** The raw JSONL event stream's last `maxBytes`, cut at a line start: for `codex-job://{id}/events`. */
  rawEvents(id: string, maxBytes = 1 << 20): string {
    return readRawTail(jobFiles(this.layout, this.get(id).id).events, maxBytes);
  }

  result(id: string): JobResult {
    const job = this.get(id);
    if (!isFinal(job.status)) {
      throw new ToolError(
        'not_finished',
        (t) => `job ${job.id} is still ${job.status}: call ${t('wait')} with job_ids ["${job.id}"] to block until it finishes, or ${t('poll')} to see its progress`,
      );
    }
    return toResult(job);
  }

  list(input: ListInput): { jobs: JobSummary[]; next_cursor: string | null } {
    const limit = input.limit ?? 20;
    if (!Number.isInteger(limit) || limit < 1 || limit > LIMITS.listLimit) {
      throw invalid(`limit must be a whole number from 1 to ${LIMITS.listLimit}, got ${limit}`);
    }
    let beforeSeq: number | undefined;
    if (input.cursor !== undefined) {
      const decoded = Number(Buffer.from(input.cursor, 'base64url').toString('utf8'));
      if (!Number.isInteger(decoded) || decoded < 1) throw invalid((t) => `cursor is not one ${t('list')} returned: pass next_cursor as given`);
      beforeSeq = decoded;
    }
    const rows = this.store.list({ status: input.status, cwd: input.cwd, label: input.label, beforeSeq, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      jobs: page.map(toSummary),
      next_cursor: rows.length > limit && last ? Buffer.from(String(last.seq)).toString('base64url') : null,
    };
  }

  /**
   * Calls `onChange` whenever the job changes (queued, started, finished — in any server process)
   * until the returned function is called. The job must exist.
   */
  watch(id: string, onChange: () => void): () => void {
    return this.waiters.watch(this.get(id).id, onChange);
  }

  /**
   * Deletes finished jobs that finished more than `olderThanMs` ago, keeping the `keep` most
   * recent finished ones; never a queued or running job. With `dryRun`, only reports.
   */
  async gc(opts: { olderThanMs: number; keep: number; dryRun: boolean }): Promise<{ jobs: JobSummary[]; bytes: number }> {
    if (!(opts.olderThanMs >= 0)) throw invalid('the age must be zero or more');
    if (!Number.isInteger(opts.keep) || opts.keep < 0) throw invalid(`keep must be a whole number from 0 up, got ${opts.keep}`);
    const { jobs, bytes } = await collectGarbage(this.store, this.layout, this.workspaces, opts);
    return { jobs: jobs.map(toSummary), bytes };
  }

  /**
   * Follows a job's raw event log from byte `offset`: every complete line goes to `onLine` as it is
   * written, until the job is final and its log read to the end (or `signal` aborts). Event-log
   * writes do not wake anyone, so a running job's log is re-checked every `everyMs`.
   */
  async follow(idOrPrefix: string, offset: number, onLine: (line: string) => void, opts: { signal?: AbortSignal; everyMs?: number } = {}): Promise<Snapshot> {
    const id = this.resolve(idOrPrefix);
    const file = jobFiles(this.layout, this.get(id).id).events;
    for (;;) {
      const job = this.runner.refresh(this.get(id));
      const final = isFinal(job.status);
      for (let before = -1; offset !== before && !opts.signal?.aborted; ) {
        before = offset;
        const chunk = readNewLines(file, offset, final);
        offset = chunk.offset;
        for (const line of chunk.lines) onLine(line);
      }
      if (final || opts.signal?.aborted || this.closed) return this.snapshotOf(job, 0);
      await this.waiters.next([job.id], opts.everyMs ?? 250, opts.signal);
    }
  }

  /** The complete lines of a job's event log from byte `offset` (a fleet runner's `follow`, one step at a time). */
  readLog(id: string, offset: number): { lines: string[]; offset: number; final: boolean } {
    const job = this.runner.refresh(this.get(id));
    const final = isFinal(job.status);
    const file = jobFiles(this.layout, job.id).events;
    const chunk = readNewLines(file, offset, final);
    // Final only once read to the end: one call reads at most a chunk.
    return { lines: chunk.lines, offset: chunk.offset, final: final && chunk.offset >= fileSize(file) };
  }

  /** The agents this machine has (a fleet runner announces them). */
  async agentsFound(): Promise<AgentName[]> {
    const found = await Promise.all(AGENT_NAMES.map(async (name) => ((await this.locators.of(name).available()) !== null ? name : null)));
    return found.filter((name): name is AgentName => name !== null);
  }

  /** Whether this store has the job (a fleet runner's proof that it began it). */
  knows(id: string): boolean {
    return this.store.get(id) !== null;
  }

  /** Jobs not yet final: what a fleet runner counts against its limit and takes back after a restart. */
  unfinished(): string[] {
    return this.store.unfinishedIds();
  }

  /** Where a job's event log ends now: `follow` from here shows only what comes next. */
  eventLogSize(id: string): number {
    return fileSize(jobFiles(this.layout, this.get(id).id).events);
  }

  /** Calls `onChange` with the job id whenever any job changes, in any server process. */
  watchAll(onChange: (id: string) => void): () => void {
    return this.waiters.watchAll(onChange);
  }

  // ── reviewing changes ────────────────────────────────────────────────────────────────────────

  /** The job's changes against the commit it started from (see Workspaces.diff). */
  diff(id: string, opts: { statOnly?: boolean; paths?: string[]; maxBytes?: number } = {}): Promise<DiffResult> {
    return this.workspaces.diff(this.get(id), { statOnly: opts.statOnly ?? false, paths: opts.paths, maxBytes: opts.maxBytes });
  }

  /** Brings a finished job's changes into the checkout it was started from (see Workspaces.apply). */
  apply(id: string, opts: { dryRun?: boolean } = {}): Promise<ApplyResult> {
    return this.workspaces.apply(this.get(id), opts.dryRun ?? false);
  }

  /** Removes a finished job's worktree and branch; the job's record and logs stay. */
  discard(id: string, opts: { dryRun?: boolean } = {}): Promise<DiscardResult> {
    return this.workspaces.discard(this.get(id), opts.dryRun ?? false);
  }

  // ── groups of attempts ───────────────────────────────────────────────────────────────────────

  /** The whole group id for what a caller typed (a prefix works as for jobs). */
  resolveGroup(idOrPrefix: string): string {
    const id = checkJobId(idOrPrefix);
    const matches = this.store.groupIdsStartingWith(id);
    if (matches.length === 0) throw new ToolError('not_found', (t) => `no group of attempts with id "${id}": group ids are returned by ${t('start')} with attempts`);
    if (matches.length > 1) throw invalid(`group id prefix "${id}" is ambiguous: give more characters`);
    return matches[0]!;
  }

  /** A group's attempts ranked, best first; changes of finished attempts are measured if need be. */
  async group(idOrPrefix: string): Promise<GroupView> {
    const groupId = this.resolveGroup(idOrPrefix);
    let jobs = this.store.group(groupId);
    const unmeasured = jobs.filter((job) => isFinal(job.status) && job.changes === null && job.workspace.state === 'ready');
    if (unmeasured.length) {
      await Promise.all(unmeasured.map((job) => this.workspaces.summarize(job)));
      jobs = this.store.group(groupId);
    }
    return toGroupView(groupId, jobs);
  }

  /** Waits until every attempt of the group is final (or the timeout), then ranks them. */
  async waitGroup(idOrPrefix: string, timeoutMs: number, opts: WaitOptions = {}): Promise<WaitOutcome> {
    const groupId = this.resolveGroup(idOrPrefix);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pending = this.store.group(groupId).filter((job) => !isFinal(job.status)).map((job) => job.id);
      if (pending.length === 0 || Date.now() >= deadline || opts.signal?.aborted || this.closed) break;
      await this.wait(pending, deadline - Date.now(), opts);
    }
    const group = await this.group(groupId);
    const jobs = this.store.group(groupId);
    return {
      finished: jobs.filter((job) => isFinal(job.status)).map((job) => this.snapshotOf(job, 0)),
      pending: jobs.filter((job) => !isFinal(job.status)).map((job) => job.id),
      timed_out: group.finished < group.total,
      group,
    };
  }

  /** Cancels every attempt of a group still queued or running. */
  async cancelGroup(idOrPrefix: string): Promise<GroupView> {
    const groupId = this.resolveGroup(idOrPrefix);
    await Promise.all(this.store.group(groupId).filter((job) => !isFinal(job.status)).map((job) => this.cancel(job.id)));
    return this.group(groupId);
  }

  // ── waiting and cancelling ───────────────────────────────────────────────────────────────────

  /**
   * Returns as soon as one of the jobs is final, or at the timeout. `signal` aborts the wait, never
   * the jobs. `onTick` is called every `tickMs` with the first pending job, for progress reports.
   */
  async wait(
    ids: string[],
    timeoutMs: number,
    opts: WaitOptions = {},
  ): Promise<WaitOutcome> {
    if (ids.length === 0) throw invalid('give at least one job id to wait for, or a group_id');
    const unique = [...new Set(ids.map((id) => this.resolve(id)))];
    for (const id of unique) this.get(id);
    const begun = Date.now();
    const deadline = begun + timeoutMs;
    let ticker: NodeJS.Timeout | null = null;
    const onTick = opts.onTick;
    if (onTick && opts.tickMs) {
      const tick = () => {
        try {
          const pending = unique.map((id) => this.store.get(id)).find((job) => job && !isFinal(job.status));
          if (pending) onTick(this.snapshotOf(pending, 0), Date.now() - begun);
        } catch (err) {
          this.log('warn', `progress report failed: ${(err as Error).message}`);
        }
      };
      tick();
      ticker = setInterval(tick, opts.tickMs);
    }
    try {
      for (;;) {
        const jobs = unique.map((id) => this.get(id));
        const finished = jobs.filter((job) => isFinal(job.status));
        const timedOut = Date.now() >= deadline;
        if (finished.length > 0 || timedOut || opts.signal?.aborted || this.closed) {
          return {
            finished: finished.map((job) => this.snapshotOf(job)),
            pending: jobs.filter((job) => !isFinal(job.status)).map((job) => job.id),
            timed_out: finished.length === 0 && timedOut,
          };
        }
        // Wake-ups come through the notify directory; re-reading once per sweep interval covers a
        // watcher that failed (inotify limits) at the cost of one query a second.
        await this.waiters.next(unique, Math.min(deadline - Date.now(), this.config.sweepIntervalMs), opts.signal);
      }
    } finally {
      if (ticker) clearInterval(ticker);
    }
  }

  /** Stops a job and everything it started; returns only when they are gone. */
  async cancel(idOrPrefix: string): Promise<Snapshot> {
    const id = this.resolve(idOrPrefix);
    let job = this.get(id);
    // A job moves queued → running (claim) and, rarely, back (release): retry until one step holds.
    for (let attempt = 0; ; attempt++) {
      if (job.status === 'queued' && this.store.cancelQueued(job.id, Date.now())) {
        // A launch cut short by a crash may have left part of a worktree: nothing half-made stays.
        await this.workspaces.abandon(job);
        this.bus.publish(job.id);
        this.waiters.wake(job.id);
        return this.snapshotOf(this.get(id));
      }
      job = this.get(id);
      if (isFinal(job.status)) return this.snapshotOf(job);
      if (job.status === 'running' && (this.store.requestStop(job.id, 'cancelled', Date.now()) || job.stop_reason !== null)) break;
      if (attempt === 5) throw new ToolError('conflict', (t) => `job ${id} kept changing state; try ${t('cancel')} again`);
      job = this.get(id);
    }
    let proc = this.runner.processOf(job);
    // Claimed by a server that is spawning it right now: give it a moment to record the pid. One
    // making the job's worktree finishes that first, then sees the stop and ends the job itself.
    for (let i = 0; proc.pgid === null && (i < 40 || (this.runner.launchInFlight(job) && i < PREPARING_WAIT_TICKS)); i++) {
      await sleep(50);
      job = this.get(id);
      if (isFinal(job.status)) return this.snapshotOf(job);
      proc = this.runner.processOf(job);
    }
    const stopped = await stopJob(proc, this.config.killGraceSeconds * 1000);
    this.runner.conclude(id);
    if (!stopped.gone) {
      throw new ToolError(
        'conflict',
        `job ${id} was marked cancelled, but processes ${livingProcesses(proc).join(', ')} did not exit after SIGKILL; check them with ps`,
      );
    }
    return this.snapshotOf(this.get(id));
  }
}

