import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHarness, waitFinal, type Connection, type Harness } from './helpers/harness.ts';

describe('a job from codex_start to its result, with the real codex binary', () => {
  let h: Harness;
  let conn: Connection;
  before(async () => {
    h = await startHarness();
    conn = await h.connect();
  });
  after(async () => {
    await h.close();
  });

  it('lists the seven tools with output schemas', async () => {
    const { tools } = await conn.client.listTools();
    const names = tools.map((t) => t.name).sort();
    assert.deepEqual(names, ['codex_cancel', 'codex_list', 'codex_poll', 'codex_reply', 'codex_result', 'codex_start', 'codex_wait']);
    for (const tool of tools) assert.ok(tool.outputSchema, `${tool.name} declares an outputSchema`);
  });

  it('starts at once, then wait returns the completed job and result returns the answer', async () => {
    const cwd = h.workdir();
    const started = await conn.call('codex_start', { prompt: 'say hello please', cwd });
    assert.match(started.job_id, /^[0-9a-f]{12}$/);
    assert.ok(['queued', 'running'].includes(started.status));
    const done = await waitFinal(conn, started.job_id);
    assert.equal(done.status, 'completed');
    assert.equal(done.exit_code, 0);
    assert.equal(done.error, null);
    assert.equal(done.last_message, 'mock answer: say hello please');
    assert.match(done.output, /codex: mock answer: say hello please/);
    assert.equal(done.sandbox, 'read-only');
    const result = await conn.call('codex_result', { job_id: started.job_id });
    assert.equal(result.final_message, 'mock answer: say hello please');
    assert.equal(result.usage.input_tokens, 100);
    assert.equal(result.usage.output_tokens, 10);
    assert.match(result.thread_id, /^[0-9a-f-]{36}$/);
    assert.ok(result.duration_ms > 0);
  });
});
