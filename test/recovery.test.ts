import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  type Connection,
  deadPid,
  type Harness,
  isLivePid,
  jobFile,
  jobProcessesOnMachine,
  killJobProcesses,
  killQuietly,
  until,
  useHarness,
  waitFinal,
} from './helpers/harness.ts';

const openJobsDb = (h: Harness) => new Database(path.join(h.home, 'jobs.db'));

function row(h: Harness, id: string): any {
  const db = openJobsDb(h);
  try {
    return db.prepare('SELECT * FROM jobs WHERE id = ?').get(id);
  } finally {
    db.close();
  }
}

async function sigkillServer(conn: Connection): Promise<void> {
  process.kill(conn.pid, 'SIGKILL');
  await until('the server to be gone', () => !isLivePid(conn.pid));
}

/** Closes a server and waits until its process has exited, so it writes nothing more. */
async function closeServer(conn: Connection): Promise<void> {
  await conn.close();
  await until('the server to exit', () => !isLivePid(conn.pid));
}

async function threadStarted(conn: Connection, jobId: string): Promise<void> {
  await until(`job ${jobId} to start its codex thread`, async () => (await conn.call('codex_poll', { job_id: jobId })).thread_id);
}

/** Recovery after crashes of the server, of the wrapper, of everything, and after a reboot. */
describe('recovery', () => {
  const s = useHarness();

  it('server SIGKILLed while 10 jobs run and 10 are queued', async () => {
    const env = { CODEX_ASYNC_MAX_CONCURRENT: '10' };
    const first = await s.h.connect(env);
    const cwd = s.h.workdir();
    const prompts = Array.from({ length: 20 }, (_, i) => `[[slow:3000]] recover ${i}`);
    const ids: string[] = [];
    // One after another, so the queue order (and which 10 run first) is the prompts' order.
    for (const prompt of prompts) ids.push((await first.call('codex_start', { prompt, cwd })).job_id);
    const running = await until('10 jobs running, launched, and 10 queued', async () => {
      const run = (await first.call('codex_list', { status: 'running', limit: 50 })).jobs;
      const queued = (await first.call('codex_list', { status: 'queued', limit: 50 })).jobs;
      const launched = run.every((j: any) => (fs.readFileSync(jobFile(s.h.home, j.job_id, 'pid'), 'utf8').trim() !== ''));
      return run.length === 10 && queued.length === 10 && launched ? run : null;
    });
    await sigkillServer(first);
    // The kill happened while work was in flight: nothing had finished yet.
    for (const j of running) assert.equal(row(s.h, j.job_id).status, 'running');

    const second = await s.h.connect(env);
    for (const [i, id] of ids.entries()) {
      const done = await waitFinal(second, id, 120);
      assert.equal(done.status, 'completed', `job ${i}: ${JSON.stringify(done.error)}`);
      assert.equal(done.last_message, `mock answer: ${prompts[i]}`);
    }
    for (const prompt of prompts) {
      assert.equal(s.h.mock.requests.filter((r) => r.prompt === prompt).length, 1, `"${prompt}" ran exactly once`);
    }
    await second.close();
  });

  it('the wrapper (supervisor) SIGKILLed mid-job, codex finishes: outcome recovered from the event stream', async () => {
    const conn = await s.h.connect();
    const prompt = '[[slow:3000]] orphaned codex';
    const { job_id } = await conn.call('codex_start', { prompt, cwd: s.h.workdir() });
    await threadStarted(conn, job_id);
    const wrapper = Number(fs.readFileSync(jobFile(s.h.home, job_id, 'pid'), 'utf8').split(' ')[0]);
    assert.ok(wrapper > 0);
    process.kill(wrapper, 'SIGKILL');
    await until('the wrapper to be gone', () => !isLivePid(wrapper));
    assert.ok(jobProcessesOnMachine(job_id).length > 0, 'codex runs on without its wrapper');

    const done = await waitFinal(conn, job_id, 60);
    assert.equal(fs.readFileSync(jobFile(s.h.home, job_id, 'exit'), 'utf8'), '', 'no exit status was recorded');
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.error, null);
    assert.equal(done.last_message, `mock answer: ${prompt}`);
    assert.equal(done.exit_code, null);
    assert.deepEqual(jobProcessesOnMachine(job_id), []);
    await conn.close();
  });

  it('wrapper and codex SIGKILLed: failed/lost within a bounded time, resolved by a new server after the old one was SIGKILLed', async () => {
    const first = await s.h.connect();
    const { job_id } = await first.call('codex_start', { prompt: '[[hang]] everything killed', cwd: s.h.workdir() });
    await threadStarted(first, job_id);
    await sigkillServer(first);
    await killJobProcesses(s.h.home, job_id);
    // Nobody saw it end: the row still says running, and no exit status was recorded.
    assert.equal(row(s.h, job_id).status, 'running');
    assert.equal(fs.readFileSync(jobFile(s.h.home, job_id, 'exit'), 'utf8'), '');

    const second = await s.h.connect();
    const done = await waitFinal(second, job_id, 30);
    assert.equal(done.status, 'failed');
    assert.equal(done.error.kind, 'lost');
    assert.equal(done.exit_code, null);
    assert.equal(done.thread_id !== null, true, 'what was known of the job is kept');
    await second.close();
  });

  it('reboot: DB says running, processes gone', async () => {
    const conn = await s.h.connect();
    const cwd = s.h.workdir();
    const finished = (await conn.call('codex_start', { prompt: 'finished before the reboot', cwd })).job_id;
    const first = await waitFinal(conn, finished);
    assert.equal(first.status, 'completed');
    const hung = (await conn.call('codex_start', { prompt: '[[hang]] running at the reboot', cwd })).job_id;
    await threadStarted(conn, hung);
    await closeServer(conn);
    await killJobProcesses(s.h.home, hung);

    // What a reboot leaves: rows still running, recorded pids that name nothing (or something else).
    const gone = await deadPid();
    const db = openJobsDb(s.h);
    const reset = db.prepare(
      `UPDATE jobs SET status = 'running', finished_at = NULL, error_kind = NULL, error_message = NULL, exit_code = NULL,
         stop_reason = NULL, stop_requested_at = NULL, pid = ?, pid_start = '1' WHERE id = ?`,
    );
    reset.run(gone, finished);
    // The stored verdict must not be what decides it: only the files on disk are left to read.
    db.prepare(`UPDATE jobs SET progress = NULL, events_offset = 0, final_message = NULL WHERE id = ?`).run(finished);
    reset.run(gone, hung);
    db.close();
    fs.truncateSync(jobFile(s.h.home, finished, 'exit'), 0);
    assert.match(fs.readFileSync(jobFile(s.h.home, finished, 'events.jsonl'), 'utf8'), /"turn\.completed"/);
    assert.doesNotMatch(fs.readFileSync(jobFile(s.h.home, hung, 'events.jsonl'), 'utf8'), /"turn\.completed"/);
    assert.equal(fs.readFileSync(jobFile(s.h.home, hung, 'exit'), 'utf8'), '');

    const after = await s.h.connect();
    const done = await waitFinal(after, finished, 30);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.error, null);
    assert.equal(done.last_message, 'mock answer: finished before the reboot');
    assert.deepEqual(done.progress.usage, first.progress.usage, 'usage recovered from events.jsonl');
    const lost = await waitFinal(after, hung, 30);
    assert.equal(lost.status, 'failed');
    assert.equal(lost.error.kind, 'lost');
    await after.close();
  });

  it('pid reuse: the recorded pid now belongs to an unrelated process, which is never signalled', async () => {
    // An unrelated process in a process group of its own, as the reused pid of a wrapper would be.
    const stranger = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
    let strangerExit: string | null = null;
    stranger.once('exit', (code, signal) => {
      strangerExit = `code ${code}, signal ${signal}`;
    });
    const pid = stranger.pid!;
    try {
      const first = await s.h.connect();
      const cwd = s.h.workdir();
      const swept = (await first.call('codex_start', { prompt: '[[hang]] pid reused, found by the sweep', cwd })).job_id;
      const cancelled = (await first.call('codex_start', { prompt: '[[hang]] pid reused, then cancelled', cwd })).job_id;
      await threadStarted(first, swept);
      await threadStarted(first, cancelled);
      await closeServer(first);
      const pointAtStranger = (id: string) => {
        const db = openJobsDb(s.h);
        db.prepare(`UPDATE jobs SET pid = ?, pid_start = '1' WHERE id = ?`).run(pid, id);
        db.close();
      };

      // 1. Found by a starting server's sweep.
      await killJobProcesses(s.h.home, swept);
      pointAtStranger(swept);
      // A long sweep interval: after its first sweep, this server acts on `cancelled` only when asked.
      const second = await s.h.connect({ CODEX_ASYNC_SWEEP_MS: '600000' });
      const lost = await waitFinal(second, swept, 30);
      assert.equal(lost.status, 'failed');
      assert.equal(lost.error.kind, 'lost');
      assert.equal((await second.call('codex_cancel', { job_id: swept })).status, 'failed', 'a final job stays as it is');

      // 2. Cancelled while its row points at the stranger.
      assert.equal((await second.call('codex_poll', { job_id: cancelled })).status, 'running');
      await killJobProcesses(s.h.home, cancelled);
      pointAtStranger(cancelled);
      const snap = await second.call('codex_cancel', { job_id: cancelled });
      assert.ok(
        snap.status === 'cancelled' || (snap.status === 'failed' && snap.error.kind === 'lost'),
        `ended, not running: ${snap.status} ${JSON.stringify(snap.error)}`,
      );

      // Signals act at once, but their effect cannot be awaited as a condition: give one a moment.
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(strangerExit, null, 'the unrelated process was not signalled');
      assert.ok(isLivePid(pid), 'the unrelated process is alive and not a zombie');
      await second.close();
    } finally {
      killQuietly(pid);
    }
  });

  it('pid reuse through the pid file: a job known only by its pid file is resolved, the unrelated process untouched', async () => {
    const stranger = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
    const pid = stranger.pid!;
    try {
      const first = await s.h.connect();
      const { job_id } = await first.call('codex_start', { prompt: '[[hang]] known by its pid file', cwd: s.h.workdir(), timeout_seconds: 2 });
      await until('codex to start its thread', async () => (await first.call('codex_poll', { job_id })).thread_id);
      const [, startTime] = fs.readFileSync(jobFile(s.h.home, job_id, 'pid'), 'utf8').trim().split(' ');
      assert.match(startTime ?? '', /^\d+$/, 'the wrapper records its start time beside its pid');
      await first.close();
      await until('the server to exit', () => !isLivePid(first.pid));
      await killJobProcesses(s.h.home, job_id);
      // As if the launching server died before recording the pid, and the pid was then reused.
      const db = new Database(path.join(s.h.home, 'jobs.db'));
      db.prepare(`UPDATE jobs SET pid = NULL, pid_start = NULL WHERE id = ?`).run(job_id);
      db.close();
      fs.writeFileSync(jobFile(s.h.home, job_id, 'pid'), `${pid} ${startTime}\n`);
      const second = await s.h.connect();
      const done = await waitFinal(second, job_id);
      assert.equal(done.status, 'failed');
      assert.equal(done.error.kind, 'lost');
      assert.equal(isLivePid(pid), true, 'the unrelated process was not signalled');
      assert.equal((await second.call('codex_list', { status: 'running' })).jobs.length, 0, 'no slot is held');
      await second.close();
    } finally {
      killQuietly(pid);
    }
  });

  it('pid reuse as a process group whose leader is gone: its members are never signalled', async () => {
    // A group whose leader exited, leaving a member behind (a double-forked daemon, a pipeline).
    const leader = spawn('sh', ['-c', 'sleep 1001 & echo $!'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    const pgid = leader.pid!;
    const member = Number((await new Promise<string>((resolve) => leader.stdout!.once('data', (d) => resolve(String(d))))).trim());
    await until('the leader to exit', () => !isLivePid(pgid));
    try {
      const first = await s.h.connect();
      const { job_id } = await first.call('codex_start', { prompt: '[[hang]] group reused', cwd: s.h.workdir(), timeout_seconds: 2 });
      await threadStarted(first, job_id);
      await closeServer(first);
      await killJobProcesses(s.h.home, job_id);
      const db = openJobsDb(s.h);
      db.prepare(`UPDATE jobs SET pid = ?, pid_start = '1' WHERE id = ?`).run(pgid, job_id);
      db.close();
      const second = await s.h.connect();
      const done = await waitFinal(second, job_id, 30);
      assert.equal(done.status, 'failed');
      assert.equal(done.error.kind, 'lost', 'a group whose leader is gone proves nothing: the job is lost, not timed out');
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(isLivePid(member), 'the member of the unrelated group was not signalled');
      await second.close();
    } finally {
      killQuietly(member);
    }
  });

  it('a cancelled job whose launch never happened is finished, not left running', async () => {
    const env = { CODEX_ASYNC_MAX_CONCURRENT: '1' };
    const first = await s.h.connect(env);
    const blocker = await first.call('codex_start', { prompt: '[[slow:300]] blocker two', cwd: s.h.workdir() });
    const { job_id } = await first.call('codex_start', { prompt: 'cancelled before launch', cwd: s.h.workdir() });
    await closeServer(first);
    // What a cancelling server leaves if it dies while the launching server has also died.
    const db = openJobsDb(s.h);
    db.prepare(`UPDATE jobs SET status = 'running', started_at = ?, deadline_at = ?, stop_reason = 'cancelled', stop_requested_at = ? WHERE id = ?`).run(
      Date.now() - 60_000,
      Date.now() + 60_000,
      Date.now() - 60_000,
      job_id,
    );
    db.close();
    const second = await s.h.connect(env);
    const done = await waitFinal(second, job_id, 60);
    assert.equal(done.status, 'cancelled');
    assert.equal((await waitFinal(second, blocker.job_id)).status, 'completed');
    assert.equal(s.h.mock.requests.filter((r) => r.prompt === 'cancelled before launch').length, 0);
    await second.close();
  });
});
