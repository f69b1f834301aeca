import { resolveAccess } from '../agents/access.js';
import { AGENT_NAMES } from '../agents/agent.js';
import { isFinal } from '../jobs/states.js';
/** Hash fields as Redis returns them → a record; null for a missing or unreadable one. */
export function parseRecord(fields) {
    if (!fields.id || !fields.snapshot)
        return null;
    try {
        return {
            id: fields.id,
            created: Number(fields.created),
            queue: fields.queue ?? '',
            bull: fields.bull ?? fields.id,
            runner: fields.runner ?? '',
            cancel: fields.cancel === '1',
            token: fields.token ?? '',
            status: (fields.status ?? 'queued'),
            snapshot: JSON.parse(fields.snapshot),
            result: fields.result ? JSON.parse(fields.result) : null,
            updated: Number(fields.updated ?? 0),
        };
    }
    catch {
        return null;
    }
}
/**
 * What a job looks like before any runner has it: everything comes from codex_start's input. The
 * sandbox shown is the one asked for; the runner that takes the job checks it against its own
 * CODEX_ASYNC_ALLOW_DANGEROUS.
 */
export function queuedSnapshot(id, input, agent, created, groupId, isolation) {
    let sandbox = input.sandbox ?? 'read-only';
    try {
        sandbox = resolveAccess(input, true).sandbox;
    }
    catch {
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
        workspace: { kind: isolation, path: null, branch: null, base_commit: null, repo: null, state: null, applied_at: null },
        group_id: groupId,
        check: null,
        changes: null,
        runner: null,
    };
}
/** A job that ended before any runner ran it: cancelled in the queue, or refused by the runner that took it. */
export function endedBeforeStart(s, status, error, at = Date.now()) {
    return { ...s, status, error, finished_at: new Date(at).toISOString(), progress: { ...s.progress, current: null } };
}
/** The result of a job that has a final snapshot but no runner's result (it never ran). */
export function resultOf(s) {
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
    };
}
export function summaryOf(s) {
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
    };
}
/**
 * A started job whose runner stopped heartbeating, as every reader shows it: failed (lost), saying where it
 * was and that it may still be running there. Only its runner can say more, and it does when it
 * comes back (it takes the job back and rewrites the record).
 */
export function lostWithRunner(s, runnerName, lastSeen) {
    if (isFinal(s.status))
        return s;
    const when = lastSeen ? ` since ${new Date(lastSeen).toISOString()}` : '';
    return {
        ...s,
        status: 'failed',
        error: {
            kind: 'lost',
            message: `runner ${runnerName} has not been heard from${when}; the job may still be running on that machine and is taken back if the runner starts again there. It is never run again elsewhere (an agent's changes cannot be undone): start it anew with codex_start if need be`,
        },
    };
}
export const isAgent = (name) => AGENT_NAMES.includes(name);
//# sourceMappingURL=records.js.map