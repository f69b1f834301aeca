import os from 'node:os';
import type { Progress } from '../agents/progress.js';
import { oneLine } from '../agents/progress.js';
import { agentOf } from '../agents/registry.js';
import type { JobError } from '../jobs/states.js';
import { readStep, stepSpan, type JobFiles, type Step } from '../jobs/files.js';
import type { Job } from '../jobs/store.js';
import { linkedPaths } from '../workspace/include.js';

export interface Verdict {
  status: 'completed' | 'failed' | 'cancelled';
  error: JobError | null;
}

function signalName(exitCode: number): string | null {
  if (exitCode <= 128) return null;
  const n = exitCode - 128;
  const name = Object.entries(os.constants.signals).find(([, v]) => v === n)?.[0];
  return name ?? `signal ${n}`;
}

/**
 * Which of the wrapper's steps a stop (cancel, timeout, stall — not a lingering codex) ended: the
 * stop came after the step began, and the step did not end on its own: no status, or one a signal
 * gives — for the setup any failure, since the agent never ran after it (pip, stopped, exits 1;
 * the wrapper writes 130 for a setup that ignored the stop and exited 0). Not by comparing the stop with the step's end: file times come from the kernel's coarse
 * clock and can read a few milliseconds earlier than the stop that caused the end.
 */
export function stoppedIn(files: JobFiles, job: Pick<Job, 'stop_reason' | 'stop_requested_at' | 'check_command' | 'setup_command'>): Step | null {
  if (job.stop_reason === null || job.stop_reason === 'lingering') return null;
  for (const step of ['setup', 'check'] as const) {
    if ((step === 'setup' ? job.setup_command : job.check_command) === null) continue;
    const { started, exitCode } = stepSpan(files, step);
    if (started === null || (job.stop_requested_at ?? 0) < started) continue;
    if (exitCode === null || exitCode > 128 || (step === 'setup' && exitCode !== 0)) return step;
  }
  return null;
}

/**
 * A setup that ended on its own with a failure: the job fails with it, and the agent never started.
 * A read-only link to the checkout is the likely cause when the output says so: said, with the way out.
 */
export function setupFailure(files: JobFiles, job: Pick<Job, 'setup_command' | 'workspace'>): JobError | null {
  const setup = readStep(files, 'setup', job.setup_command);
  if (!setup || setup.exit_code === null || setup.exit_code === 0) return null;
  const tail = setup.output_tail.trim().split('\n').slice(-15).join('\n');
  const linked = linkedPaths(job.workspace.brought_in);
  const hint =
    linked.length && /EROFS|read-only file system/i.test(setup.output_tail)
      ? ` (${linked.join(', ')} ${linked.length === 1 ? 'is' : 'are'} your checkout's, linked read-only by .worktreeinclude: a setup that installs there needs ${linked.length === 1 ? 'it' : 'them'} left out of .worktreeinclude)`
      : '';
  return {
    kind: 'workspace',
    message: `its setup (${oneLine(setup.command, 200)}) exited with ${setup.exit_code}, so the agent did not start${hint}${tail ? `; its output ends:\n${tail}` : ' (it printed nothing)'}`,
  };
}

/** What the wrapper's steps add to an outcome: the step a stop ended, a setup that failed. */
export interface Steps {
  stoppedIn: Step | null;
  setupFailed: JobError | null;
}

/**
 * Decides how a job ended from everything there is to know once its processes are gone. The event
 * stream outranks the exit status: a turn that completed is a result, even when the agent had to be
 * ended afterwards because it lingered (openai/codex#7622).
 */
export function decide(
  job: Pick<Job, 'agent' | 'stop_reason' | 'timeout_seconds' | 'stall_seconds'>,
  exitCode: number | null,
  progress: Progress,
  stderrTail: string,
  steps: Steps = { stoppedIn: null, setupFailed: null },
): Verdict {
  // A job stopped while its check ran did not get to its result: the stop is the outcome.
  if (progress.turn === 'completed' && steps.stoppedIn === null) return { status: 'completed', error: null };
  if (steps.setupFailed && job.stop_reason === null) return { status: 'failed', error: steps.setupFailed };
  const agent = agentOf(job.agent);
  const name = agent.command;
  const during = steps.stoppedIn ? ` during its ${steps.stoppedIn}` : '';
  if (job.stop_reason === 'cancelled') {
    return { status: 'cancelled', error: { kind: 'cancelled', message: `cancelled by request${during}` } };
  }
  if (job.stop_reason === 'timeout') {
    return {
      status: 'failed',
      error: { kind: 'timeout', message: `no result within timeout_seconds (${job.timeout_seconds}); ${steps.stoppedIn ? `its ${steps.stoppedIn}` : name} was stopped` },
    };
  }
  if (job.stop_reason === 'stalled') {
    return {
      status: 'failed',
      error: { kind: 'timeout', message: `${steps.stoppedIn === 'setup' ? 'its setup' : name} printed nothing for stall_seconds (${job.stall_seconds}); it was stopped` },
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
        message:
          'the job\'s processes ended without recording an exit status (killed from outside, or the machine restarted); its output so far is kept',
      },
    };
  }
  if (exitCode === 0) {
    if (!agent.exitZeroNeedsTurn) return { status: 'completed', error: null };
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
