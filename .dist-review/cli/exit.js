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
    /** The job hit its timeout (as timeout(1) does). */
    timeout: 124,
    /** The job was cancelled, or Ctrl-C stopped the waiting (as for any interrupted command). */
    cancelled: 130,
    /** Whoever read the output stopped reading (`ls | head -1`): 128 + SIGPIPE, as a shell reports for ls or git. */
    brokenPipe: 141,
};
/** The exit code for a finished job's status and error kind. */
export function exitCodeFor(job) {
    if (job.status === 'completed')
        return EXIT.ok;
    if (job.status === 'cancelled')
        return EXIT.cancelled;
    if (job.error?.kind === 'timeout')
        return EXIT.timeout;
    return EXIT.failed;
}
/** An error a person can act on: printed as one line (no stack), with the exit code given. */
export class CliError extends Error {
    exitCode;
    constructor(message, exitCode = EXIT.usage) {
        super(message);
        this.exitCode = exitCode;
    }
}
//# sourceMappingURL=exit.js.map