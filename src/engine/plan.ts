import path from 'node:path';
import { resolveAccess, type Access } from '../agents/access.js';
import { runsInOurSandbox, type Agent, type Feature } from '../agents/agent.js';
import { agentOf, isAgentName } from '../agents/registry.js';
import type { Config } from '../config.js';
import { invalid, ToolError } from '../errors.js';
import { isFinal } from '../jobs/states.js';
import type { Job, NewJob } from '../jobs/store.js';
import { isWithin } from '../paths.js';
import { sandboxRefusal, type SandboxProbe } from '../supervise/sandbox.js';
import { includePatterns, IncludeError } from '../workspace/include.js';
import { PROJECT_FILE, ProjectFileError, readProjectDefaults } from '../workspace/project.js';
import { mayBeInRepo, type Repo } from '../workspace/repo.js';
import type { Isolation, JobWorkspace } from '../workspace/types.js';
import type { ReplyInput, StartInput } from './api.js';
import { describeJob } from './snapshot.js';
import {
  checkAllowedRoots,
  checkCommand,
  checkCwd,
  checkIsolation,
  checkLineup,
  checkModelOptions,
  checkOutputSchema,
  checkPaths,
  checkPrompt,
  checkTimeout,
  checkWorktreeOptions,
  checkWritableRoots,
  LIMITS,
  unknownAgent,
  type WorktreeOptions,
} from './validate.js';
import { UNSEEN_CHECKOUT } from './workspaces.js';

/**
 * What a start or a reply will record, decided in full before anything is written: the engine
 * (starting.ts) only hands out ids and acts on it.
 */
export interface Plan {
  prompt: string;
  /** The output schema's JSON text; null without one. */
  schema: string | null;
  /** The session a reply continues; null for a start. */
  threadId: string | null;
  /**
   * Where the jobs work. A new worktree has no place or branch yet: each attempt gets its own from
   * its id (Workspaces.forJob); a reply's continued worktree is its parent's.
   */
  workspace: JobWorkspace;
  /** One job per attempt, in order, without what the engine hands out: id, group, creation time, own workspace. */
  jobs: PlannedJob[];
}

export type PlannedJob = Omit<NewJob, 'id' | 'group_id' | 'created_at' | 'workspace'>;

/**
 * What a plan needs to know that only a process can tell (git, an agent's binary, the sandbox) or
 * that lives in the store: the engine passes its own; each only looks.
 */
export interface Look {
  /** The git checkout holding cwd; null outside one. */
  repo(cwd: string): Promise<Repo | null>;
  /** Why a worktree cannot be made of this checkout; null when it can. */
  unsupported(root: string): Promise<string | null>;
  /** Throws (a ToolError) unless the agent's binary is found and supported. */
  agent(name: Agent['name']): Promise<unknown>;
  sandbox(): Promise<SandboxProbe>;
  /** The job a reply continues, by id or unique prefix; throws not_found. */
  job(idOrPrefix: string): Job;
}

/** What a plan reads of the configuration. */
export type PlanConfig = Pick<Config, 'allowDangerous' | 'allowedRoots' | 'home' | 'defaultIsolation' | 'defaultTimeoutSeconds'>;

/** The job options an agent may not take (Agent.unsupported), as a start or a reply gives them. */
type Options = Partial<Record<Feature, unknown>>;

const THREAD_ID_PATTERN = /^[0-9A-Za-z][0-9A-Za-z_-]{7,79}$/;

/**
 * Every check of a start, in one pass: the plan of its jobs, or the first problem found. Checks run
 * in the order callers have always seen (it decides which problem a request with several is told).
 * Writes nothing and starts no process itself (what needs one comes through `look`); it reads the
 * file system: cwd and the given paths exist, whose they are, and the repository's
 * .worktreeinclude and .codex-async.toml.
 *
 * `given`: the ids a fleet front end already handed out for this start (fleet/runner.ts).
 */
export async function plan(input: StartInput, config: PlanConfig, look: Look, given?: { ids: string[]; groupId: string | null }): Promise<Plan | ToolError> {
  return asValue(async () => {
    const prompt = checkPrompt(input.prompt);
    if (input.runner_labels?.length && !given) {
      throw invalid('runner_labels choose among fleet runners, and this server runs jobs itself: set CODEX_ASYNC_REDIS_URL (docs/SCALING.md), or leave runner_labels out');
    }
    const lineup = checkLineup(input).map((name) => checkAgent(name, input));
    const attempts = lineup.length;
    if (given && (given.ids.length !== attempts || (attempts > 1) !== (given.groupId !== null))) {
      throw invalid(`the fleet handed out ${given.ids.length} job ids for ${attempts} attempts`);
    }
    const agents = [...new Set(lineup)];
    const cwd = checkCwd(input.cwd);
    const access = resolveAccess(input, config.allowDangerous);
    const schema = checkOutputSchema(input.output_schema);
    const addDirs = checkPaths('add_dirs', input.add_dirs, cwd);
    const images = checkPaths('images', input.images, cwd);
    checkPlaces(config, access, cwd, addDirs, images);
    for (const agent of agents) {
      for (const dir of addDirs) {
        const problem = agent.pathProblem?.(dir);
        if (problem) throw invalid(`add_dirs: ${problem}; leave it out, or use another agent`);
      }
    }
    const isolation = checkIsolation(input.isolation, attempts, config.defaultIsolation);
    const check = checkCommand('check_command', input.check_command);
    const workspace = await planWorkspace(cwd, isolation, access, look);
    checkAddDirs(workspace, addDirs);
    const environment = planEnvironment(workspace, input);
    for (const agent of agents) await look.agent(agent.name);
    await checkSandbox(agents, access, look);
    // The setup and the check run under codex's sandbox whichever agent does the work.
    const step = check !== null ? 'check_command' : environment.setup_command !== null ? 'setup_command' : null;
    if (step && agents.some((agent) => agent.name !== 'codex') && access.sandbox !== 'danger-full-access') {
      await look.agent('codex').catch((err: Error) => {
        const fromProject = step === 'setup_command' && input.setup_command === undefined ? ` (the repository's ${PROJECT_FILE} names it; setup_command "" skips it)` : '';
        throw new ToolError('codex_unavailable', `${step}${fromProject} runs under codex's sandbox, so codex must be installed too: ${err.message}`);
      });
    }
    const common = jobOptions(config, prompt, cwd, access, input);
    const jobs = lineup.map((agent) => ({
      ...common,
      agent: agent.name,
      images,
      add_dirs: addDirs,
      has_output_schema: schema !== null,
      parent_job_id: null,
      resume_thread_id: null,
      isolation,
      check_command: check,
      ...environment,
    }));
    return { prompt, schema, threadId: null, workspace, jobs };
  });
}

/** Every check of a reply, as `plan` makes them for a start: the plan of its one job, or the first problem. */
export async function planReply(input: ReplyInput, config: PlanConfig, look: Look, opts: { worktreeFrom?: string } = {}): Promise<Plan | ToolError> {
  return asValue(async () => {
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
      const parent = look.job(input.job_id);
      agent = agentOf(parent.agent);
      refuseUnsupported(agent, input);
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
      access = resolveAccess({ sandbox: parent.sandbox, approval_policy: approvalPolicy }, config.allowDangerous);
      addDirs = parent.add_dirs;
      parentId = parent.id;
      workspace = opts.worktreeFrom === undefined ? continuedWorkspace(parent) : freshWorktree(parent, opts.worktreeFrom);
      // In the same worktree, as its parent's setup left it. Not run again: the setup has network,
      // and what it runs (package.json scripts, install hooks) the agent could have rewritten (in
      // a fresh worktree made from a landing, other agents too).
      environment = { setup_command: null, include: parent.include };
    } else if (input.thread_id !== undefined) {
      agent = checkAgent(input.agent, input);
      if (!THREAD_ID_PATTERN.test(input.thread_id)) {
        throw invalid(`"${input.thread_id.slice(0, 80)}" is not a ${agent.title} session id (such as the one ${agent.command} prints at start)`);
      }
      if (input.cwd === undefined) throw invalid('cwd is required with thread_id: the directory the thread works in');
      threadId = input.thread_id;
      cwd = checkCwd(input.cwd);
      access = resolveAccess(input, config.allowDangerous);
      isolation = agent.resumesInPlaceOnly ? 'none' : config.defaultIsolation;
    } else {
      throw invalid((t) => `give job_id (a job started by ${t('start')}) or thread_id (any agent's session id) with cwd`);
    }
    checkPlaces(config, access, cwd, addDirs, []);
    workspace ??= await planWorkspace(cwd, isolation, access, look);
    environment ??= planEnvironment(workspace, {});
    const job: PlannedJob = {
      ...jobOptions(config, prompt, cwd, access, { ...input, approval_policy: approvalPolicy }),
      agent: agent.name,
      images: [],
      add_dirs: addDirs,
      has_output_schema: false,
      parent_job_id: parentId,
      resume_thread_id: threadId,
      isolation: workspace.kind,
      check_command: null,
      ...environment,
    };
    await look.agent(agent.name);
    await checkSandbox([agent], access, look);
    return { prompt, schema: null, threadId, workspace, jobs: [job] };
  });
}

/** The checks throw where they find a problem; a plan hands it back as a value. */
async function asValue(make: () => Promise<Plan>): Promise<Plan | ToolError> {
  try {
    return await make();
  } catch (err) {
    if (err instanceof ToolError) return err;
    throw err;
  }
}

/** The agent named (codex when none is), refusing the options it cannot honour. */
function checkAgent(name: string | undefined, input: Options): Agent {
  if (name !== undefined && !isAgentName(name)) throw invalid(unknownAgent(name));
  const agent = agentOf(name ?? 'codex');
  refuseUnsupported(agent, input);
  return agent;
}

function refuseUnsupported(agent: Agent, input: Options): void {
  for (const feature of agent.unsupported) {
    const value = input[feature];
    if (value !== undefined && !(Array.isArray(value) && value.length === 0)) {
      throw invalid(`${agent.title} cannot take ${feature}: leave it out, or use agent "codex"`);
    }
  }
}

/** Where codex may look and write: inside the allowed roots, never over the state directory. */
function checkPlaces(config: PlanConfig, access: Access, cwd: string, addDirs: string[], images: string[]): void {
  checkAllowedRoots(
    [
      { what: 'cwd', path: cwd, dir: true },
      ...addDirs.map((p) => ({ what: 'add_dirs entry', path: p, dir: true })),
      ...images.map((p) => ({ what: 'images entry', path: p, dir: false })),
    ],
    config.allowedRoots,
  );
  checkWritableRoots(access, cwd, addDirs, config.home);
}

/** Refuses a job our OS sandbox should confine on a machine where it cannot be made: never unconfined silently. */
async function checkSandbox(agents: readonly Agent[], access: Access, look: Look): Promise<void> {
  const agent = agents.find((a) => runsInOurSandbox(a, access));
  if (!agent) return;
  const probe = await look.sandbox();
  if (!probe.ok) throw new ToolError('sandbox_unavailable', sandboxRefusal(agent, access, probe));
}

/** The options every job takes, checked. */
function jobOptions(
  config: PlanConfig,
  prompt: string,
  cwd: string,
  access: Access,
  input: Pick<StartInput, 'approval_policy' | 'model' | 'reasoning_effort' | 'timeout_seconds' | 'stall_seconds' | 'label'>,
): Pick<NewJob, 'prompt_head' | 'prompt_bytes' | 'cwd' | 'sandbox' | 'bypass' | 'approval_policy' | 'model' | 'reasoning_effort' | 'timeout_seconds' | 'stall_seconds' | 'label'> {
  checkModelOptions(input);
  if (input.label !== undefined && input.label.length > LIMITS.labelChars) {
    throw invalid(`label is longer than ${LIMITS.labelChars} characters`);
  }
  return {
    prompt_head: prompt.slice(0, 2000),
    prompt_bytes: Buffer.byteLength(prompt),
    cwd,
    sandbox: access.sandbox,
    bypass: access.bypass,
    approval_policy: input.approval_policy ?? null,
    model: input.model ?? null,
    reasoning_effort: input.reasoning_effort ?? null,
    timeout_seconds: checkTimeout('timeout_seconds', input.timeout_seconds, config.defaultTimeoutSeconds),
    stall_seconds: input.stall_seconds === undefined ? null : checkTimeout('stall_seconds', input.stall_seconds, 0),
    label: input.label ?? null,
  };
}

/** A reply continues in its parent's worktree, which must still be there; null: the parent had none. */
function continuedWorkspace(parent: Job): JobWorkspace | null {
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

/** A new worktree of the parent's checkout, made from `base` when the reply launches (engine/integrate.ts's continuations). */
function freshWorktree(parent: Job, base: string): JobWorkspace {
  const ws = parent.workspace;
  if (ws.kind !== 'worktree') throw new ToolError('conflict', `job ${parent.id} ran without isolation: it has no worktree to continue from`);
  return { ...UNSEEN_CHECKOUT, kind: 'worktree', repo: ws.repo, subdir: ws.subdir, state: 'preparing', base_commit: base };
}

/**
 * Where a job with this isolation will work (made when it launches, never on the path of
 * codex_start's answer). A worktree needs a git checkout that can have one.
 */
async function planWorkspace(cwd: string, isolation: Isolation, access: Access, look: Look): Promise<JobWorkspace> {
  // Outside any checkout, or read-only, there is nothing to snapshot for codex_diff: such a job
  // launches at once, as before.
  if (isolation === 'none') return mayBeInRepo(cwd) && access.sandbox !== 'read-only' ? UNSEEN_CHECKOUT : { ...UNSEEN_CHECKOUT, path: cwd };
  const repo = await look.repo(cwd);
  if (!repo) {
    throw invalid(
      `cwd ${cwd} is not inside a git repository, and isolation "worktree" runs the job in a git worktree of one: use isolation "none", or \`git init\` and commit first`,
    );
  }
  const why = await look.unsupported(repo.root);
  if (why) throw invalid(why);
  return { ...UNSEEN_CHECKOUT, kind: 'worktree', repo: repo.root, subdir: repo.subdir, state: 'preparing' };
}

/**
 * A worktree job writes its worktree, never the user's checkout: an add_dirs entry holding the
 * whole repository (or above it) would hand the checkout back to it.
 */
function checkAddDirs(ws: JobWorkspace, addDirs: string[]): void {
  if (ws.kind !== 'worktree') return;
  const over = addDirs.find((dir) => isWithin(ws.repo!, dir));
  if (over) {
    throw invalid(
      `add_dirs entry ${over} holds the repository ${ws.repo}, so a job isolated in a worktree could write your checkout through it: give directories inside the repository (they are mapped into the worktree) or outside it`,
    );
  }
}

/**
 * What a worktree job gets beyond the checkout's tracked files, checked so that a mistake is the
 * start's error rather than a failed job: the setup (the start's, else the repository's
 * .codex-async.toml default; "" for none) and the include patterns (the start's; the repository's
 * .worktreeinclude is read again when the worktree is made). Without a worktree there is nothing
 * to set up: the job runs in the checkout, as set up as the user keeps it.
 */
function planEnvironment(ws: JobWorkspace, given: WorktreeOptions): { setup_command: string | null; include: string[] } {
  const { include, setup_command: named } = checkWorktreeOptions(ws.kind, given);
  if (ws.kind !== 'worktree') return { setup_command: null, include: [] };
  try {
    // The start's own patterns were checked above; the repository's file now, not when the worktree is made.
    includePatterns(ws.repo!);
    if (named !== undefined) return { setup_command: named, include };
    const setup = readProjectDefaults(ws.repo!).setup;
    try {
      return { setup_command: checkCommand('setup_command', setup ?? undefined), include };
    } catch (err) {
      throw new ProjectFileError(`${path.join(ws.repo!, PROJECT_FILE)}: worktree.setup: ${(err as Error).message}`);
    }
  } catch (err) {
    if (err instanceof IncludeError || err instanceof ProjectFileError) throw invalid(err.message);
    throw err;
  }
}
