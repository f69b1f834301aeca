import type { McpServer, ServerContext } from '@modelcontextprotocol/server';
import { describeProgress } from '../agents/progress.js';
import type { JobApi, Started } from '../engine/api.js';
import { describeGroup } from '../engine/groups.js';
import { startWarnings } from '../engine/warnings.js';
import type { JobResult } from '../engine/snapshot.js';
import { isFinal } from '../jobs/states.js';
import { ToolError } from '../errors.js';
import { call, type ToolResult } from './call.js';
import type { Logger } from '../log.js';
import * as s from '../engine/shapes.js';
import { onSessionClose } from './session.js';

const WAIT_DEFAULT_SECONDS = 50;
const WAIT_MAX_SECONDS = 3600;

/** How long a call that blocks (codex_wait, codex_land) may, from its timeout_seconds. */
export function blockingMs(seconds = WAIT_DEFAULT_SECONDS): number {
  if (!(seconds >= 0) || seconds > WAIT_MAX_SECONDS) throw new ToolError('invalid_input', `timeout_seconds must be from 0 to ${WAIT_MAX_SECONDS}, got ${seconds}`);
  return seconds * 1000;
}
const PROGRESS_EVERY_MS = 5000;

const warningLines = (r: Started) => (r.warnings ?? []).map((w) => `\nWarning: ${w}.`).join('');

function startedLine(r: Started, what: string): string {
  if (r.group_id !== null) {
    return `Started ${r.job_ids.length} attempts (${r.job_ids.join(', ')}) as group ${r.group_id}, each in its own worktree. Call codex_wait with group_id "${r.group_id}" to get them ranked with the best one named, then codex_diff and codex_apply it.${warningLines(r)}`;
  }
  const where = r.queue_position ? `, position ${r.queue_position} in the queue` : '';
  const review = r.isolation === 'worktree' ? ' It works in a worktree of its own: review with codex_diff, bring in with codex_apply.' : '';
  return `Started codex job ${r.job_id}${what} (${r.status}${where}). Call codex_wait with job_ids ["${r.job_id}"] to get the result.${review}${warningLines(r)}`;
}

/** Starting a job reaches outside this server (codex, the model provider); it changes files only if asked. */
const STARTS_A_JOB = { openWorldHint: true, readOnlyHint: false, destructiveHint: false } as const;
const READS_JOBS = { readOnlyHint: true, openWorldHint: false } as const;

function jobLine(s: { job_id: string; status: string; error?: { kind: string; message: string } | null }): string {
  return `job ${s.job_id}: ${s.status}${s.error ? ` (${s.error.kind}: ${s.error.message})` : ''}`;
}

/** A finished job as a tool result: what codex_result answers, and what a `codex_run` task results in. */
export async function resultToolResult(engine: JobApi, jobId: string): Promise<ToolResult> {
  const r = await engine.result(jobId);
  return {
    content: [{ type: 'text', text: resultText(r) }],
    structuredContent: r as unknown as Record<string, unknown>,
    ...(r.status === 'completed' ? {} : { isError: true }),
  };
}

const resultText = (r: JobResult) => `${jobLine(r)}\n${r.final_message ?? '(no final message)'}`;

/**
 * Tells this session's client, as a log message, when a job it started finishes: clients that
 * show server logs then tell the user without anyone polling. Driven by the job's change
 * notifications, not a timer: a server with many running jobs stays idle.
 */
function announceWhenDone(server: McpServer, engine: JobApi, jobId: string, watches: Set<() => void>): void {
  let stopped = false;
  const stop = () => {
    stopped = true;
    unwatch();
    watches.delete(stop);
  };
  // One reading at a time, in order: changes that come close together announce the end once.
  let reading = Promise.resolve();
  const unwatch = engine.watch(jobId, () => (reading = reading.then(announce)));
  const announce = async () => {
    if (stopped) return;
    let job;
    try {
      job = await engine.poll(jobId, 0);
    } catch {
      return stop();
    }
    if (stopped || !isFinal(job.status)) return;
    stop();
    if (!server.isConnected()) return;
    void server
      .sendLoggingMessage({
        level: job.status === 'completed' ? 'info' : 'warning',
        logger: 'codex-async-mcp',
        data: { message: jobLine(job), job_id: job.job_id, status: job.status, error: job.error },
      })
      .catch(() => undefined);
  };
  watches.add(stop);
}

export function registerTools(server: McpServer, engine: () => JobApi, log: Logger): void {
  // Announcements still pending end with the session: nobody is left to tell.
  const watches = new Set<() => void>();
  onSessionClose(server, () => {
    for (const stop of [...watches]) stop();
  });
  const announced = async (starting: Promise<Started>): Promise<Started> => {
    const started = await starting;
    for (const id of started.job_ids) announceWhenDone(server, engine(), id, watches);
    return started;
  };

  server.registerTool(
    'codex_start',
    {
      title: 'Start a Codex job in the background',
      description:
        'Start an OpenAI Codex CLI task as a background job and return its job_id at once, without waiting. ' +
        'Use it for coding work that takes minutes: codex runs in cwd (read-only sandbox unless sandbox="workspace-write"). ' +
        'Then call codex_wait to block until the job finishes (better than polling), codex_poll for progress, codex_result for the answer. ' +
        'Options: isolation "worktree" (its own git worktree, see codex_diff), attempts with check_command (best-of-N). ' +
        'Example: {"prompt": "Add unit tests for src/parse.ts and run them", "cwd": "/home/me/project", "sandbox": "workspace-write", "isolation": "worktree"}',
      inputSchema: s.startInput,
      outputSchema: s.startedOutput,
      annotations: STARTS_A_JOB,
    },
    (args) =>
      call(
        log,
        async () => {
          const started = await announced(engine().start(args));
          const warnings = startWarnings(args, started);
          return warnings.length ? { ...started, warnings } : started;
        },
        (r) => startedLine(r, ''),
      ),
  );

  server.registerTool(
    'codex_poll',
    {
      title: 'Check a Codex job',
      description:
        'Check a background Codex job without waiting: status, exit code, progress (current activity, commands run, files changed, todo list, tokens), ' +
        'its last message and the tail of its activity log. To wait for completion use codex_wait instead of polling in a loop. ' +
        'Example: {"job_id": "3f9c0a1b2c3d", "tail_lines": 20}',
      inputSchema: s.pollInput,
      outputSchema: s.snapshotOutput,
      annotations: READS_JOBS,
    },
    (args) =>
      call(log, () => engine().poll(args.job_id, args.tail_lines ?? 100), (r) =>
        [jobLine(r), r.progress.current ? `now: ${r.progress.current}` : '', r.output].filter(Boolean).join('\n'),
      ),
  );

  server.registerTool(
    'codex_wait',
    {
      title: 'Wait for Codex jobs to finish',
      description:
        'Block until one of the given background Codex jobs finishes, or until timeout_seconds (default 50) passes; returns finished job snapshots and the ids still pending. ' +
        'With group_id: until every attempt of the group has finished, then returns them ranked (group.best_job_id). ' +
        'Call it again while timed_out is true. Sends progress notifications while waiting. Cancelling this call stops the wait, not the job. ' +
        'Example: {"job_ids": ["3f9c0a1b2c3d"], "timeout_seconds": 50}',
      inputSchema: s.waitInput,
      outputSchema: s.waitOutput,
      annotations: READS_JOBS,
    },
    (args, ctx: ServerContext) =>
      call(
        log,
        () => {
          const ids = [...(args.job_ids ?? []), ...(args.job_id !== undefined ? [args.job_id] : [])];
          const timeoutMs = blockingMs(args.timeout_seconds);
          const token = ctx.mcpReq._meta?.progressToken;
          if (args.group_id !== undefined && ids.length) throw new ToolError('invalid_input', 'give job_ids or group_id, not both');
          const waitFor = args.group_id === undefined ? engine().wait.bind(engine(), ids) : engine().waitGroup.bind(engine(), args.group_id);
          return waitFor(timeoutMs, {
            signal: ctx.mcpReq.signal,
            tickMs: token === undefined ? undefined : PROGRESS_EVERY_MS,
            onTick: (pending, elapsedMs) => {
              if (token === undefined) return;
              void ctx.mcpReq
                .notify({
                  method: 'notifications/progress',
                  params: {
                    progressToken: token,
                    progress: Math.round(elapsedMs / 1000),
                    total: timeoutMs / 1000,
                    message: `job ${pending.job_id}: ${describeProgress(pending.progress)}`,
                  },
                })
                .catch(() => undefined);
            },
          });
        },
        (r) =>
          r.group
            ? `${describeGroup(r.group)}${r.timed_out ? '. Call codex_wait again.' : ''}`
            : r.finished.length
              ? r.finished.map((f) => `${jobLine(f)}${f.last_message ? `\n${f.last_message}` : ''}`).join('\n\n')
              : `No job finished yet (still running: ${r.pending.join(', ')}). Call codex_wait again.`,
      ),
  );

  server.registerTool(
    'codex_result',
    {
      title: 'Get a finished Codex job\'s result',
      description:
        'Get the result of a finished background Codex job: final message, structured output (when output_schema was given), files changed, token usage, thread id, duration. ' +
        'Errors if the job is not finished yet (use codex_wait). Example: {"job_id": "3f9c0a1b2c3d"}',
      inputSchema: s.resultInput,
      outputSchema: s.resultOutput,
      annotations: READS_JOBS,
    },
    (args) => call(log, () => engine().result(args.job_id), resultText),
  );

  server.registerTool(
    'codex_list',
    {
      title: 'List Codex jobs',
      description:
        'List background Codex jobs, newest first, optionally filtered by status, cwd or label; page with cursor. ' +
        'Example: {"status": "running", "limit": 10}',
      inputSchema: s.listInput,
      outputSchema: s.listOutput,
      annotations: READS_JOBS,
    },
    (args) =>
      call(log, () => engine().list(args), (r) =>
        r.jobs.length ? r.jobs.map((j) => `${j.job_id} ${j.status.padEnd(9)} ${j.created_at} ${j.prompt}`).join('\n') : 'No jobs.',
      ),
  );

  server.registerTool(
    'codex_cancel',
    {
      title: 'Cancel a Codex job',
      description:
        'Cancel a background Codex job: stops codex and every process it started, and returns the final snapshot once they are gone. ' +
        'A queued job is cancelled without starting; a finished job is returned unchanged. A worktree is kept for inspection (codex_discard removes it). ' +
        'With group_id, cancels every attempt of the group. Example: {"job_id": "3f9c0a1b2c3d"}',
      inputSchema: s.cancelInput,
      outputSchema: s.cancelOutput,
      annotations: { destructiveHint: true, readOnlyHint: false, idempotentHint: true, openWorldHint: false },
    },
    (args) =>
      call(
        log,
        async () => {
          if ((args.job_id === undefined) === (args.group_id === undefined)) throw new ToolError('invalid_input', 'give job_id, or group_id to cancel every attempt of a group');
          if (args.job_id !== undefined) return engine().cancel(args.job_id);
          const group = await engine().cancelGroup(args.group_id!);
          // The schema is a job's snapshot: the first-ranked attempt's, with the whole group beside it.
          return { ...(await engine().poll(group.attempts[0]!.job_id, 0)), group };
        },
        (r) => ('group' in r && r.group ? describeGroup(r.group) : jobLine(r)),
      ),
  );

  server.registerTool(
    'codex_reply',
    {
      title: 'Continue a Codex conversation',
      description:
        'Send a follow-up message to the Codex thread of an earlier job (job_id), or of any Codex session (thread_id with cwd); runs as a new background job with parent_job_id set. ' +
        'Codex remembers the earlier conversation. Refused while a job on that thread is still running. ' +
        'Example: {"job_id": "3f9c0a1b2c3d", "prompt": "Now also update the README"}',
      inputSchema: s.replyInput,
      outputSchema: s.startedOutput,
      annotations: STARTS_A_JOB,
    },
    (args) => call(log, () => announced(engine().reply(args)), (r) => startedLine(r, ' continuing the thread')),
  );
}
