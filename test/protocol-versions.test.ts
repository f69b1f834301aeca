import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { describe, it } from 'node:test';
import { SERVER_MAIN, until, useServer, waitFinal, TOOL_COUNT } from './helpers/harness.ts';

/** A client that speaks raw JSON-RPC over the server's stdio, as a hand-written 2025-06-18 client would. */
function rawClient(env: Record<string, string>) {
  const child = spawn(process.execPath, [SERVER_MAIN], { env, stdio: ['pipe', 'pipe', 'ignore'] });
  const pending = new Map<number, (msg: any) => void>();
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    const msg = JSON.parse(line);
    if (msg.id !== undefined) pending.get(msg.id)?.(msg);
  });
  let next = 1;
  return {
    request(method: string, params: object): Promise<any> {
      const id = next++;
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
      return new Promise((resolve) => pending.set(id, resolve));
    },
    notify(method: string) {
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method })}\n`);
    },
    close: () => new Promise((resolve) => {
      child.once('exit', resolve);
      child.stdin.end();
    }),
  };
}

describe('protocol versions', () => {
  const s = useServer();

  it('serves a 2025-06-18 client speaking raw JSON-RPC: initialize, tools, a job from start to result', async () => {
    const client = rawClient(s.h.env());
    const init = await client.request('initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'raw-2025-06-18', version: '1' },
    });
    assert.equal(init.result.protocolVersion, '2025-06-18');
    assert.equal(init.result.serverInfo.name, 'codex-async-mcp');
    client.notify('notifications/initialized');
    const tools = await client.request('tools/list', {});
    assert.equal(tools.result.tools.length, TOOL_COUNT);
    const started = await client.request('tools/call', { name: 'codex_start', arguments: { prompt: 'raw client job', cwd: s.h.workdir() } });
    const jobId = started.result.structuredContent.job_id;
    const waited = await client.request('tools/call', { name: 'codex_wait', arguments: { job_ids: [jobId], timeout_seconds: 30 } });
    assert.equal(waited.result.structuredContent.finished[0].status, 'completed');
    const result = await client.request('tools/call', { name: 'codex_result', arguments: { job_id: jobId } });
    assert.equal(result.result.structuredContent.final_message, 'mock answer: raw client job');
    const bad = await client.request('tools/call', { name: 'codex_poll', arguments: { job_id: 'nope' } });
    assert.equal(bad.result.isError, true);
    await client.close();
  });

  it('serves the MCP SDK v2 client, which negotiates 2025-11-25 with this server', async () => {
    const version = (s.conn.client as unknown as { getNegotiatedProtocolVersion(): string }).getNegotiatedProtocolVersion();
    assert.equal(version, '2025-11-25');
    assert.ok(Array.isArray((await s.conn.call('codex_list', {})).jobs), 'tools answer with structured content');
  });

  it('serves a 2026-07-28 client (server/discover, no initialize); subscriptions/listen gets the listened job\'s updates only', async () => {
    const conn = await s.h.connect({}, { versionNegotiation: { mode: { pin: '2026-07-28' } } } as never);
    const client = conn.client as any;
    assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
    assert.equal(client.getServerVersion().name, 'codex-async-mcp');
    const updated: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (n: any) => void updated.push(n.params.uri));
    const { job_id } = await conn.call('codex_start', { prompt: '[[slow:700]] listened', cwd: s.h.workdir() });
    const other = await conn.call('codex_start', { prompt: 'not listened to', cwd: s.h.workdir() });
    const uri = `codex-job://${job_id}/output`;
    const subscription = await client.listen({ resourceSubscriptions: [uri] });
    assert.deepEqual(subscription.honoredFilter, { resourceSubscriptions: [uri] });
    await waitFinal(conn, job_id);
    await waitFinal(conn, other.job_id);
    await until('an update for the listened URI', () => updated.includes(uri));
    assert.ok(updated.every((u) => u === uri), `only the listened URI arrives (${updated.join(', ')})`);
    await subscription.close();
    await conn.close();
  });
});
