import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { describe, it } from 'node:test';
import { Client, type ClientOptions } from '@modelcontextprotocol/client';
import { SERVER_MAIN, until, useHarness, waitFinal, type Connection, TOOL_COUNT } from './helpers/harness.ts';

const TOKEN = 'test-token-0123456789abcdef';

async function startHttpServer(env: Record<string, string>, listen = '127.0.0.1:0'): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [SERVER_MAIN, 'serve', '--http', listen], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /serving MCP over Streamable HTTP at (\S+)/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${stderr}`)));
  });
  return { child, url };
}

async function httpClient(url: string, options?: ClientOptions): Promise<Connection> {
  const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/client');
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } });
  const client = new Client({ name: 'http-test', version: '1' }, options);
  await client.connect(transport);
  const raw = (name: string, args: Record<string, unknown>) => client.callTool({ name, arguments: args });
  return {
    client,
    transport: transport as never,
    pid: 0,
    close: () => client.close(),
    raw,
    async call(name, args) {
      const r = (await raw(name, args)) as any;
      if (r.isError) throw new Error(r.content[0].text);
      return r.structuredContent;
    },
  };
}

describe('Streamable HTTP', () => {
  const s = useHarness();

  it('serves several clients at /mcp with a bearer token, all seeing the same jobs', async () => {
    const { child, url } = await startHttpServer(s.h.env({ CODEX_ASYNC_TOKEN: TOKEN }));
    try {
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
      const a = await httpClient(url);
      const b = await httpClient(url);
      assert.equal((await a.client.listTools()).tools.length, TOOL_COUNT);
      const { job_id } = await a.call('codex_start', { prompt: 'over http', cwd: s.h.workdir() });
      const done = await waitFinal(b, job_id);
      assert.equal(done.status, 'completed');
      assert.equal(done.last_message, 'mock answer: over http');
      await a.close();
      await b.close();
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('gives 2025-era clients a session: resource updates and the finish log message arrive on its event stream', async () => {
    const { child, url } = await startHttpServer(s.h.env({ CODEX_ASYNC_TOKEN: TOKEN }));
    try {
      const conn = await httpClient(url);
      assert.equal((conn.client as any).getNegotiatedProtocolVersion(), '2025-11-25');
      assert.ok((conn.transport as any).sessionId, 'the server gave the client a session id');
      const updated: string[] = [];
      const logged: any[] = [];
      conn.client.setNotificationHandler('notifications/resources/updated', (n) => void updated.push(n.params.uri));
      conn.client.setNotificationHandler('notifications/message', (n) => void logged.push(n.params.data));
      const { job_id } = await conn.call('codex_start', { prompt: '[[slow:700]] pushed over http', cwd: s.h.workdir() });
      await conn.client.subscribeResource({ uri: `codex-job://${job_id}` });
      await waitFinal(conn, job_id);
      await until('the finish log message', () => logged.find((d) => d.job_id === job_id));
      assert.ok(updated.includes(`codex-job://${job_id}`), 'a resource update arrived');
      await conn.close();
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('serves 2026-07-28 clients: subscriptions/listen streams job updates', async () => {
    const { child, url } = await startHttpServer(s.h.env({ CODEX_ASYNC_TOKEN: TOKEN }));
    try {
      const conn = await httpClient(url, { versionNegotiation: { mode: { pin: '2026-07-28' } } } as never);
      assert.equal((conn.client as any).getNegotiatedProtocolVersion(), '2026-07-28');
      const updated: string[] = [];
      conn.client.setNotificationHandler('notifications/resources/updated', (n) => void updated.push(n.params.uri));
      const { job_id } = await conn.call('codex_start', { prompt: '[[slow:700]] listened over http', cwd: s.h.workdir() });
      const uri = `codex-job://${job_id}`;
      const subscription = await (conn.client as any).listen({ resourceSubscriptions: [uri] });
      assert.deepEqual(subscription.honoredFilter, { resourceSubscriptions: [uri] });
      await waitFinal(conn, job_id);
      await until('an update on the listen stream', () => updated.includes(uri));
      assert.ok(updated.every((u) => u === uri), `only the subscribed URI arrives (${updated.join(', ')})`);
      await subscription.close();
      await conn.close();
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('keeps at most 256 2025-era sessions, closing the least recently used; a dropped event stream can be opened again', async () => {
    const { child, url } = await startHttpServer(s.h.env({ CODEX_ASYNC_TOKEN: TOKEN }));
    try {
      const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${TOKEN}` };
      const initialize = async () => {
        const r = await fetch(url, {
          method: 'POST',
          headers,
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
        });
        await r.text();
        return r.headers.get('mcp-session-id')!;
      };
      const ping = async (id: string) => {
        const r = await fetch(url, { method: 'POST', headers: { ...headers, 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }) });
        return { status: r.status, text: await r.text() };
      };
      const ids: string[] = [];
      for (let i = 0; i < 258; i++) ids.push(await initialize());
      const first = await ping(ids[0]!);
      assert.equal(first.status, 404);
      assert.match(first.text, /unknown or expired session .*: initialize a new session/);
      assert.equal((await ping(ids[1]!)).status, 404);
      assert.equal((await ping(ids[2]!)).status, 200, 'the rest are kept');
      assert.equal((await ping(ids[257]!)).status, 200);
      // An event stream whose client went away is released: the client can open one again.
      const stream = (signal?: AbortSignal) =>
        fetch(url, { headers: { accept: 'text/event-stream', authorization: `Bearer ${TOKEN}`, 'mcp-session-id': ids[257]!, 'mcp-protocol-version': '2025-06-18' }, signal });
      const abort = new AbortController();
      const open = await stream(abort.signal);
      assert.equal(open.status, 200);
      abort.abort();
      await until('the dropped stream to be released', async () => {
        const again = await stream(AbortSignal.timeout(500)).catch(() => null);
        if (again?.status === 200) void again.body?.cancel();
        return again?.status === 200;
      });
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('bound to every interface (0.0.0.0, token required), answers under any host name', async () => {
    const { child, url } = await startHttpServer(s.h.env({ CODEX_ASYNC_TOKEN: TOKEN }), '0.0.0.0:0');
    try {
      const port = new URL(url).port;
      const status = await new Promise<number>((resolve, reject) => {
        const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
        const req = http.request(`http://127.0.0.1:${port}/mcp`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${TOKEN}`, host: `192.0.2.2:${port}` },
        }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end(body);
      });
      assert.equal(status, 200);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('answers 401 without the token, 403 for a foreign Origin or Host, 404 elsewhere, 413 for an oversized body', async () => {
    const { child, url } = await startHttpServer(s.h.env({ CODEX_ASYNC_TOKEN: TOKEN }));
    try {
      const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
      const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
      const auth = { Authorization: `Bearer ${TOKEN}` };
      const noToken = await fetch(url, { method: 'POST', headers, body });
      assert.equal(noToken.status, 401);
      assert.equal(noToken.headers.get('www-authenticate'), 'Bearer');
      assert.equal((await fetch(url, { method: 'POST', headers: { ...headers, Authorization: 'Bearer wrong' }, body })).status, 401);
      const foreign = await fetch(url, { method: 'POST', headers: { ...headers, ...auth, Origin: 'http://evil.example' }, body });
      assert.equal(foreign.status, 403);
      assert.equal((await fetch(new URL('/other', url), { headers: auth })).status, 404);
      // DNS rebinding: a page on another name that resolves to 127.0.0.1 sends its own Host.
      const rebound = await new Promise<number>((resolve, reject) => {
        const req = http.request(url, { method: 'POST', headers: { ...headers, ...auth, host: 'evil.example' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end(body);
      });
      assert.equal(rebound, 403);
      const huge = await fetch(url, { method: 'POST', headers: { ...headers, ...auth }, body: 'x'.repeat(5 * 1024 * 1024) });
      assert.equal(huge.status, 413);
      assert.match(await huge.text(), /request body over \d+ bytes/);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('refuses to bind a non-loopback address without CODEX_ASYNC_TOKEN', async () => {
    const child = spawn(process.execPath, [SERVER_MAIN, 'serve', '--http', '0.0.0.0:0'], { env: s.h.env(), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 2);
    assert.match(stderr, /refusing to serve 0\.0\.0\.0 \(not loopback\) without CODEX_ASYNC_TOKEN/);
  });
});
