import { z } from 'zod';
import { APPROVAL_POLICIES, SANDBOXES, unknownAccess } from '../agents/access.js';
import { AGENT_NAMES } from '../agents/agent.js';
import { MAX_ATTEMPTS, REASONING_EFFORTS, unknownAgent, unknownEffort, unknownIsolation } from './validate.js';
import { JOB_ID_PREFIX_PATTERN, MIN_ID_PREFIX } from '../jobs/ids.js';
import { ERROR_KINDS, STATUSES } from '../jobs/states.js';
import { ISOLATIONS } from '../workspace/types.js';
import { closest } from './closest.js';

/**
 * The engine's inputs and outputs, each defined once: the MCP tools declare these schemas, and the
 * engine's types are inferred from them (StartInput, Snapshot, …). Inputs check shape only; the
 * engine checks meaning (paths exist, modes allowed), so the command line gets the same checks.
 * A closed set is an enum, so that clients offer its values as choices; a value outside it gets
 * the engine's own message listing the valid ones.
 */

/** One of `values`, told `message` otherwise (the same words as the engine's check). */
const oneOf = <const T extends readonly [string, ...string[]]>(values: T, message: (got: string) => string) =>
  z.enum(values, { error: (issue) => message(String(issue.input)) });

/**
 * A tool's parameters: any other name is refused, naming the closest known one. Dropped silently,
 * a misspelt `isolaton: "worktree"` ran the job in the user's own checkout.
 */
function params<T extends z.ZodRawShape>(shape: T) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code !== 'unrecognized_keys') return undefined;
      return issue.keys
        .map((key) => {
          const near = closest(key, known);
          return `unknown parameter "${key.slice(0, 60)}": ${near ? `did you mean "${near}"?` : `the parameters are ${known.join(', ')}`}`;
        })
        .join('; ');
    },
  });
}

const jobId = z
  .string()
  .regex(JOB_ID_PREFIX_PATTERN, `job ids are 12 hex characters as returned by codex_start (or their first ${MIN_ID_PREFIX} or more); see codex_list`)
  .describe(`Job id returned by codex_start or codex_reply; a unique prefix of ${MIN_ID_PREFIX} or more characters also works`);

const effort = oneOf(REASONING_EFFORTS, unknownEffort).describe('Reasoning effort for the model');

const model = z.string().describe('Model to use, e.g. "gpt-5.5"; default: codex\'s configured model');

const timeout = z.number().describe('Stop the job after this many seconds (default 3600, or CODEX_ASYNC_DEFAULT_TIMEOUT)');
const stall = z.number().describe('Stop the job if codex prints nothing for this many seconds (default: no limit)');

const agent = oneOf(AGENT_NAMES, unknownAgent).describe('Which coding agent runs the job (default codex)');
const sandbox = oneOf(SANDBOXES, (got) => unknownAccess('sandbox', got));
const approvalPolicy = oneOf(APPROVAL_POLICIES, (got) => unknownAccess('approval_policy', got));

export const startInput = params({
  prompt: z.string().describe('The task for codex, in plain words. Passed on stdin; up to 1,048,576 characters, the most codex accepts.'),
  cwd: z.string().describe('Absolute path of the directory codex works in'),
  agent: agent.optional(),
  approval_policy: approvalPolicy
    .optional()
    .describe(`Seed-compatible access level (suggest = read-only, auto-edit = workspace-write, full-auto = no sandbox; full-auto needs CODEX_ASYNC_ALLOW_DANGEROUS=1)`),
  sandbox: sandbox
    .optional()
    .describe(`Codex sandbox. Default read-only. Use workspace-write to let codex edit files in cwd.`),
  model: model.optional(),
  reasoning_effort: effort.optional(),
  timeout_seconds: timeout.optional(),
  stall_seconds: stall.optional(),
  output_schema: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('JSON Schema (type object) the final answer must match; codex_result then returns it parsed as structured_output'),
  images: z.array(z.string()).optional().describe('Image files to attach (absolute, or relative to cwd)'),
  add_dirs: z.array(z.string()).optional().describe('Extra directories codex may write to besides cwd'),
  label: z.string().optional().describe('Free text to find the job again with codex_list'),
  isolation: oneOf(ISOLATIONS, unknownIsolation).optional().describe('worktree: a git worktree of its own (default none, or CODEX_ASYNC_ISOLATION)'),
  attempts: z.number().optional().describe(`Best-of-N: 1 to ${MAX_ATTEMPTS} attempts, each in a worktree`),
  agents: z.array(agent).optional().describe('Best-of-N across agents: one attempt per entry, e.g. ["codex", "claude"] (instead of agent and attempts)'),
  check_command: z.string().optional().describe('Shell command run after codex, e.g. "npm test"; ranks attempts'),
  setup_command: z
    .string()
    .optional()
    .describe('Worktree jobs: shell command run in the worktree before the agent, with network, e.g. "npm ci"; default: [worktree] setup in the repository\'s .codex-async.toml; "" for none'),
  include: z
    .array(z.string())
    .optional()
    .describe("Worktree jobs: ignored files to bring from your checkout (gitignore patterns, e.g. [\"node_modules\", \".env\"]), besides the repository's .worktreeinclude"),
  runner_labels: z.array(z.string()).optional().describe('With a fleet: run only on a runner started with all these --labels (e.g. ["gpu"])'),
});

export const pollInput = params({
  job_id: jobId,
  tail_lines: z.number().optional().describe('How many lines of recent activity to include in output (default 100)'),
});

const groupId = z.string().describe('Group id returned by codex_start with attempts');

export const waitInput = params({
  job_ids: z.array(z.string()).optional().describe('Jobs to wait for; returns when any one of them finishes'),
  job_id: z.string().optional().describe('A single job to wait for (same as job_ids with one entry)'),
  group_id: groupId.optional().describe('Or a group of attempts: returns when all of them have finished, ranked, with best_job_id'),
  timeout_seconds: z
    .number()
    .optional()
    .describe('Longest time to block, default 50 (below the 60 s many clients allow a tool call); call again if timed_out'),
});

export const resultInput = params({ job_id: jobId });
export const cancelInput = params({
  job_id: jobId.optional(),
  group_id: groupId.optional().describe('Or cancel every attempt of a group'),
});

export const diffInput = params({
  job_id: jobId,
  stat_only: z.boolean().optional().describe('Only the list of files with their line counts, no patch'),
  paths: z.array(z.string()).optional().describe("Only these files or directories (relative to the job's cwd)"),
});

export const applyInput = params({
  job_id: jobId,
  dry_run: z.boolean().optional().describe('Only check: report the files and any conflicts, change nothing'),
});

export const landInput = params({
  job_ids: z.array(z.string()).optional().describe('Finished worktree jobs to land, in this order (ids or unique prefixes)'),
  group_id: groupId.optional().describe('Or the attempts of a group, best-ranked first'),
  check_command: z
    .string()
    .optional()
    .describe('Shell command run after each clean merge in the integration worktree, e.g. "npm test"; a job whose merge fails it is set aside'),
  into: z.enum(['checkout', 'branch']).optional().describe('checkout (default): the landed changes arrive as uncommitted changes; branch: one commit per landed job on a branch, the checkout untouched'),
  branch: z.string().optional().describe('With into "branch": its name (default codex/land-<landing_id>); an existing branch gets the commits on top'),
  resolve: z.boolean().optional().describe('Give each job set aside a continuation (same agent and thread, a new worktree holding what landed) told what to fix'),
  dry_run: z.boolean().optional().describe('Only say which jobs conflict with which (pairwise) and with the checkout; no check runs, nothing changes'),
  landing_id: z.string().optional().describe('Instead of the above: the landing to wait for (one answered with status "running")'),
  cancel: z.boolean().optional().describe('With landing_id: stop that landing (its check is stopped, nothing is written); refused once it is writing your checkout'),
  timeout_seconds: z.number().optional().describe('Longest time to block, default 50; a landing not done by then answers status "running": call again with its landing_id'),
});

export const discardInput = params({
  job_id: jobId.optional(),
  group_id: groupId.optional().describe("Or discard every attempt's worktree of a group, once none is running"),
});

export const listInput = params({
  status: z.enum(STATUSES).optional().describe('Only jobs in this status'),
  cwd: z.string().optional().describe('Only jobs that ran in this directory'),
  label: z.string().optional().describe('Only jobs with this label'),
  limit: z.number().optional().describe('Jobs per page, 1 to 200 (default 20)'),
  cursor: z.string().optional().describe('next_cursor from the previous page'),
});

export const replyInput = params({
  job_id: z.string().optional().describe('Continue the Codex thread of this job (same cwd and sandbox)'),
  thread_id: z.string().optional().describe('Or continue any Codex session by its id (e.g. one started in the Codex TUI); needs cwd'),
  cwd: z.string().optional().describe('With thread_id: absolute path of the directory to work in'),
  agent: agent.optional().describe(`With thread_id: whose session it is (default codex); a reply by job_id continues with the job's agent`),
  prompt: z.string().describe('The follow-up message for codex'),
  sandbox: sandbox.optional().describe('With thread_id: codex sandbox (default read-only)'),
  approval_policy: approvalPolicy.optional().describe('With thread_id: seed-compatible access level'),
  timeout_seconds: timeout.optional(),
  stall_seconds: stall.optional(),
  model: model.optional(),
  reasoning_effort: effort.optional(),
  label: z.string().optional(),
});

// ── outputs ─────────────────────────────────────────────────────────────────────────────────────

const status = z.enum(STATUSES);
const error = z.object({ kind: z.enum(ERROR_KINDS), message: z.string() }).nullable();
const usage = z
  .object({
    input_tokens: z.number(),
    cached_input_tokens: z.number(),
    output_tokens: z.number(),
    reasoning_output_tokens: z.number(),
  })
  .nullable();
const filesChanged = z.array(z.object({ path: z.string(), kind: z.enum(['add', 'delete', 'update']) }));

/** How a step the wrapper runs besides the agent went: the setup before it, the check after it. */
const step = z
  .object({
    command: z.string(),
    exit_code: z.number().nullable(),
    passed: z.boolean(),
    duration_ms: z.number().nullable(),
    output_tail: z.string(),
  })
  .nullable();
const check = step;

const workspace = z.object({
  kind: z.enum(ISOLATIONS),
  path: z.string().nullable(),
  branch: z.string().nullable(),
  base_commit: z.string().nullable(),
  repo: z.string().nullable().describe('The checkout the job was started from, which codex_apply brings the changes to'),
  state: z.enum(['preparing', 'ready', 'failed', 'discarded']).nullable(),
  applied_at: z.string().nullable(),
  landed: z
    .object({ landing_id: z.string(), at: z.string() })
    .nullable()
    .optional()
    .describe('The codex_land that brought this worktree\'s changes in (to the checkout, or onto a branch), and when'),
  brought_in: z
    .object({
      files: z.number(),
      bytes: z.number(),
      entries: z.array(z.object({ path: z.string(), how: z.enum(['copied', 'cloned', 'linked', 'skipped']), files: z.number().nullable(), bytes: z.number().nullable() })),
    })
    .nullable()
    .optional()
    .describe("Ignored files brought from the checkout (.worktreeinclude, include); files and bytes count what was copied or cloned: a linked entry is the checkout's own, read-only to the job, and not counted; a virtualenv is skipped (make one with the setup)"),
  setup: step
    .optional()
    .describe('How the setup_command went: exit_code null while it runs'),
  ports: z
    .object({ first: z.number().int(), last: z.number().int() })
    .nullable()
    .describe('A worktree job while it runs: its own block of ports, given to it, its setup and its check as PORT (the first) and PORT_RANGE ("first-last")'),
});
const changes = z.object({ files: z.number(), additions: z.number(), deletions: z.number() }).nullable();
/** Every view of a job carries these. */
const review = {
  workspace,
  group_id: z.string().nullable(),
  check,
  changes,
  runner: z.string().nullable().optional().describe('With a fleet (CODEX_ASYNC_REDIS_URL): the runner holding the job, "<id> on <host>"'),
  runner_unreachable_since: z
    .string()
    .nullable()
    .optional()
    .describe("With a fleet: the runner's last heartbeat, when it has not been heard from since. The job keeps its status until CODEX_ASYNC_FLEET_LOST_AFTER has passed, then it is failed (lost) for good"),
  late_outcome: z
    .object({ status, exit_code: z.number().nullable(), error, finished_at: z.string().nullable(), final_message: z.string().nullable() })
    .nullable()
    .optional()
    .describe('With a fleet: how a job given up as lost really ended, when its runner came back and finished it; the status stays failed (lost)'),
};
const fileChange = z.object({
  path: z.string(),
  old_path: z.string().nullable(),
  status: z.enum(['added', 'modified', 'deleted', 'renamed']),
  additions: z.number(),
  deletions: z.number(),
  binary: z.boolean(),
});

export const startedOutput = z.object({
  job_id: z.string(),
  status,
  created_at: z.string(),
  queue_position: z.number().nullable(),
  isolation: z.enum(ISOLATIONS),
  group_id: z.string().nullable().describe("With attempts > 1: the group; job_ids holds every attempt's job id, job_id the first"),
  job_ids: z.array(z.string()),
  warnings: z.array(z.string()).optional().describe('Settings that make the job pointless, e.g. read-only in a worktree (nothing to apply)'),
});

const agentName = z.enum(AGENT_NAMES);

export const snapshotOutput = z.object({
  job_id: z.string(),
  agent: agentName,
  status,
  exit_code: z.number().nullable(),
  error,
  prompt: z.string(),
  cwd: z.string(),
  sandbox: z.string(),
  approval_policy: z.string().nullable(),
  model: z.string().nullable(),
  label: z.string().nullable(),
  parent_job_id: z.string().nullable(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  thread_id: z.string().nullable(),
  queue_position: z.number().nullable(),
  progress: z.object({
    current: z.string().nullable(),
    commands_run: z.number(),
    files_changed: filesChanged,
    todo: z.array(z.object({ text: z.string(), completed: z.boolean() })),
    usage,
  }),
  last_message: z.string().nullable(),
  output: z.string(),
  ...review,
});

export const groupOutput = z.object({
  group_id: z.string(),
  attempts: z.array(
    z.object({ job_id: z.string(), status, check, changes, finished_at: z.string().nullable() }),
  ),
  best_job_id: z.string().nullable().describe('The best attempt that completed (and passed its check, if there is one); null while none has. attempts are ranked best first: completed, check passed, some change, smaller change, earlier finish'),
  finished: z.number(),
  total: z.number(),
});

export const cancelOutput = snapshotOutput.extend({ group: groupOutput.optional() });

export const waitOutput = z.object({
  finished: z.array(snapshotOutput),
  pending: z.array(z.string()),
  timed_out: z.boolean(),
  group: groupOutput.optional(),
});

export const resultOutput = z.object({
  job_id: z.string(),
  agent: agentName,
  status,
  exit_code: z.number().nullable(),
  error,
  final_message: z.string().nullable(),
  structured_output: z.unknown(),
  files_changed: filesChanged,
  usage,
  thread_id: z.string().nullable(),
  duration_ms: z.number().nullable(),
  ...review,
});

export const listOutput = z.object({
  jobs: z.array(
    z.object({
      job_id: z.string(),
      agent: agentName,
      status,
      created_at: z.string(),
      started_at: z.string().nullable(),
      finished_at: z.string().nullable(),
      cwd: z.string(),
      label: z.string().nullable(),
      prompt: z.string(),
      exit_code: z.number().nullable(),
      error,
      thread_id: z.string().nullable(),
      parent_job_id: z.string().nullable(),
      ...review,
    }),
  ),
  next_cursor: z.string().nullable(),
});

export const diffOutput = z.object({
  job_id: z.string(),
  isolation: z.enum(ISOLATIONS),
  base_commit: z.string(),
  files: z.array(fileChange),
  additions: z.number(),
  deletions: z.number(),
  patch: z.string().nullable(),
  truncated: z.boolean(),
  note: z.string().nullable().describe('What the diff means when that is not simply "what the job changed"'),
});

export const applyOutput = z.object({
  job_id: z.string(),
  dry_run: z.boolean(),
  applied: z.boolean(),
  target: z.string().describe('The checkout the changes go to'),
  files: z.array(fileChange),
  conflicts: z.array(z.object({ path: z.string(), reason: z.string() })),
  refused: z.string().nullable().describe("Why nothing was tried: uncommitted changes of the user's to the same files, or a checkout that moved"),
  message: z.string(),
});

const landStep = z.object({ command: z.string(), exit_code: z.number().nullable(), passed: z.boolean(), duration_ms: z.number().nullable(), output_tail: z.string() });

export const landOutput = z.object({
  landing_id: z.string().nullable().describe('null for a dry run, which records nothing'),
  status: z
    .enum(['running', 'done', 'refused', 'failed', 'interrupted', 'cancelled'])
    .describe('done: the landing ended (landed lists what landed, maybe nothing); refused: nothing changed (e.g. your uncommitted changes overlap); interrupted: its process died before it wrote anything; cancelled: stopped by cancel before it wrote anything'),
  dry_run: z.boolean(),
  into: z.enum(['checkout', 'branch']),
  target: z.string().describe('The checkout the jobs came from'),
  branch: z.string().nullable(),
  landed: z.array(z.string()).describe('The jobs whose changes landed, in order'),
  set_aside: z.array(
    z.object({
      job_id: z.string(),
      reason: z.enum(['conflict', 'check_failed', 'no_changes']),
      files: z.array(z.string()).optional(),
      check: landStep.optional(),
      message: z.string(),
    }),
  ),
  resolving: z.array(z.object({ job_id: z.string(), continuation_job_id: z.string() })),
  commits: z.array(z.object({ job_id: z.string(), commit: z.string() })),
  files: z.array(fileChange).describe('What the checkout got (into checkout), or what the branch adds (into branch)'),
  setup: landStep.nullable().describe("The repository's [worktree] setup, run in the integration worktree before the first check"),
  conflicts: z.array(z.object({ a: z.string(), b: z.string(), files: z.array(z.string()) })).optional().describe('Dry run: the pairs of jobs whose changes conflict, landed one after the other'),
  with_checkout: z.array(z.object({ job_id: z.string(), files: z.array(z.string()), reason: z.string() })).optional().describe('Dry run: the jobs that conflict with the checkout as it is now'),
  progress: z.string().nullable(),
  created_at: z.string(),
  finished_at: z.string().nullable(),
  message: z.string(),
});

export const discardOutput = z.object({
  job_id: z.string(),
  discarded: z.boolean(),
  path: z.string(),
  branch: z.string(),
  message: z.string(),
});

/** A group's discard: the first attempt's result, with every attempt's beside it (as codex_cancel does). */
export const discardGroupOutput = discardOutput.extend({ attempts: z.array(discardOutput).optional() });
