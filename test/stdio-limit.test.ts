import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { describe, it } from 'node:test';
import { SERVER_MAIN, until, useServer, waitFinal, TOOL_COUNT } from './helpers/harness.ts';

/** Over the 10 MiB (10,485,760 bytes) the SDK's stdio reader allows for one message. */
const OVERSIZED = 11_500_000;

/** A client writing raw lines to the server's stdin, collecting what it answers and logs. */
function rawClient(env: Record<string, string>) {
  const child = spawn(process.execPath, [SERVER_MAIN], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const received: any[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  readline.createInterface({ input: child.stdout }).on('line', (line) => received.push(JSON.parse(line)));
  let next = 1;
  const write = (line: string) => new Promise<void>((resolve) => child.stdin.write(`${line}\n`, () => resolve()));
  return {
    received,
    stderr: () => stderr,
    write,
    async request(method: string, params: object): Promise<any> {
      const id = next++;
      await write(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      return until(`an answer to request ${id}`, () => received.find((m) => m.id === id), 60_000);
    },
    close: () =>
      new Promise<number | null>((resolve) => {
        child.once('exit', resolve);
        child.stdin.end();
      }),
  };
}

describe('stdio message size limit', () => {
  const s = useServer();

  it('answers an oversized codex_start with a JSON-RPC error carrying its id, then serves tools/list and a real job', async () => {
    const cwd = s.h.workdir();
    // The SDK client writes the id after params: at the end of an 11.5 MB line.
    await assert.rejects(
      s.conn.client.callTool({ name: 'codex_start', arguments: { prompt: 'x'.repeat(OVERSIZED), cwd } }),
      (err: any) => {
        assert.equal(err.code, -32600, err.message);
        assert.match(err.message, /over the 10485760-byte limit for one message on stdio; put large material in a file/);
        return true;
      },
    );
    const tools = await s.conn.client.listTools();
    assert.equal(tools.tools.length, TOOL_COUNT);
    const { job_id } = await s.conn.call('codex_start', { prompt: 'after the oversized one', cwd });
    const done = await waitFinal(s.conn, job_id);
    assert.equal(done.status, 'completed');
    assert.equal((await s.conn.call('codex_result', { job_id })).final_message, 'mock answer: after the oversized one');
  });

  it('answers an oversized line with no readable id with id null and a log line, drops an oversized notification, and serves on', async () => {
    const client = rawClient(s.h.env());
    const init = await client.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } });
    assert.equal(init.result.serverInfo.name, 'codex-async-mcp');
    await client.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));

    // Not JSON at all, so no id: answered with id null, as JSON-RPC prescribes.
    await client.write('x'.repeat(OVERSIZED));
    const unreadable = await until('the answer to the line with no id', () => client.received.find((m) => m.id === null), 60_000);
    assert.equal(unreadable.error.code, -32600);
    await until('the log line', () => client.stderr().includes(`discarded a message with no readable id of ${OVERSIZED} bytes on stdin`));

    // An "id" inside params is not the request's id; a notification gets no answer, only a log line.
    const before = client.received.length;
    await client.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { id: 99, text: 'y'.repeat(OVERSIZED) } }));
    await until('the notification log line', () => client.stderr().includes('discarded a notification of'));

    const tools = await client.request('tools/list', {});
    assert.equal(tools.result.tools.length, TOOL_COUNT);
    assert.equal(client.received.length, before + 1, 'nothing but the tools/list answer since the notification');
    assert.equal(await client.close(), 0);
    assert.doesNotMatch(client.stderr(), /forced exit/, 'nothing left open once stdin closed');
  });
});
