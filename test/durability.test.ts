import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { jobProcessesOnMachine, killJobProcesses, until, useHarness, waitFinal } from './helpers/harness.ts';

/** A job does not depend on the server process that started it. */
describe('jobs survive the server', () => {
  const s = useHarness();

  it('keeps running when the client closes, and a new server reports its true result', async () => {
    const first = await s.h.connect();
    const { job_id } = await first.call('codex_start', { prompt: '[[slow:1500]] survive a restart', cwd: s.h.workdir() });
    await first.close();
    assert.ok(jobProcessesOnMachine(job_id).length > 0, 'codex still runs with no server');
    const second = await s.h.connect();
    const done = await waitFinal(second, job_id);
    assert.equal(done.status, 'completed');
    assert.equal(done.exit_code, 0);
    assert.equal(done.last_message, 'mock answer: [[slow:1500]] survive a restart');
    await second.close();
  });

  it('keeps running when the server is killed with SIGKILL, and finishes while no server runs', async () => {
    const first = await s.h.connect();
    const { job_id } = await first.call('codex_start', { prompt: '[[slow:1000]] [[fail:boom]] outlive a SIGKILL', cwd: s.h.workdir() });
    process.kill(first.pid, 'SIGKILL');
    // Let codex finish while nobody watches; the next server must still learn the truth.
    const exitFile = path.join(s.h.home, 'jobs', job_id, 'exit');
    await until('codex to exit', () => fs.readFileSync(exitFile, 'utf8') !== '', 30_000);
    const second = await s.h.connect();
    const snap = await second.call('codex_poll', { job_id });
    assert.equal(snap.status === 'running' || snap.status === 'failed', true);
    const done = await waitFinal(second, job_id);
    assert.equal(done.status, 'failed');
    assert.equal(done.exit_code, 1);
    assert.equal(done.error.kind, 'turn_failed');
    assert.match(done.error.message, /boom/);
    await second.close();
  });

  it('marks a job lost when its processes vanish without an exit status', async () => {
    const conn = await s.h.connect();
    const { job_id } = await conn.call('codex_start', { prompt: '[[hang]] be killed from outside', cwd: s.h.workdir() });
    // Once codex has started its thread, the wrapper, the npm launcher and native codex all exist.
    await until('codex to start its thread', async () => (await conn.call('codex_poll', { job_id })).thread_id);
    await killJobProcesses(s.h.home, job_id);
    const done = await waitFinal(conn, job_id);
    assert.equal(done.status, 'failed');
    assert.equal(done.error.kind, 'lost');
    await conn.close();
  });

  it('puts back in the queue a job claimed by a server that died before launching it', async () => {
    const env = { CODEX_ASYNC_MAX_CONCURRENT: '1' };
    const first = await s.h.connect(env);
    const blocker = await first.call('codex_start', { prompt: '[[slow:500]] blocker', cwd: s.h.workdir() });
    const { job_id } = await first.call('codex_start', { prompt: 'claimed but never launched', cwd: s.h.workdir() });
    await first.close();
    // What a server leaves behind if it dies between its claim and the spawn.
    const db = new Database(path.join(s.h.home, 'jobs.db'));
    db.prepare(`UPDATE jobs SET status = 'running', started_at = ?, deadline_at = ? WHERE id = ?`).run(Date.now() - 60_000, Date.now() + 60_000, job_id);
    db.close();
    const second = await s.h.connect(env);
    assert.equal((await waitFinal(second, blocker.job_id)).status, 'completed');
    const done = await waitFinal(second, job_id);
    assert.equal(done.status, 'completed');
    assert.equal(done.last_message, 'mock answer: claimed but never launched');
    assert.equal(s.h.mock.requests.filter((r) => r.prompt === 'claimed but never launched').length, 1);
    await second.close();
  });
});
