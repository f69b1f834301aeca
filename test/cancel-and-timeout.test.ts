import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import path from 'node:path';
import { jobProcessesOnMachine, tempDir, until, useServer, waitFinal } from './helpers/harness.ts';

function processesRunning(pattern: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,stat,args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes(pattern) && !/\sZ/.test(line.slice(0, 14)));
}

describe('cancel and timeout stop codex and everything it started', () => {
  const s = useServer();

  for (const sandbox of ['read-only', 'workspace-write']) {
    it(`cancel ends a running shell command and returns the final snapshot (${sandbox})`, async () => {
      const marker = sandbox === 'read-only' ? 'sleep 31337' : 'sleep 31338';
      const { job_id } = await s.conn.call('codex_start', { prompt: `[[shell:${marker}]] run forever`, cwd: s.h.workdir(), sandbox });
      await until('the shell command to run', () => processesRunning(marker).length > 0);
      const snap = await until('poll to show the command', async () => {
        const polled = await s.conn.call('codex_poll', { job_id });
        return /running `.*sleep/.test(polled.progress.current ?? '') ? polled : null;
      });
      assert.equal(snap.status, 'running');
      assert.match(snap.output, new RegExp(`\\$ .*${marker}`));
      const cancelled = await s.conn.call('codex_cancel', { job_id });
      assert.equal(cancelled.status, 'cancelled');
      assert.equal(cancelled.error.kind, 'cancelled');
      assert.deepEqual(jobProcessesOnMachine(job_id), [], 'no process of the job is left');
      assert.deepEqual(processesRunning(marker), [], 'the shell command is gone');
    });
  }

  it('cancelling a queued job never starts it; cancelling a finished job returns it unchanged', async () => {
    // A home of its own: a job of an earlier test, ending, starts queued jobs under its own server's limit.
    const busy = await s.h.connect({ CODEX_ASYNC_MAX_CONCURRENT: '1', CODEX_ASYNC_HOME: path.join(tempDir('home'), 'state') });
    // Holds the slot until cancelled, however slow the machine.
    const running = await busy.call('codex_start', { prompt: '[[hang]] hold the only slot', cwd: s.h.workdir() });
    const queued = await busy.call('codex_start', { prompt: 'never runs', cwd: s.h.workdir() });
    assert.equal(queued.status, 'queued');
    assert.equal(queued.queue_position, 1);
    const cancelled = await busy.call('codex_cancel', { job_id: queued.job_id });
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(cancelled.started_at, null);
    const done = await busy.call('codex_cancel', { job_id: running.job_id });
    assert.equal(done.status, 'cancelled');
    const again = await busy.call('codex_cancel', { job_id: running.job_id });
    assert.equal(again.status, 'cancelled');
    assert.equal(again.finished_at, done.finished_at);
    assert.equal(s.h.mock.requests.filter((r) => r.prompt === 'never runs').length, 0);
    await busy.close();
  });

  it('a job that hangs fails with error.kind timeout at its deadline, leaving no process', async () => {
    const started = Date.now();
    const { job_id } = await s.conn.call('codex_start', { prompt: '[[hang]] never answers', cwd: s.h.workdir(), timeout_seconds: 2 });
    const done = await waitFinal(s.conn, job_id);
    const took = Date.now() - started;
    assert.equal(done.status, 'failed');
    assert.equal(done.error.kind, 'timeout');
    assert.match(done.error.message, /timeout_seconds \(2\)/);
    assert.ok(took >= 2000, `stopped after the deadline (${took} ms)`);
    assert.deepEqual(jobProcessesOnMachine(job_id), []);
  });
});
