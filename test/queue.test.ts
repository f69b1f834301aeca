import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useHarness, waitFinal } from './helpers/harness.ts';

describe('one queue and one concurrency limit per machine', () => {
  const s = useHarness();

  it('two servers on one home never run more than CODEX_ASYNC_MAX_CONCURRENT jobs, and start each job once', async () => {
    const env = { CODEX_ASYNC_MAX_CONCURRENT: '2' };
    const a = await s.h.connect(env);
    const b = await s.h.connect(env);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const conn = i % 2 ? b : a;
      ids.push((await conn.call('codex_start', { prompt: `[[slow:700]] queued job ${i}`, cwd: s.h.workdir() })).job_id);
    }
    let maxRunning = 0;
    const sampling = (async () => {
      for (;;) {
        const running = (await a.call('codex_list', { status: 'running', limit: 50 })).jobs.length;
        maxRunning = Math.max(maxRunning, running);
        const left = (await a.call('codex_list', { limit: 50 })).jobs.filter((j: any) => j.status === 'queued' || j.status === 'running');
        if (left.length === 0) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    for (const id of ids) assert.equal((await waitFinal(a, id)).status, 'completed');
    await sampling;
    assert.ok(maxRunning >= 1 && maxRunning <= 2, `at most 2 ran at once (saw ${maxRunning})`);
    for (let i = 0; i < 6; i++) {
      const requests = s.h.mock.requests.filter((r) => r.prompt === `[[slow:700]] queued job ${i}`);
      assert.equal(requests.length, 1, `job ${i} started exactly once`);
    }
    await a.close();
    await b.close();
  });

  it('queued jobs start after the server that queued them has exited, when another server runs', async () => {
    const env = { CODEX_ASYNC_MAX_CONCURRENT: '1' };
    const a = await s.h.connect(env);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await a.call('codex_start', { prompt: `[[slow:500]] orphaned ${i}`, cwd: s.h.workdir() })).job_id);
    await a.close();
    const b = await s.h.connect(env);
    for (const id of ids) assert.equal((await waitFinal(b, id)).status, 'completed');
    await b.close();
  });

  it('30 concurrent starts all complete', async () => {
    const conn = await s.h.connect({ CODEX_ASYNC_MAX_CONCURRENT: '4' });
    const cwd = s.h.workdir();
    const started = await Promise.all(
      Array.from({ length: 30 }, (_, i) => conn.call('codex_start', { prompt: `burst ${i}`, cwd, label: 'burst' })),
    );
    assert.equal(new Set(started.map((s) => s.job_id)).size, 30);
    const finals = await Promise.all(started.map((s) => waitFinal(conn, s.job_id, 300)));
    for (const [i, f] of finals.entries()) {
      assert.equal(f.status, 'completed', `burst job ${i}: ${JSON.stringify(f.error)}`);
      assert.equal(f.last_message, `mock answer: burst ${i}`);
    }
    const page1 = await conn.call('codex_list', { label: 'burst', limit: 20 });
    assert.equal(page1.jobs.length, 20);
    assert.ok(page1.next_cursor);
    const page2 = await conn.call('codex_list', { label: 'burst', limit: 20, cursor: page1.next_cursor });
    assert.equal(page2.jobs.length, 10);
    assert.equal(page2.next_cursor, null);
    const all = [...page1.jobs, ...page2.jobs];
    assert.deepEqual(all.map((j: any) => j.job_id).sort(), started.map((s) => s.job_id).sort(), 'each job once');
    const times = all.map((j: any) => Date.parse(j.created_at));
    assert.deepEqual(times, [...times].sort((x, y) => y - x), 'newest first');
    await conn.close();
  });
});
