import { resolveAccess } from '../agents/access.js';
import { AGENT_NAMES, type AgentName } from '../agents/agent.js';
import type { StartInput } from '../engine/api.js';
import type { JobResult, JobSummary, Snapshot } from '../engine/snapshot.js';
import type { Namer } from '../errors.js';
import { type JobError, type JobStatus } from '../jobs/states.js';

/**
 * A job as the fleet knows it: one Redis hash per job (Keys.job). The front end that enqueues it
 * writes the first version; from then on the runner holding it rewrites it at every transition.
 * The runner's own store stays the truth about a job it runs; the record is what others read when
 * they cannot or need not ask that runner.
 */
export interface JobRecord {
  id: string;
  created: number;
  /** The BullMQ queue and job id that carry it (a group's attempts share their first attempt's). */
  queue: string;
  bull: string;
  /**
   * The runner that claimed it ('' while queued: the field is absent until a runner claims it with
   * HSETNX, which is also the promise never to run it anywhere else).
   */
  runner: string;
  /** Someone asked to cancel it before a runner could. */
  cancel: boolean;
  /** The BullMQ lock token of the runner's hold on it, to renew the hold after that runner restarts. */
  token: string;
  status: JobStatus;
  snapshot: Snapshot;
  result: JobResult | null;
  updated: number;
  /**
   * When a reader gave the job up as lost (its runner unheard of for CODEX_ASYNC_FLEET_LOST_AFTER); 0
   * if none did. From then on its status is final: the runner, back, records only `late_outcome`.
   */
  lost: number;
  /** How the job really ended on its runner, after it was given up as lost. */
  lateOutcome: LateOutcome | null;
}

export type LateOutcome = NonNullable<Snapshot['late_outcome']>;

/** Hash fields as Redis returns them → a record; null for a missing or unreadable one. */
export function parseRecord(fields: Record<string, string>): JobRecord | null {
  if (!fields.id || !fields.snapshot) return null;
  try {
    return {
      id: fields.id,
      created: Number(fields.created),
      queue: fields.queue ?? '',
      bull: fields.bull ?? '',
      runner: fields.runner ?? '',
      cancel: fields.cancel === '1',
      token: fields.token ?? '',
      status: (fields.status ?? 'queued') as JobStatus,
      snapshot: JSON.parse(fields.snapshot) as Snapshot,
      result: fields.result ? (JSON.parse(fields.result) as JobResult) : null,
      updated: Number(fields.updated ?? 0),
      lost: Number(fields.lost ?? 0),
      lateOutcome: fields.late_outcome ? (JSON.parse(fields.late_outcome) as LateOutcome) : null,
    };
  } catch {
    return null;
  }
}

/**
 * What a job looks like before any runner has it: everything comes from codex_start's input. The
 * sandbox shown is the one asked for; the runner that takes the job checks it against its own
 * CODEX_ASYNC_ALLOW_DANGEROUS.
 */
export function queuedSnapshot(id: string, input: StartInput, agent: AgentName, created: number, groupId: string | null, isolation: 'none' | 'worktree'): Snapshot {
  let sandbox = input.sandbox ?? 'read-only';
  try {
    sandbox = resolveAccess(input, true).sandbox;
  } catch {
    // The runner will refuse it with the reason; until then the request is shown as it was made.
  }
  return {
    job_id: id,
    agent,
    status: 'queued',
    exit_code: null,
    error: null,
    prompt: input.prompt.length > 2000 ? `${input.prompt.slice(0, 2000)}… (${Buffer.byteLength(input.prompt)} bytes in all)` : input.prompt,
    cwd: input.cwd,
    sandbox,
    approval_policy: input.approval_policy ?? null,
    model: input.model ?? null,
    label: input.label ?? null,
    parent_job_id: null,
    created_at: new Date(created).toISOString(),
    started_at: null,
    finished_at: null,
    thread_id: null,
    queue_position: null,
    progress: { current: null, commands_run: 0, files_changed: [], todo: [], usage: null },
    last_message: null,
    output: '',
    workspace: { kind: isolation, path: null, branch: null, base_commit: null, repo: null, state: null, applied_at: null, ports: null },
    group_id: groupId,
    check: null,
    changes: null,
    runner: null,
  };
}

/** A job that ended before any runner ran it: cancelled in the queue, or refused by the runner that took it. */
export function endedBeforeStart(s: Snapshot, status: 'cancelled' | 'failed', error: JobError | null, at = Date.now()): Snapshot {
  return { ...s, status, error, finished_at: new Date(at).toISOString(), progress: { ...s.progress, current: null } };
}

/** The result of a job that has a final snapshot but no runner's result (it never ran). */
export function resultOf(s: Snapshot): JobResult {
  return {
    job_id: s.job_id,
    agent: s.agent,
    status: s.status,
    exit_code: s.exit_code,
    error: s.error,
    final_message: s.last_message,
    structured_output: null,
    files_changed: s.progress.files_changed,
    usage: s.progress.usage,
    thread_id: s.thread_id,
    duration_ms: s.started_at && s.finished_at ? Date.parse(s.finished_at) - Date.parse(s.started_at) : null,
    workspace: s.workspace,
    group_id: s.group_id,
    check: s.check,
    changes: s.changes,
    runner: s.runner ?? null,
    runner_unreachable_since: s.runner_unreachable_since ?? null,
    late_outcome: s.late_outcome ?? null,
  };
}

export function summaryOf(s: Snapshot): JobSummary {
  return {
    job_id: s.job_id,
    agent: s.agent,
    status: s.status,
    created_at: s.created_at,
    started_at: s.started_at,
    finished_at: s.finished_at,
    cwd: s.cwd,
    label: s.label,
    prompt: s.prompt.length > 120 ? `${s.prompt.slice(0, 119)}…` : s.prompt,
    exit_code: s.exit_code,
    error: s.error,
    thread_id: s.thread_id,
    parent_job_id: s.parent_job_id,
    workspace: s.workspace,
    group_id: s.group_id,
    check: s.check,
    changes: s.changes,
    runner: s.runner ?? null,
    runner_unreachable_since: s.runner_unreachable_since ?? null,
    late_outcome: s.late_outcome ?? null,
  };
}

/**
 * A started job whose runner has not been heard from, while it may yet come back: as it was, with the
 * runner's absence shown. It is not given up, so nobody restarts work that is still going on there.
 */
export function unreachable(s: Snapshot, lastSeen: number): Snapshot {
  return { ...s, runner_unreachable_since: new Date(lastSeen).toISOString() };
}

/**
 * The same job once its runner has been away CODEX_ASYNC_FLEET_LOST_AFTER: failed (lost), for good,
 * saying where it was and that it may still run there. Written into its record once (client.ts), so
 * every reader sees the same final status whatever the runner does later.
 */
export function givenUp(s: Snapshot, runnerName: string, lastSeen: number, lostAfterMs: number, at: number, name: Namer): Snapshot {
  return {
    ...unreachable(s, lastSeen),
    status: 'failed',
    finished_at: new Date(at).toISOString(),
    progress: { ...s.progress, current: null },
    error: lostError(runnerName, lastSeen, lostAfterMs, name),
  };
}

/** Why a job was given up, with the next step named for whoever reads it (a tool, or a command). */
export function lostError(runnerName: string, lastSeen: number, lostAfterMs: number, name: Namer): JobError {
  return {
    kind: 'lost',
    message: `runner ${runnerName} has not been heard from since ${new Date(lastSeen).toISOString()}, over ${span(lostAfterMs)} (CODEX_ASYNC_FLEET_LOST_AFTER), so the job is given up as lost. It may still be running on that machine: if the runner comes back and finishes it, its outcome is recorded beside this one (late_outcome) and the status stays failed. It is never run again elsewhere (an agent's changes cannot be undone): start it anew with ${name('start')} if need be`,
  };
}

/** What a late outcome keeps of a job's end on its runner. */
export function lateOutcomeOf(s: Snapshot, r: JobResult): LateOutcome {
  return { status: s.status, exit_code: s.exit_code, error: s.error, finished_at: s.finished_at, final_message: r.final_message };
}

const span = (ms: number) => (ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 100) / 10} s`);

export const isAgent = (name: string): name is AgentName => (AGENT_NAMES as readonly string[]).includes(name);
