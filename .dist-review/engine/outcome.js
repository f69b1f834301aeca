import os from 'node:os';
import { oneLine } from '../agents/progress.js';
import { agentOf } from '../agents/registry.js';
import { checkSpan } from '../jobs/files.js';
function signalName(exitCode) {
    if (exitCode <= 128)
        return null;
    const n = exitCode - 128;
    const name = Object.entries(os.constants.signals).find(([, v]) => v === n)?.[0];
    return name ?? `signal ${n}`;
}
/**
 * Whether the job was stopped (cancel, timeout, stall — not a lingering codex) while its check ran:
 * the stop came after the check began, and the check did not end on its own (no status, or ended
 * by a signal). Not by comparing the stop with the check's end: file times come from the kernel's
 * coarse clock and can read a few milliseconds earlier than the stop that caused the end.
 */
export function checkStopped(files, job) {
    if (job.check_command === null || job.stop_reason === null || job.stop_reason === 'lingering')
        return false;
    const { started, exitCode } = checkSpan(files);
    if (started === null || (job.stop_requested_at ?? 0) < started)
        return false;
    return exitCode === null || exitCode > 128;
}
/**
 * Decides how a job ended from everything there is to know once its processes are gone. The event
 * stream outranks the exit status: a turn that completed is a result, even when the agent had to be
 * ended afterwards because it lingered (openai/codex#7622).
 */
export function decide(job, exitCode, progress, stderrTail, stoppedInCheck = false) {
    // A job stopped while its check ran did not get to its result: the stop is the outcome.
    if (progress.turn === 'completed' && !stoppedInCheck)
        return { status: 'completed', error: null };
    const agent = agentOf(job.agent);
    const name = agent.command;
    const during = stoppedInCheck ? ' during its check' : '';
    if (job.stop_reason === 'cancelled') {
        return { status: 'cancelled', error: { kind: 'cancelled', message: `cancelled by request${during}` } };
    }
    if (job.stop_reason === 'timeout') {
        return {
            status: 'failed',
            error: { kind: 'timeout', message: `no result within timeout_seconds (${job.timeout_seconds}); ${stoppedInCheck ? 'its check' : name} was stopped` },
        };
    }
    if (job.stop_reason === 'stalled') {
        return {
            status: 'failed',
            error: { kind: 'timeout', message: `${name} printed nothing for stall_seconds (${job.stall_seconds}); it was stopped` },
        };
    }
    if (progress.turn === 'failed') {
        return { status: 'failed', error: { kind: 'turn_failed', message: progress.turn_error ?? 'the turn failed' } };
    }
    if (exitCode === null) {
        return {
            status: 'failed',
            error: {
                kind: 'lost',
                message: 'the job\'s processes ended without recording an exit status (killed from outside, or the machine restarted); its output so far is kept',
            },
        };
    }
    if (exitCode === 0) {
        if (!agent.exitZeroNeedsTurn)
            return { status: 'completed', error: null };
        return {
            status: 'failed',
            error: { kind: 'exit_code', message: `${name} exited without finishing its turn (exit 0, no result in its output)${progress.last_error ? `: ${oneLine(progress.last_error, 600)}` : ''}` },
        };
    }
    const detail = oneLine(progress.last_error ?? stderrTail, 600);
    if (exitCode === 126 || exitCode === 127) {
        return { status: 'failed', error: { kind: 'spawn_error', message: `${name} could not be started (exit ${exitCode}): ${detail}` } };
    }
    const signal = signalName(exitCode);
    const how = signal ? `${name} was killed by ${signal} (exit ${exitCode})` : `${name} exited with code ${exitCode}`;
    return { status: 'failed', error: { kind: 'exit_code', message: detail ? `${how}: ${detail}` : how } };
}
//# sourceMappingURL=outcome.js.map