import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { jobProcessesOnMachine, ROOT, until, useServer, waitFinal } from './helpers/harness.ts';

const FAKE_CODEX = path.join(ROOT, 'test/fixtures/fake-codex.mjs');
/** How long the fake's grandchildren sleep: by this process, so test/portable-faults.test.ts running beside this file finds only its own. */
const SLEEP = 40_000 + 2 * (process.pid % 10_000);

const sleeping = (arg: string) =>
  execFileSync('ps', ['-eo', 'stat,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(`sleep ${arg}`) && !l.startsWith('Z'));

/** Faults the real codex cannot be made to show, with a fake codex script (test/fixtures/fake-codex.mjs). */
describe('faults of codex itself', () => {
  const s = useServer({ CODEX_BIN: FAKE_CODEX, FAKE_SLEEP: String(SLEEP), CODEX_ASYNC_KILL_GRACE: '1', CODEX_ASYNC_COMPLETION_GRACE: '1', CODEX_ASYNC_ALLOW_DANGEROUS: '1' });

  it('cancel escalates to SIGKILL when codex ignores SIGINT', async () => {
    const { job_id } = await s.conn.call('codex_start', { prompt: 'ignore-sigint', cwd: s.h.workdir() });
    await until('the fake to start', async () => (await s.conn.call('codex_poll', { job_id })).thread_id);
    const started = Date.now();
    const snap = await s.conn.call('codex_cancel', { job_id });
    assert.equal(snap.status, 'cancelled');
    assert.ok(Date.now() - started >= 1000, 'waited the grace period before SIGKILL');
    assert.deepEqual(jobProcessesOnMachine(job_id), []);
  });

  it('cancel ends grandchildren, also those that left the process group', async () => {
    const { job_id } = await s.conn.call('codex_start', { prompt: 'grandchildren', cwd: s.h.workdir() });
    await until('both grandchildren to run', () => sleeping(String(SLEEP)).length >= 1 && sleeping(String(SLEEP + 1)).length >= 1);
    const snap = await s.conn.call('codex_cancel', { job_id });
    assert.equal(snap.status, 'cancelled');
    assert.deepEqual(sleeping(String(SLEEP)), []);
    assert.deepEqual(sleeping(String(SLEEP + 1)), []);
    assert.deepEqual(jobProcessesOnMachine(job_id), []);
  });

  it('cancel kills, after the grace, what its first look found and that ignored SIGINT, though nothing ties it to the job any more', async () => {
    const { job_id } = await s.conn.call('codex_start', { prompt: 'unmarked-stubborn', cwd: s.h.workdir() });
    await until('the stubborn child to run', () => sleeping(String(SLEEP + 2)).length >= 1);
    const snap = await s.conn.call('codex_cancel', { job_id });
    assert.equal(snap.status, 'cancelled');
    await until('the stubborn child to be gone', () => sleeping(String(SLEEP + 2)).length === 0, 10_000);
  });

  it('timeout also ends the whole tree', async () => {
    const { job_id } = await s.conn.call('codex_start', { prompt: 'grandchildren ignore-sigint', cwd: s.h.workdir(), timeout_seconds: 1 });
    const done = await waitFinal(s.conn, job_id);
    assert.equal(done.error.kind, 'timeout');
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(jobProcessesOnMachine(job_id), []);
  });

  it('a codex that never exits after turn.completed is ended and the job completes', async () => {
    const { job_id } = await s.conn.call('codex_start', { prompt: 'linger', cwd: s.h.workdir() });
    const done = await waitFinal(s.conn, job_id);
    assert.equal(done.status, 'completed');
    assert.equal(done.last_message, 'done, but still here');
    assert.deepEqual(jobProcessesOnMachine(job_id), []);
  });

  it("a lingering codex ended by SIGINT still gets its check run, and the job completes with it", async () => {
    // No sandbox for the check: the fake codex cannot be `codex sandbox`.
    const { job_id } = await s.conn.call('codex_start', {
      prompt: 'linger interruptible',
      cwd: s.h.workdir(),
      sandbox: 'danger-full-access',
      check_command: 'echo checked after the linger',
    });
    const done = await waitFinal(s.conn, job_id);
    assert.equal(done.status, 'completed');
    assert.equal(done.check.passed, true, JSON.stringify(done.check));
    assert.match(done.check.output_tail, /checked after the linger/);
    assert.deepEqual(jobProcessesOnMachine(job_id), []);
  });

  it('codex killed mid-stream with a torn last line fails with the signal named, output kept', async () => {
    const { job_id } = await s.conn.call('codex_start', { prompt: 'torn', cwd: s.h.workdir() });
    const done = await waitFinal(s.conn, job_id);
    assert.equal(done.status, 'failed');
    assert.equal(done.error.kind, 'exit_code');
    assert.match(done.error.message, /SIGKILL/);
    assert.equal(done.exit_code, 137);
    assert.match(done.output, /codex: partial work/);
  });

  it('unknown events, unknown items, new fields and junk lines do not break a job', async () => {
    const { job_id } = await s.conn.call('codex_start', { prompt: 'novel-events', cwd: s.h.workdir() });
    const done = await waitFinal(s.conn, job_id);
    assert.equal(done.status, 'completed');
    assert.equal(done.last_message, 'still fine');
    assert.equal(done.progress.usage.output_tokens, 2);
  });

  it('codex failing at start is failed with its stderr, and cannot be replied to without a thread', async () => {
    const { job_id } = await s.conn.call('codex_start', { prompt: 'exit-early', cwd: s.h.workdir() });
    const done = await waitFinal(s.conn, job_id);
    assert.equal(done.status, 'failed');
    assert.equal(done.error.kind, 'exit_code');
    assert.match(done.error.message, /exited with code 1: .*config profile "nope" not found/);
    const reply = await s.conn.raw('codex_reply', { job_id, prompt: 'continue' });
    assert.equal(reply.isError, true);
    assert.match(reply.content[0].text, /never started a Codex CLI session/);
  });

  it('a missing codex is a clear tool error and the server keeps serving', async () => {
    const broken = await s.h.connect({ CODEX_BIN: '/nonexistent/codex' });
    const result = await broken.raw('codex_start', { prompt: 'x', cwd: s.h.workdir() });
    assert.equal(result.isError, true);
    assert.match(result.content[0].text, /codex_unavailable: .*not an executable file.*npm install -g @openai\/codex/);
    assert.equal((await broken.call('codex_list', {})).jobs.length > 0, true);
    await broken.close();
  });
});
