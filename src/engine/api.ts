import type { z } from 'zod';
import type * as shapes from './shapes.js';
import { ToolError } from '../errors.js';
import { isFinal } from '../jobs/states.js';
import type { JobResult, JobSummary, Snapshot } from './snapshot.js';
import type { ApplyResult, DiffResult, DiscardResult } from './workspaces.js';

type Awaitable<T> = T | Promise<T>;

/**
 * The engine's inputs and outputs are the tools' schemas (shapes.ts): one definition each. Its
 * inputs take any string where a tool's schema lists choices: the command line passes what a
 * person typed, and the engine's own checks name the valid values.
 */
export type StartInput = AsTyped<z.input<typeof shapes.startInput>>;
export type ReplyInput = AsTyped<z.input<typeof shapes.replyInput>>;
type AsTyped<T> = { [K in keyof T]: T[K] extends infer V ? (V extends string ? string : V extends readonly string[] ? string[] : V) : never };
export type ListInput = z.input<typeof shapes.listInput>;
export type LandInput = AsTyped<Omit<z.input<typeof shapes.landInput>, 'timeout_seconds'>>;
export type LandingView = z.infer<typeof shapes.landOutput>;
export type Started = z.infer<typeof shapes.startedOutput>;
export type WaitOutcome = z.infer<typeof shapes.waitOutput>;
export type GroupView = z.infer<typeof shapes.groupOutput>;

/**
 * A fleet runner as it announces itself (fleet/shared.ts keeps it in Redis: Keys.runner, with a
 * TTL; Keys.runnersSeen, kept). Here, below both, because JobApi.fleetRunners returns it.
 */
export interface RunnerInfo {
  id: string;
  host: string;
  pid: number;
  labels: string[];
  concurrency: number;
  /** Jobs of this runner not yet final (running, or queued on its machine). */
  running: number;
  version: string;
  agents: string[];
  started_at: number;
  beat_at: number;
}

/** `onProgress`: each step of the landing ("checking job 3f9c… (2/4): npm test") and its number, from its first, none missed. */
export interface LandWaitOptions {
  signal?: AbortSignal;
  onProgress?: (step: string, index: number) => void;
}

export interface WaitOptions {
  signal?: AbortSignal;
  tickMs?: number;
  onTick?: (pending: Snapshot, elapsedMs: number) => void;
}

/**
 * What every front end (the MCP tools, resources and tasks; the command line) asks of jobs. The
 * local Engine answers from this machine's store; the fleet client (fleet/client.ts) from Redis and
 * the runner holding each job. Front ends await every answer, so either can stand behind them.
 */
export interface JobApi {
  start(input: StartInput): Promise<Started>;
  reply(input: ReplyInput): Promise<Started>;
  resolve(idOrPrefix: string): Awaitable<string>;
  poll(id: string, tailLines?: number): Awaitable<Snapshot>;
  activity(id: string): Awaitable<string>;
  rawEvents(id: string, maxBytes?: number): Awaitable<string>;
  result(id: string): Awaitable<JobResult>;
  list(input: ListInput): Awaitable<{ jobs: JobSummary[]; next_cursor: string | null }>;
  wait(ids: string[], timeoutMs: number, opts?: WaitOptions): Promise<WaitOutcome>;
  cancel(idOrPrefix: string): Promise<Snapshot>;
  group(idOrPrefix: string): Promise<GroupView>;
  waitGroup(idOrPrefix: string, timeoutMs: number, opts?: WaitOptions): Promise<WaitOutcome>;
  cancelGroup(idOrPrefix: string): Promise<GroupView>;
  diff(id: string, opts?: { statOnly?: boolean; paths?: string[]; maxBytes?: number }): Promise<DiffResult>;
  apply(id: string, opts?: { dryRun?: boolean }): Promise<ApplyResult>;
  /**
   * Lands finished worktree jobs as one change (engine/landing.ts), or with `landing_id` waits for
   * one started earlier; answers once it has ended or `timeoutMs` has passed (status "running").
   */
  land(input: LandInput, timeoutMs: number, opts?: LandWaitOptions): Promise<LandingView>;
  /** With dryRun: refused as a discard would be, removing nothing. */
  discard(id: string, opts?: { dryRun?: boolean }): Promise<DiscardResult>;
  /** Raw event-log lines from byte `offset` as they are written, until the job is final. */
  follow(idOrPrefix: string, offset: number, onLine: (line: string) => void, opts?: { signal?: AbortSignal; everyMs?: number }): Promise<Snapshot>;
  eventLogSize(id: string): Awaitable<number>;
  /** `onChange` on every change of the job; the returned function stops watching. */
  watch(id: string, onChange: () => void): () => void;
  watchAll(onChange: (id: string) => void): () => void;
  /** `landed_worktrees`: jobs kept whose worktree went (or would) because it landed and still held what landed. */
  gc(opts: { olderThanMs: number; keep: number; dryRun: boolean }): Promise<{ jobs: JobSummary[]; bytes: number; landed_worktrees?: string[] }>;
  /** With a fleet: its runners, alive and gone (for `top`); a local engine has none. */
  fleetRunners?(): Promise<{ alive: RunnerInfo[]; gone: RunnerInfo[] }>;
  /** Brings what happened while nobody watched up to date (local: outcomes; fleet: nothing to do). */
  catchUp(): Promise<void>;
  close(): Promise<void>;
  readonly retentionMs: number | null;
}

/**
 * Removes the worktree and branch of every attempt of a group, through any JobApi (local or fleet).
 * Refused before anything is removed while an attempt still runs, or a job (a reply) still works
 * in an attempt's worktree: every attempt is checked as its own discard would check it first.
 */
export async function discardGroup(api: JobApi, groupIdOrPrefix: string): Promise<{ group: GroupView; attempts: DiscardResult[] }> {
  const group = await api.group(groupIdOrPrefix);
  const busy = group.attempts.filter((a) => !isFinal(a.status)).map((a) => `${a.job_id} (${a.status})`);
  if (busy.length) {
    throw new ToolError(
      'not_finished',
      (t) => `${busy.length} attempt(s) of group ${group.group_id} still going: ${busy.join(', ')}; cancel the group (${t('cancel')}) or wait for it (${t('wait')}) first`,
    );
  }
  for (const a of group.attempts) await api.discard(a.job_id, { dryRun: true });
  const attempts: DiscardResult[] = [];
  for (const a of group.attempts) attempts.push(await api.discard(a.job_id));
  return { group, attempts };
}
