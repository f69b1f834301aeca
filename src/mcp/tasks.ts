import {
  CLIENT_CAPABILITIES_META_KEY,
  RELATED_TASK_META_KEY,
  type JSONRPCMessage,
  type MessageExtraInfo,
  type Transport,
  type TransportSendOptions,
} from '@modelcontextprotocol/server';
import type { JobApi } from '../engine/api.js';
import { describeActivity, type Snapshot } from '../engine/snapshot.js';
import { ToolError } from '../errors.js';
import { isFinal } from '../jobs/states.js';
import * as s from '../engine/shapes.js';
import { resultToolResult } from './tools.js';

/**
 * MCP tasks, served over the job store: a task is one more view of a job (task id = job id), so a
 * task outlives the server and the session that created it, exactly as its job does.
 *
 * Two generations are served:
 * - 2025-11-25 core tasks: `tools/call` with `params.task` answers a CreateTaskResult at once;
 *   `tasks/get`, `tasks/result` (blocks until the job is final), `tasks/list`, `tasks/cancel`, and
 *   `notifications/tasks/status` for the tasks a connection created.
 * - 2026-07-28 extension `io.modelcontextprotocol/tasks` (SEP-2663): a `tools/call` whose request
 *   declares the extension answers `resultType: "task"`; `tasks/get` inlines the result;
 *   `tasks/update` (nothing ever asks for input, so it only checks the id) and `tasks/cancel`.
 *
 * Which tool: `codex_run`, offered only to clients that can call tools as tasks. Its task result is
 * the job's final result, which is what a task-capable client waits for; `codex_start` keeps its
 * meaning (returns a job id at once) for everyone else.
 *
 * Why a transport in front of the SDK server rather than handlers inside it: the SDK v2 ships the
 * task message types but no task runtime — `registerTool` drops `execution`, and its `tools/call`
 * pipeline rejects a CreateTaskResult — so task traffic is answered here and everything else passes
 * through untouched.
 */

export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';
export const RUN_TOOL = 'codex_run';
const POLL_INTERVAL_MS = 2000;
const LIST_PAGE = 50;
const WAIT_SLICE_MS = 60_000;

/** What the server declares: 2025-11-25 `tasks` and the 2026-07-28 extension. */
export const TASK_CAPABILITIES = {
  tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } },
  extensions: { [TASKS_EXTENSION]: {} },
};

type Request = { jsonrpc: '2.0'; id: string | number; method: string; params?: Record<string, any> };
type Reply = { result: Record<string, unknown> } | { error: { code: number; message: string; data?: unknown } };

const METHOD_NOT_FOUND = -32601;
const INVALID_PARAMS = -32602;
const INTERNAL_ERROR = -32603;
const MISSING_CLIENT_CAPABILITY = -32021;

class TaskError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

const missingExtension = (message: string) =>
  new TaskError(MISSING_CLIENT_CAPABILITY, message, { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } });

const isModern = (params: Record<string, any> | undefined) => typeof params?._meta?.['io.modelcontextprotocol/protocolVersion'] === 'string';

/** What a task is made from: a snapshot, or (for tasks/list) the lighter summary without progress. */
type TaskSource = Pick<Snapshot, 'job_id' | 'status' | 'error' | 'created_at' | 'started_at' | 'finished_at'> &
  Partial<Pick<Snapshot, 'queue_position' | 'progress'>>;

/**
 * A job seen as a task: queued and running are "working"; a failed job is "failed" (2025) or a
 * completed tool call with isError (2026). The TTL is null while the job runs (nothing deletes
 * it), then the retention: finished jobs are deleted CODEX_ASYNC_RETENTION_DAYS after they finish.
 */
function taskOf(job: TaskSource, modern: boolean, retentionMs: number | null): Record<string, unknown> {
  const status = !isFinal(job.status) ? 'working' : job.status === 'completed' ? 'completed' : job.status === 'cancelled' ? 'cancelled' : modern ? 'completed' : 'failed';
  const statusMessage = isFinal(job.status) ? `${job.status}${job.error ? `: ${job.error.message}` : ''}` : describeActivity(job);
  const base = {
    taskId: job.job_id,
    status,
    statusMessage,
    createdAt: job.created_at,
    lastUpdatedAt: job.finished_at ?? job.started_at ?? job.created_at,
  };
  const ttl = job.finished_at && retentionMs !== null ? Date.parse(job.finished_at) + retentionMs - Date.parse(job.created_at) : null;
  return modern ? { ...base, ttlMs: ttl, pollIntervalMs: POLL_INTERVAL_MS } : { ...base, ttl, pollInterval: POLL_INTERVAL_MS };
}

function argumentsOf(params: Record<string, any>) {
  const parsed = s.startInput.safeParse(params.arguments ?? {});
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`).join('; ');
    throw new TaskError(INVALID_PARAMS, `invalid arguments for ${RUN_TOOL}: ${detail}`);
  }
  // A task is one job: best-of-N groups are codex_start's.
  if (parsed.data.attempts !== undefined && parsed.data.attempts !== 1) {
    throw new TaskError(INVALID_PARAMS, `${RUN_TOOL} runs one job as one task: for several attempts use codex_start with attempts, then codex_wait with group_id`);
  }
  return parsed.data;
}

/** Answers task traffic for one connection; see the module comment. */
export class TaskGateway implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;

  /** Did this (2025-era) client declare task-augmented tools/call at initialize? */
  private legacyTasks = false;
  private readonly toolLists = new Map<string | number, boolean>();
  private readonly inFlight = new Map<string | number, AbortController>();
  /** 2025-11-25 tasks created on this connection, whose status changes it is told of. */
  private readonly announcing = new Map<string, () => void>();
  private closed = false;

  constructor(
    private readonly inner: Transport,
    private readonly engine: () => JobApi,
  ) {
    // Whoever set up the transport may already listen (an HTTP session table removing itself on
    // close): keep their handlers and call ours after them.
    const before = { close: inner.onclose, error: inner.onerror };
    inner.onclose = () => {
      before.close?.();
      for (const abort of this.inFlight.values()) abort.abort();
      this.closed = true;
      for (const stop of [...this.announcing.values()]) stop();
      this.onclose?.();
    };
    inner.onerror = (error) => {
      before.error?.(error);
      this.onerror?.(error);
    };
    inner.onmessage = (message, extra) => this.receive(message as Request, extra);
  }

  get sessionId() {
    return this.inner.sessionId;
  }
  get hasPerRequestStream() {
    return this.inner.hasPerRequestStream;
  }
  setProtocolVersion = (version: string) => this.inner.setProtocolVersion?.(version);
  start = () => this.inner.start();
  close = () => this.inner.close();

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const id = (message as { id?: string | number }).id;
    if (id !== undefined && 'result' in message && this.toolLists.has(id)) {
      const offer = this.toolLists.get(id)!;
      this.toolLists.delete(id);
      if (offer) return this.inner.send({ ...message, result: withRunTool(message.result as Record<string, any>) } as JSONRPCMessage, options);
    } else if (id !== undefined && 'error' in message) this.toolLists.delete(id);
    return this.inner.send(message, options);
  }

  private receive(message: Request, extra?: MessageExtraInfo): void {
    const params = message.params ?? {};
    if (message.id === undefined) {
      if (message.method === 'notifications/cancelled') this.inFlight.get(params.requestId)?.abort();
      return this.onmessage?.(message as JSONRPCMessage, extra);
    }
    if (message.method === 'initialize') this.legacyTasks = params.capabilities?.tasks?.requests?.tools?.call !== undefined;
    if (message.method === 'tools/list') this.toolLists.set(message.id, this.canRunTasks(params));
    const answer = this.answer(message);
    if (!answer) return this.onmessage?.(message as JSONRPCMessage, extra);
    const abort = new AbortController();
    // Only a waiting tasks/result is worth cancelling: a codex_run that has started its job must
    // still say which, or the client could never find it.
    if (message.method === 'tasks/result') this.inFlight.set(message.id, abort);
    void answer(abort.signal)
      .catch((err: unknown): Reply => {
        if (err instanceof TaskError) return { error: { code: err.code, message: err.message, ...(err.data ? { data: err.data } : {}) } };
        if (err instanceof ToolError) return { error: { code: err.kind === 'not_found' || err.kind === 'invalid_input' ? INVALID_PARAMS : INTERNAL_ERROR, message: err.message } };
        return { error: { code: INTERNAL_ERROR, message: (err as Error).message } };
      })
      .then((reply) => {
        this.inFlight.delete(message.id);
        // A cancelled request gets no answer (MCP cancellation); a closed connection cannot take one.
        if (abort.signal.aborted) return;
        return this.inner.send({ jsonrpc: '2.0', id: message.id, ...reply } as JSONRPCMessage);
      })
      .catch((err: Error) => this.onerror?.(err));
  }

  private canRunTasks(params: Record<string, any>): boolean {
    return isModern(params) ? params._meta?.[CLIENT_CAPABILITIES_META_KEY]?.extensions?.[TASKS_EXTENSION] !== undefined : this.legacyTasks;
  }

  /** The handler for a request this gateway serves, or undefined to pass it to the SDK server. */
  private answer(request: Request): ((signal: AbortSignal) => Promise<Reply>) | undefined {
    const params = request.params ?? {};
    const modern = isModern(params);
    const complete = (result: Record<string, unknown>): Reply => ({ result: modern ? { ...result, resultType: 'complete' } : result });
    // At 2026-07-28 the task methods belong to the extension: a request must declare it.
    if (modern && request.method.startsWith('tasks/') && !this.canRunTasks(params)) {
      return async () => {
        throw missingExtension(`${request.method} is part of the ${TASKS_EXTENSION} extension: declare it in the request's client capabilities`);
      };
    }
    switch (request.method) {
      case 'tools/call':
        if (params.name !== RUN_TOOL) return undefined;
        return async () => ({ result: await this.create(params, modern) });
      case 'tasks/get':
        return async () => complete(await this.detailed(params.taskId, modern));
      case 'tasks/cancel':
        return async () => {
          const id = String(params.taskId ?? '');
          const before = await this.snapshot(id);
          if (isFinal(before.status) && !modern) throw new TaskError(INVALID_PARAMS, `task ${id} is already ${taskOf(before, false, null).status} and cannot be cancelled`);
          const after = await this.engine().cancel(id);
          return complete(modern ? {} : taskOf(after, false, this.engine().retentionMs));
        };
      case 'tasks/update':
        if (!modern) return undefined;
        return async () => {
          await this.snapshot(String(params.taskId ?? ''));
          return complete({});
        };
      case 'tasks/result':
        if (modern) return undefined;
        return async (signal) => {
          const id = String(params.taskId ?? '');
          await this.snapshot(id);
          for (;;) {
            const { finished } = await this.engine().wait([id], WAIT_SLICE_MS, { signal });
            if (finished.length) return { result: { ...(await resultToolResult(this.engine(), id)), _meta: { [RELATED_TASK_META_KEY]: { taskId: id } } } };
            if (signal.aborted) return { result: {} };
          }
        };
      case 'tasks/list':
        if (modern) return undefined;
        return async () => {
          const page = await this.engine().list({ limit: LIST_PAGE, cursor: params.cursor });
          return {
            result: {
              tasks: page.jobs.map((job) => taskOf(job, false, this.engine().retentionMs)),
              ...(page.next_cursor ? { nextCursor: page.next_cursor } : {}),
            },
          };
        };
      default:
        return undefined;
    }
  }

  private async create(params: Record<string, any>, modern: boolean): Promise<Record<string, unknown>> {
    if (modern && !this.canRunTasks(params)) {
      throw missingExtension(`${RUN_TOOL} runs as a task: declare the ${TASKS_EXTENSION} extension, or use codex_start and codex_wait`);
    }
    if (!modern && params.task === undefined) {
      throw new TaskError(METHOD_NOT_FOUND, `${RUN_TOOL} must be called as a task (params.task); without tasks use codex_start and codex_wait`);
    }
    const started = await this.engine().start(argumentsOf(params));
    const task = taskOf(await this.snapshot(started.job_id), modern, this.engine().retentionMs);
    if (modern) return { ...task, resultType: 'task' };
    // After the answer is on its way, so the client knows the task id before any news of it.
    setImmediate(() => this.announce(started.job_id, `${task.status}|${task.statusMessage}`));
    return { task };
  }

  /**
   * `notifications/tasks/status` (2025-11-25, optional in the spec) whenever the task's status or
   * status message changes, driven by the job's change notifications; ends with the task.
   */
  private announce(taskId: string, sent: string): void {
    if (this.closed) return;
    let stopped = false;
    const stop = () => {
      stopped = true;
      unwatch();
      this.announcing.delete(taskId);
    };
    // One reading at a time, in order: a status is never sent after a later one.
    let reading = Promise.resolve();
    const unwatch = this.engine().watch(taskId, () => (reading = reading.then(tell)));
    const tell = async () => {
      if (stopped) return;
      let job: Snapshot;
      try {
        job = await this.engine().poll(taskId, 0);
      } catch {
        return stop();
      }
      if (stopped) return;
      const task = taskOf(job, false, this.engine().retentionMs);
      const now = `${task.status}|${task.statusMessage}`;
      if (now !== sent) {
        sent = now;
        void this.inner.send({ jsonrpc: '2.0', method: 'notifications/tasks/status', params: task } as JSONRPCMessage).catch(() => undefined);
      }
      if (isFinal(job.status)) stop();
    };
    this.announcing.set(taskId, stop);
  }

  private async detailed(taskId: unknown, modern: boolean): Promise<Record<string, unknown>> {
    const job = await this.snapshot(String(taskId ?? ''));
    const task = taskOf(job, modern, this.engine().retentionMs);
    // At 2026-07-28 the inlined CallToolResult carries its own resultType, as it would on the wire.
    if (modern && task.status === 'completed') return { ...task, result: { ...(await resultToolResult(this.engine(), job.job_id)), resultType: 'complete' } };
    return task;
  }

  private async snapshot(id: string): Promise<Snapshot> {
    try {
      return await this.engine().poll(id, 0);
    } catch (err) {
      if (err instanceof ToolError && (err.kind === 'not_found' || err.kind === 'invalid_input')) throw new TaskError(INVALID_PARAMS, `unknown task "${id}": ${err.message}`);
      throw err;
    }
  }
}

/** `codex_run` in a tools/list answer: codex_start's input, codex_result's output, run as a task. */
function withRunTool(result: Record<string, any>): Record<string, any> {
  const tools: Array<Record<string, any>> = result.tools ?? [];
  const start = tools.find((t) => t.name === 'codex_start');
  const output = tools.find((t) => t.name === 'codex_result')?.outputSchema;
  if (!start || tools.some((t) => t.name === RUN_TOOL)) return result;
  const run = {
    ...start,
    name: RUN_TOOL,
    title: 'Run a Codex task (as an MCP task)',
    description:
      'Run an OpenAI Codex CLI task as an MCP task: returns a task handle at once, and the task result is the job\'s final result (final message, files changed, usage). ' +
      'The task id is the job id, so codex_poll and codex_cancel work on it too. Takes the same arguments as codex_start. ' +
      'Example: {"prompt": "Add unit tests for src/parse.ts and run them", "cwd": "/home/me/project", "sandbox": "workspace-write"}',
    ...(output ? { outputSchema: output } : {}),
    execution: { taskSupport: 'required' },
  };
  return { ...result, tools: [...tools, run] };
}
