import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useServer, waitFinal } from './helpers/harness.ts';

describe('codex_wait', () => {
  const s = useServer();

  it('returns as soon as any listed job finishes, naming the others as pending', async () => {
    const cwd = s.h.workdir();
    // One that never answers: however slow the machine, the fast one finishes first.
    const slow = await s.conn.call('codex_start', { prompt: '[[hang]] slow one', cwd });
    const fast = await s.conn.call('codex_start', { prompt: 'fast one', cwd });
    const r = await s.conn.call('codex_wait', { job_ids: [slow.job_id, fast.job_id], timeout_seconds: 30 });
    assert.equal(r.timed_out, false);
    assert.deepEqual(r.finished.map((f: any) => f.job_id), [fast.job_id]);
    assert.deepEqual(r.pending, [slow.job_id]);
    assert.equal(r.finished[0].last_message, 'mock answer: fast one');
    await s.conn.call('codex_cancel', { job_id: slow.job_id });
  });

  it('accepts job_id alone and reports timed_out when nothing finishes in time', async () => {
    const { job_id } = await s.conn.call('codex_start', { prompt: '[[slow:3000]] not yet', cwd: s.h.workdir() });
    const started = Date.now();
    const r = await s.conn.call('codex_wait', { job_id, timeout_seconds: 0.5 });
    assert.ok(Date.now() - started >= 450);
    assert.deepEqual(r, { finished: [], pending: [job_id], timed_out: true });
    assert.equal((await waitFinal(s.conn, job_id)).status, 'completed');
  });

  it('sends progress notifications when the request carries a progress token', async () => {
    const { job_id } = await s.conn.call('codex_start', { prompt: '[[shell:sleep 1]] with progress', cwd: s.h.workdir() });
    const updates: any[] = [];
    const result: any = await s.conn.raw('codex_wait', { job_ids: [job_id], timeout_seconds: 30 }, { onprogress: (p: any) => updates.push(p) });
    assert.equal(result.structuredContent.finished[0].status, 'completed');
    assert.ok(updates.length >= 1, 'at least one progress notification');
    assert.match(updates[0].message, new RegExp(`^job ${job_id}: `));
    assert.equal(updates[0].total, 30);
  });

  it('a cancelled request stops the wait, not the job', async () => {
    const { job_id } = await s.conn.call('codex_start', { prompt: '[[slow:1500]] keep going', cwd: s.h.workdir() });
    const controller = new AbortController();
    const pending = s.conn.raw('codex_wait', { job_ids: [job_id], timeout_seconds: 30 }, { signal: controller.signal });
    setTimeout(() => controller.abort('changed my mind'), 200);
    await assert.rejects(pending);
    const done = await waitFinal(s.conn, job_id);
    assert.equal(done.status, 'completed');
    assert.equal(done.last_message, 'mock answer: [[slow:1500]] keep going');
  });
});
