/**
 * Exit codes of the command line. A job's outcome maps onto them so scripts can branch on
 * `codex-async-mcp run --wait` the way they would on the command itself.
 */
export const EXIT = {
  ok: 0,
  /** The job failed (codex exited non-zero, its turn failed, it could not start, or it was lost). */
  failed: 1,
  /** Wrong usage, an unknown job, or an invalid option value: the message says what to do. */
  usage: 2,
  /** `doctor` found a problem that stops jobs from running. */
  unhealthy: 1,
  /** The job was cancelled (by `cancel`, codex_cancel or a cancelled group). */
  cancelled: 3,
  /** The job hit its timeout (as timeout(1) does). */
  timeout: 124,
  /**
   * Ctrl-C stopped the waiting (`run --wait`, `wait`, `logs -f`), not the job: 128 + SIGINT, as a
   * shell reports any interrupted command; apart from `cancelled` so a script can tell the two.
   */
  interrupted: 130,
  /** Whoever read the output stopped reading (`ls | head -1`): 128 + SIGPIPE, as a shell reports for ls or git. */
  brokenPipe: 141,
} as const;

/** The exit code for a finished job's status and error kind. */
export function exitCodeFor(job: { status: string; error: { kind: string } | null }): number {
  if (job.status === 'completed') return EXIT.ok;
  if (job.status === 'cancelled') return EXIT.cancelled;
  if (job.error?.kind === 'timeout') return EXIT.timeout;
  return EXIT.failed;
}

/** An error a person can act on: printed as one line (no stack), with the exit code given. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
  }
}
