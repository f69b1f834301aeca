/**
 * The job state machine. Every arrow is one guarded UPDATE in store.ts, so two server processes
 * racing on the same job can never both move it:
 *
 *   queued ──claim──▶ running ──finish──▶ completed | failed | cancelled
 *      ▲◀──release─────────┘   (claimed, but its server died before launching codex)
 *      └──────────cancel──────────────────────────────▶ cancelled
 *
 * A running job may carry a stop request (cancel, timeout, or codex lingering after its turn
 * completed); the request does not change the status, the process ending does.
 */
export const STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'];
export const FINAL_STATUSES = new Set(['completed', 'failed', 'cancelled']);
export const isFinal = (status) => FINAL_STATUSES.has(status);
/** `workspace`: the job's worktree could not be made (see workspace/). */
export const ERROR_KINDS = ['exit_code', 'turn_failed', 'timeout', 'spawn_error', 'lost', 'cancelled', 'workspace'];
//# sourceMappingURL=states.js.map