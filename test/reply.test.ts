import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useServer, waitFinal } from './helpers/harness.ts';

describe('codex_reply continues a Codex thread', () => {
  const s = useServer();

  it('runs a new job on the same thread, and codex sees the first turn', async () => {
    const cwd = s.h.workdir();
    const first = await s.conn.call('codex_start', { prompt: 'first turn: remember PINEAPPLE', cwd, sandbox: 'workspace-write', label: 'thread' });
    const firstDone = await waitFinal(s.conn, first.job_id);
    assert.ok(firstDone.thread_id);
    const second = await s.conn.call('codex_reply', { job_id: first.job_id, prompt: 'second turn [[recall]]' });
    const done = await waitFinal(s.conn, second.job_id);
    assert.equal(done.status, 'completed');
    assert.equal(done.parent_job_id, first.job_id);
    assert.equal(done.thread_id, firstDone.thread_id);
    assert.equal(done.cwd, cwd);
    assert.equal(done.sandbox, 'workspace-write');
    assert.equal(done.last_message, 'recall: ["first turn: remember PINEAPPLE","second turn [[recall]]"]');
  });

  it('continues any Codex session by thread_id with cwd', async () => {
    const cwd = s.h.workdir();
    const first = await waitFinal(s.conn, (await s.conn.call('codex_start', { prompt: 'session one', cwd })).job_id);
    const reply = await s.conn.call('codex_reply', { thread_id: first.thread_id, cwd, prompt: 'again [[recall]]' });
    const done = await waitFinal(s.conn, reply.job_id);
    assert.equal(done.parent_job_id, null);
    assert.equal(done.thread_id, first.thread_id);
    assert.equal(done.last_message, 'recall: ["session one","again [[recall]]"]');
  });

  it('is refused while a job on that thread is running', async () => {
    const cwd = s.h.workdir();
    const first = await waitFinal(s.conn, (await s.conn.call('codex_start', { prompt: 'base', cwd })).job_id);
    // A reply that never answers: it is still running however slow the machine.
    const slow = await s.conn.call('codex_reply', { job_id: first.job_id, prompt: '[[hang]] busy' });
    const refused = await s.conn.raw('codex_reply', { job_id: first.job_id, prompt: 'too soon' });
    assert.equal(refused.isError, true);
    assert.match(refused.content[0].text, new RegExp(`conflict: job ${slow.job_id} is still working on thread`));
    const again = await s.conn.raw('codex_reply', { job_id: slow.job_id, prompt: 'also too soon' });
    assert.equal(again.isError, true);
    assert.equal((await s.conn.call('codex_cancel', { job_id: slow.job_id })).status, 'cancelled');
  });
});
