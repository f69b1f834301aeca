import { describeProgress, emptyProgress } from '../agents/progress.js';
/** One shaper per view of a job, shared by every tool and the command line. */
const iso = (ms) => (ms === null ? null : new Date(ms).toISOString());
const PROMPT_PREVIEW = 2000;
function workspaceView(job) {
    const ws = job.workspace;
    return {
        kind: ws.kind,
        path: ws.path,
        branch: ws.branch,
        base_commit: ws.base_commit,
        repo: ws.repo,
        state: ws.state,
        applied_at: iso(ws.applied_at),
    };
}
const reviewFields = (job) => ({
    workspace: workspaceView(job),
    group_id: job.group_id,
    check: job.check,
    changes: job.changes,
});
function promptPreview(job) {
    if (job.prompt_bytes <= Buffer.byteLength(job.prompt_head))
        return job.prompt_head;
    return `${job.prompt_head.slice(0, PROMPT_PREVIEW)}… (${job.prompt_bytes} bytes in all)`;
}
/**
 * What a job that has not finished is doing, in one line: "queued (position 2)", or "running
 * `npm test` — 4 commands, 2 files changed, 12k tokens". Without progress (a summary), its status.
 */
export function describeActivity(s) {
    if (s.status === 'queued')
        return `queued${s.queue_position ? ` (position ${s.queue_position})` : ''}`;
    return s.progress ? describeProgress(s.progress) : s.status;
}
/**
 * `phase`: what a running job is doing when codex is not the one at work — its worktree being made,
 * or its check running — which the progress then reports as its current activity.
 */
export function toSnapshot(job, output, queuePosition, phase = null) {
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
        created_at: iso(job.created_at),
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
export function toSummary(job) {
    return {
        job_id: job.id,
        agent: job.agent,
        status: job.status,
        created_at: iso(job.created_at),
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
export function toResult(job) {
    const p = job.progress ?? emptyProgress();
    let structured = null;
    if (job.has_output_schema && job.final_message) {
        try {
            structured = JSON.parse(job.final_message);
        }
        catch {
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
export function describeJob(job) {
    const base = `job ${job.id} ${job.status}`;
    if (job.error)
        return `${base}: ${job.error.kind}: ${job.error.message}`;
    return base;
}
//# sourceMappingURL=snapshot.js.map