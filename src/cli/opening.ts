import type { JobApi } from '../engine/api.js';

/**
 * The jobs while they are still being opened: a server answers `initialize` and `tools/list` as soon
 * as the MCP layer is loaded, and loads and opens the engine (its store, the agents' adapters,
 * workspaces, supervision: most of the code) meanwhile, rather than making the client wait for all
 * of it first (MCP clients show a server as "pending" until tools/list is answered). Every call
 * waits for the opening and is then the open JobApi's; a failed opening fails each call with why.
 * Once open, the getter returns the open JobApi itself.
 */
export function whenOpen(opening: Promise<JobApi>): () => JobApi {
  let open: JobApi | null = null;
  // The failure is each call's to report (serve.ts logs it once).
  opening.then((jobs) => (open = jobs)).catch(() => undefined);
  const later =
    <K extends keyof JobApi>(key: K) =>
    (...args: unknown[]): Promise<any> =>
      opening.then((jobs) => (jobs[key] as (...a: unknown[]) => unknown).apply(jobs, args));
  /** A watch asked for before the opening starts when it ends; stopping it first means it never starts. */
  const watchLater =
    (key: 'watch' | 'watchAll') =>
    (...args: unknown[]): (() => void) => {
      let stop: (() => void) | null = null;
      let stopped = false;
      opening.then(
        (jobs) => {
          if (!stopped) stop = (jobs[key] as (...a: unknown[]) => () => void).apply(jobs, args);
        },
        () => undefined,
      );
      return () => {
        stopped = true;
        stop?.();
      };
    };
  const pending: JobApi = {
    start: later('start'),
    reply: later('reply'),
    resolve: later('resolve'),
    poll: later('poll'),
    activity: later('activity'),
    rawEvents: later('rawEvents'),
    result: later('result'),
    list: later('list'),
    wait: later('wait'),
    cancel: later('cancel'),
    group: later('group'),
    waitGroup: later('waitGroup'),
    cancelGroup: later('cancelGroup'),
    diff: later('diff'),
    apply: later('apply'),
    land: later('land'),
    discard: later('discard'),
    follow: later('follow'),
    eventLogSize: later('eventLogSize'),
    watch: watchLater('watch'),
    watchAll: watchLater('watchAll'),
    gc: later('gc'),
    catchUp: later('catchUp'),
    close: () => opening.then((jobs) => jobs.close(), () => undefined),
    // Read only after an answer from the jobs, so from the open JobApi: this one is never asked.
    retentionMs: null,
  };
  return () => open ?? pending;
}
