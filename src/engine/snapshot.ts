import type { z } from 'zod';
import { describeProgress, emptyProgress } from '../agents/progress.js';
import type { Job } from '../jobs/store.js';
import type * as shapes from './shapes.js';

/** One shaper per view of a job, shared by every tool and the command line. */

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const PROMPT_PREVIEW = 2000;

/** Where a job works, as every view shows it. */
export type WorkspaceView = Snapshot['workspace'];

function workspaceView(job: Job): WorkspaceView {
  const ws = job.workspace;
  return {
    kind: ws.kind,
    path: ws.path,
    branch: ws.branch,
    base_commit: ws.base_commit,
    repo: ws.repo,
    state: ws.state,
    applied_at: iso(ws.applied_at),
    landed: ws.landed_by === null ? null : { landing_id: ws.landed_by, at: iso(ws.landed_at)! },
    brought_in: ws.brought_in,
    setup: job.setup,
    ports: job.ports,
  };
}

/** What is known about a job's review: its workspace, group, check and changes. */
type ReviewFields = Pick<Snapshot, 'workspace' | 'group_id' | 'check' | 'changes'>;

const reviewFields = (job: Job): ReviewFields => ({
  workspace: workspaceView(job),
  group_id: job.group_id,
  check: job.check,
  changes: job.changes,
});

export type Snapshot = z.infer<typeof shapes.snapshotOutput>;

function promptPreview(job: Job): string {
  if (job.prompt_bytes <= Buffer.byteLength(job.prompt_head)) return job.prompt_head;
  return `${job.prompt_head.slice(0, PROMPT_PREVIEW)}… (${job.prompt_bytes} bytes in all)`;
}

/**
 * What a job that has not finished is doing, in one line: "queued (position 2)", or "running
 * `npm test` — 4 commands, 2 files changed, 12k tokens". Without progress (a summary), its status.
 */
export function describeActivity(s: Pick<Snapshot, 'status'> & Partial<Pick<Snapshot, 'queue_position' | 'progress'>>): string {
  if (s.status === 'queued') return `queued${s.queue_position ? ` (position ${s.queue_position})` : ''}`;
  return s.progress ? describeProgress(s.progress) : s.status;
}

/**
 * `phase`: what a running job is doing when codex is not the one at work — its worktree being made,
 * or its check running — which the progress then reports as its current activity.
 */
export function toSnapshot(job: Job, output: string, queuePosition: number | null, phase: string | null = null): Snapshot {
  const p = job.progress ?? emptyProgress();
  return {
    job_id: job.id,
    agent: job.agent,
    status: job.status,
    exit_code: job.exit_code,
    error: job.error,
    prompt: promptPreview(job),
    cwd: job.cwd,
    sandbox: job.sandbox,
    approval_policy: job.approval_policy,
    model: job.model,
    label: job.label,
    parent_job_id: job.parent_job_id,
    created_at: iso(job.created_at)!,
    started_at: iso(job.started_at),
    finished_at: iso(job.finished_at),
    thread_id: job.thread_id ?? p.thread_id,
    queue_position: queuePosition,
    progress: {
      current: job.status === 'running' ? (phase ?? p.current) : null,
      commands_run: p.commands_run,
      files_changed: p.files_changed,
      todo: p.todo,
      usage: p.usage,
    },
    last_message: job.final_message ?? p.last_agent_message,
    output,
    ...reviewFields(job),
  };
}

export type JobSummary = z.infer<typeof shapes.listOutput>['jobs'][number];

export function toSummary(job: Job): JobSummary {
  return {
    job_id: job.id,
    agent: job.agent,
    status: job.status,
    created_at: iso(job.created_at)!,
    started_at: iso(job.started_at),
    finished_at: iso(job.finished_at),
    cwd: job.cwd,
    label: job.label,
    prompt: job.prompt_head.length > 120 ? `${job.prompt_head.slice(0, 119)}…` : job.prompt_head,
    exit_code: job.exit_code,
    error: job.error,
    thread_id: job.thread_id,
    parent_job_id: job.parent_job_id,
    ...reviewFields(job),
  };
}

export type JobResult = z.infer<typeof shapes.resultOutput>;

export function toResult(job: Job): JobResult {
  const p = job.progress ?? emptyProgress();
  let structured: unknown = null;
  if (job.has_output_schema && job.final_message) {
    try {
      structured = JSON.parse(job.final_message);
    } catch {
      structured = null;
    }
  }
  return {
    job_id: job.id,
    agent: job.agent,
    status: job.status,
    exit_code: job.exit_code,
    error: job.error,
    final_message: job.final_message,
    structured_output: structured,
    files_changed: p.files_changed,
    usage: p.usage,
    thread_id: job.thread_id,
    duration_ms: job.started_at !== null && job.finished_at !== null ? job.finished_at - job.started_at : null,
    ...reviewFields(job),
  };
}

/** One line for the text part of a tool result, for clients that ignore structuredContent. */
export function describeJob(job: Job): string {
  const base = `job ${job.id} ${job.status}`;
  if (job.error) return `${base}: ${job.error.kind}: ${job.error.message}`;
  return base;
}
