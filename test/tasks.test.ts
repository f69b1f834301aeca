import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/client';
import { createTaskSessionFromClient, resultFromTaskOutcome } from '@modelcontextprotocol/ext-tasks/client';
import { z } from 'zod';
import { jobProcessesOnMachine, until, useHarness, type Connection } from './helpers/harness.ts';

const TASKS = 'io.modelcontextprotocol/tasks';
/** What a 2025-11-25 client that runs tools as tasks declares. */
const TASK_CLIENT = { capabilities: { tasks: { requests: { tools: { call: {} } } } } } as never;
/** A 2026-07-28 client that declares the tasks extension. */
const MODERN_TASK_CLIENT = { versionNegotiation: { mode: { pin: '2026-07-28' } }, capabilities: { extensions: { [TASKS]: {} } } } as never;
const anyResult = z.object({}).passthrough();

/**
 * Raw JSON-RPC over the client's own stdio connection, for what the SDK client cannot send: it
 * rejects `resultType: "task"`. This is the "rawDispatch" the ext-tasks client asks a host for.
 */
function rawDispatch(conn: Connection) {
  const transport = conn.transport;
  const pending = new Map<string, (msg: any) => void>();
  const sdk = transport.onmessage! as (msg: unknown, extra?: unknown) => void;
  transport.onmessage = ((msg: any, extra?: unknown) => {
    const answer = msg.id !== undefined ? pending.get(String(msg.id)) : undefined;
    if (!answer) return sdk(msg, extra);
    pending.delete(String(msg.id));
    answer(msg);
  }) as typeof transport.onmessage;
  let next = 0;
  return async (request: any): Promise<any> => {
    const id = `raw-${++next}`;
    const reply = new Promise<any>((resolve) => pending.set(id, resolve));
    await transport.send({ jsonrpc: '2.0', method: request.method, params: request.params, id });
    const msg = await reply;
    return 'error' in msg ? { kind: 'error', error: msg.error } : { kind: 'result', result: msg.result };
  };
}

const toolNames = async (client: Client) => (await client.listTools()).tools.map((t) => t.name);

describe('MCP tasks (2025-11-25, through the ext-tasks client)', () => {
  const s = useHarness();

  it('offers codex_run only to clients that run tools as tasks', async () => {
    const plain = await s.h.connect();
    assert.ok(!(await toolNames(plain.client)).includes('codex_run'));
    const tasking = await s.h.connect({}, TASK_CLIENT);
    const run = (await tasking.client.listTools()).tools.find((t) => t.name === 'codex_run');
    assert.deepEqual(run?.execution, { taskSupport: 'required' });
    assert.deepEqual(tasking.client.getServerCapabilities()?.tasks, { list: {}, cancel: {}, requests: { tools: { call: {} } } });
    await plain.close();
    await tasking.close();
  });

  it('runs codex as a task: a handle at once, then the job\'s result; the task id is the job id', async () => {
    const conn = await s.h.connect({}, TASK_CLIENT);
    const session = createTaskSessionFromClient(conn.client, { endpointId: 'tasks-test' });
    const execution = await session.callTool('codex_run', { prompt: '[[slow:500]] a task', cwd: s.h.workdir() });
    assert.equal(execution.kind, 'task');
    const taskId = execution.kind === 'task' ? execution.handle.taskId : '';
    const poll = await conn.call('codex_poll', { job_id: taskId });
    assert.match(poll.status, /queued|running|completed/);
    const { outcome } = await execution.settle();
    const result = resultFromTaskOutcome(outcome) as any;
    assert.equal(result.structuredContent.final_message, 'mock answer: [[slow:500]] a task');
    assert.equal(result.isError, undefined);
    const listed = await conn.client.request({ method: 'tasks/list', params: {} }, anyResult);
    assert.ok((listed.tasks as any[]).some((t) => t.taskId === taskId && t.status === 'completed'));
    await session.close();
    await conn.close();
  });

  it('keeps a task across a server restart: another server resumes it and gets the result', async () => {
    const first = await s.h.connect({}, TASK_CLIENT);
    const session = createTaskSessionFromClient(first.client, { endpointId: 'restart' });
    const execution = await session.callTool('codex_run', { prompt: '[[slow:1500]] survives', cwd: s.h.workdir() });
    assert.equal(execution.kind, 'task');
    let reference: any;
    if (execution.kind === 'task') await execution.handoff((ref) => void (reference = ref));
    process.kill(first.pid, 'SIGKILL');
    await session.close().catch(() => undefined);
    const second = await s.h.connect({}, TASK_CLIENT);
    const resumed = createTaskSessionFromClient(second.client, { endpointId: 'restart' });
    const again = await resumed.resumeTask(reference);
    const { outcome } = await again.settle();
    assert.equal((resultFromTaskOutcome(outcome) as any).structuredContent.final_message, 'mock answer: [[slow:1500]] survives');
    await resumed.close();
    await second.close();
  });

  it('tasks/cancel stops codex and everything it started', async () => {
    const conn = await s.h.connect({}, TASK_CLIENT);
    const session = createTaskSessionFromClient(conn.client, { endpointId: 'cancel' });
    const execution = await session.callTool('codex_run', { prompt: '[[shell:sleep 300]] stop me', cwd: s.h.workdir() });
    const taskId = execution.kind === 'task' ? execution.handle.taskId : '';
    await until('the job runs its command', async () => (await conn.call('codex_poll', { job_id: taskId })).progress.current?.includes('sleep 300'));
    await execution.cancel();
    const task = await conn.client.request({ method: 'tasks/get', params: { taskId } }, anyResult);
    assert.equal(task.status, 'cancelled');
    assert.deepEqual(jobProcessesOnMachine(taskId), []);
    await session.close();
    await conn.close();
  });

  it('tells the session that created a task when its status changes', async () => {
    const conn = await s.h.connect({}, TASK_CLIENT);
    const statuses: Array<{ taskId: string; status: string }> = [];
    // Typed out of the SDK client's method list (it has no task runtime); the message is the spec's.
    (conn.client as any).setNotificationHandler('notifications/tasks/status', (n: { params: never }) => void statuses.push(n.params));
    const created = await conn.client.request(
      { method: 'tools/call', params: { name: 'codex_run', arguments: { prompt: '[[slow:500]] announced', cwd: s.h.workdir() }, task: {} } },
      anyResult,
    );
    const taskId = (created.task as { taskId: string }).taskId;
    await until('a completed status notification', () => statuses.find((t) => t.taskId === taskId && t.status === 'completed'));
    assert.ok(statuses.every((t) => t.taskId === taskId));
    await conn.close();
  });

  it('answers bad task requests with errors that say what is wrong', async () => {
    const conn = await s.h.connect({}, TASK_CLIENT);
    await assert.rejects(conn.client.request({ method: 'tasks/get', params: { taskId: '0123456789ab' } }, anyResult), /unknown task "0123456789ab"/);
    await assert.rejects(
      conn.client.request({ method: 'tools/call', params: { name: 'codex_run', arguments: { cwd: '/' }, task: {} } }, anyResult),
      /invalid arguments for codex_run: prompt/,
    );
    await assert.rejects(
      conn.client.request({ method: 'tools/call', params: { name: 'codex_run', arguments: { prompt: 'x', cwd: '/', isolaton: 'worktree' }, task: {} } }, anyResult),
      /invalid arguments for codex_run: .*unknown parameter "isolaton": did you mean "isolation"\?/,
    );
    await assert.rejects(conn.client.request({ method: 'tools/call', params: { name: 'codex_run', arguments: { prompt: 'x' } } }, anyResult), /must be called as a task/);
    await conn.close();
  });
});

describe('MCP tasks extension (2026-07-28, io.modelcontextprotocol/tasks)', () => {
  const s = useHarness();

  it('runs codex as a task through the ext-tasks client on a 2026-07-28 connection', async () => {
    const conn = await s.h.connect({}, MODERN_TASK_CLIENT);
    assert.equal((conn.client as any).getNegotiatedProtocolVersion(), '2026-07-28');
    assert.deepEqual(conn.client.getServerCapabilities()?.extensions, { [TASKS]: {} });
    assert.ok((await toolNames(conn.client)).includes('codex_run'));
    const session = createTaskSessionFromClient(conn.client, {
      endpointId: 'modern',
      rawDispatch: rawDispatch(conn),
      v2RequestFraming: { protocolVersion: '2026-07-28', clientInfo: { name: 'tasks-test', version: '1' }, clientCapabilities: {} },
    });
    const execution = await session.callTool('codex_run', { prompt: '[[slow:300]] modern task', cwd: s.h.workdir() });
    assert.equal(execution.kind, 'task');
    const { outcome } = await execution.settle();
    assert.equal((resultFromTaskOutcome(outcome) as any).structuredContent.final_message, 'mock answer: [[slow:300]] modern task');
    await session.close();
    await conn.close();
  });

  it('cancels, reports a failed job as a completed call with isError, and refuses clients without the extension', async () => {
    const conn = await s.h.connect({}, MODERN_TASK_CLIENT);
    const raw = rawDispatch(conn);
    const meta = (caps: object) => ({
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
      'io.modelcontextprotocol/clientCapabilities': caps,
    });
    const call = (args: object, caps: object = { extensions: { [TASKS]: {} } }) =>
      raw({ method: 'tools/call', params: { name: 'codex_run', arguments: args, _meta: meta(caps) } });
    const get = (taskId: string) => raw({ method: 'tasks/get', params: { taskId, _meta: meta({ extensions: { [TASKS]: {} } }) } });

    const refused = await call({ prompt: 'x', cwd: s.h.workdir() }, {});
    assert.equal(refused.error.code, -32021);
    assert.deepEqual(refused.error.data, { requiredCapabilities: { extensions: { [TASKS]: {} } } });
    const undeclared = await raw({ method: 'tasks/get', params: { taskId: '0123456789ab', _meta: meta({}) } });
    assert.equal(undeclared.error.code, -32021, 'the task methods belong to the extension too');

    const failing = await call({ prompt: '[[fail:boom]] fails', cwd: s.h.workdir() });
    assert.equal(failing.result.resultType, 'task');
    const failed = await until('the failing task ends', async () => {
      const r = (await get(failing.result.taskId)).result;
      return r.status !== 'working' ? r : null;
    });
    assert.equal(failed.status, 'completed');
    assert.equal(failed.result.isError, true);

    const hanging = await call({ prompt: '[[shell:sleep 300]] hang', cwd: s.h.workdir() });
    const taskId = hanging.result.taskId;
    await until('the job runs its command', async () => (await conn.call('codex_poll', { job_id: taskId })).progress.current?.includes('sleep 300'));
    const ack = await raw({ method: 'tasks/cancel', params: { taskId, _meta: meta({ extensions: { [TASKS]: {} } }) } });
    assert.deepEqual(ack.result, { resultType: 'complete' });
    assert.equal((await get(taskId)).result.status, 'cancelled');
    assert.deepEqual(jobProcessesOnMachine(taskId), []);
    await conn.close();
  });
});
