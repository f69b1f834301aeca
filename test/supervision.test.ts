import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { cliIn, type Harness, jobProcessesOnMachine, SERVER_MAIN, until, useHarness, waitFinal } from './helpers/harness.ts';

/** Reads the store directly: a command would itself start queued jobs and record outcomes. */
function rows(h: Harness): any[] {
  const db = new Database(path.join(h.home, 'jobs.db'), { readonly: true });
  try {
    return db.prepare('SELECT * FROM jobs ORDER BY seq').all();
  } finally {
    db.close();
  }
}

/** Every file of every finished job, with its bytes: what must never change once a job is final. */
function finishedFiles(h: Harness): Map<string, string> {
  const out = new Map<string, string>();
  for (const job of rows(h).filter((r) => ['completed', 'failed', 'cancelled'].includes(r.status))) {
    const dir = path.join(h.home, 'jobs', job.id);
    for (const name of fs.readdirSync(dir)) {
      if (name === 'supervisor.log') continue; // the callbacks' own log, appended to
      out.set(`${job.id}/${name}`, fs.readFileSync(path.join(dir, name)).toString('base64'));
    }
  }
  return out;
}

const cli = (env: Record<string, string>, args: string[]) => cliIn(env, args);

/** Living processes whose command line contains `args` (NUL-separated). */
function processesRunning(args: string): number[] {
  return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, 'latin1').includes(args);
    } catch {
      return false;
    }
  }).map(Number);
}

const requestsFor = (h: Harness, prompt: string) => h.mock.requests.filter((r) => r.prompt === prompt && !r.followUp).length;

/** What a job's supervision does on its own: leases against paused servers, deadlines and the queue with no server, leftovers. */
describe('supervision', () => {
  const s = useHarness();

  it('a server paused (SIGSTOP) between its claims and their launch past the lease does nothing when it wakes', async () => {
    const cwd = s.h.workdir();
    // A queue, left by a server that ran the first job and exited: the first hangs until cancelled.
    const setup = await s.h.connect({ CODEX_ASYNC_MAX_CONCURRENT: '1' });
    const hanging = await setup.call('codex_start', { prompt: '[[hang]] occupy a slot', cwd });
    await until('the first job to run', async () => (await setup.call('codex_poll', { job_id: hanging.job_id })).thread_id);
    const prompts = Array.from({ length: 6 }, (_, i) => `paused claim ${i}`);
    const ids: string[] = [];
    for (const prompt of prompts) ids.push((await setup.call('codex_start', { prompt, cwd })).job_id);
    await setup.close();

    // Server A claims three of them (limit 4, one running) and stops itself right after the claim.
    // No client talks to it: it may stop before it could answer one.
    const a = spawn(process.execPath, [SERVER_MAIN], {
      env: s.h.env({ CODEX_ASYNC_MAX_CONCURRENT: '4', CODEX_ASYNC_TEST_PAUSE: 'after-claim' }),
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    await until('server A to stop holding its claims', () => fs.readFileSync(`/proc/${a.pid}/stat`, 'utf8').split(') ')[1]?.startsWith('T'));
    const claimed = rows(s.h).filter((r) => r.status === 'running' && r.pid === null);
    assert.equal(claimed.length, 3);

    // Server B takes the claims over once the lease has passed, and runs every job.
    const b = await s.h.connect({ CODEX_ASYNC_MAX_CONCURRENT: '4' });
    for (const id of ids) assert.equal((await waitFinal(b, id, 180)).status, 'completed', `job ${id}`);
    assert.equal((await b.call('codex_cancel', { job_id: hanging.job_id })).status, 'cancelled');
    const before = finishedFiles(s.h);

    // A wakes, carries on from its claim, and must find every claim stale.
    process.kill(a.pid!, 'SIGCONT');
    await new Promise((r) => setTimeout(r, 3000));
    a.stdin!.end();
    await until('server A to exit', () => a.exitCode !== null);
    for (const [i, prompt] of prompts.entries()) assert.equal(requestsFor(s.h, prompt), 1, `prompt ${i} reached the model once`);
    for (const id of ids) {
      const done = await b.call('codex_result', { job_id: id });
      assert.equal(done.status, 'completed');
      assert.equal(done.final_message, `mock answer: paused claim ${ids.indexOf(id)}`);
    }
    assert.deepEqual(finishedFiles(s.h), before, 'no finished job lost or changed a byte');
    await b.close();
  });

  it('a server paused after it began a launch keeps its claim: nobody else runs the job, and it runs once when the server wakes', async () => {
    const cwd = s.h.workdir();
    const a = await s.h.connect({ CODEX_ASYNC_TEST_PAUSE: 'before-spawn' });
    const call = a.raw('codex_start', { prompt: 'launched by a paused server', cwd }, { timeout: 180_000 });
    await until('server A to stop mid-launch', () => fs.readFileSync(`/proc/${a.pid}/stat`, 'utf8').split(') ')[1]?.startsWith('T'));
    const [job] = rows(s.h).filter((r) => r.prompt_head === 'launched by a paused server');
    assert.ok(job.launched_at !== null && job.pid === null);
    const b = await s.h.connect();
    // Past the 30 s lease: B must leave a begun launch alone while its owner lives.
    await new Promise((r) => setTimeout(r, 35_000));
    const held = rows(s.h).find((r) => r.id === job.id);
    assert.equal(held.status, 'running');
    assert.equal(held.launch_token, job.launch_token);
    assert.equal(requestsFor(s.h, 'launched by a paused server'), 0);
    process.kill(a.pid, 'SIGCONT');
    assert.equal((await call).structuredContent.job_id, job.id);
    assert.equal((await waitFinal(b, job.id)).status, 'completed');
    assert.equal(requestsFor(s.h, 'launched by a paused server'), 1);
    await a.close();
    await b.close();
  });

  it('with no server at all, queued jobs start in order as earlier ones end, and a deadline fires', async () => {
    const env = s.h.env({ CODEX_ASYNC_MAX_CONCURRENT: '1' });
    const cwd = s.h.workdir();
    const ids: string[] = [];
    for (const prompt of ['[[slow:1500]] no server 1', '[[slow:500]] no server 2', 'no server 3']) {
      const r = await cli(env, ['run', prompt, '--cwd', cwd]);
      assert.equal(r.code, 0, r.stderr);
      ids.push(r.stdout.trim());
    }
    const timed = await cli(env, ['run', '[[hang]] no server, no answer', '--cwd', cwd, '--timeout', '3']);
    const all = [...ids, timed.stdout.trim()];
    // Nothing but the jobs' own supervision runs from here on.
    const final: any[] = await until<any>('every job to end with no server running', () => {
      const got = rows(s.h).filter((r) => all.includes(r.id));
      return got.every((r) => ['completed', 'failed', 'cancelled'].includes(r.status)) && got;
    }, 120_000, 200);
    const byId = new Map<string, any>(final.map((r) => [r.id, r]));
    for (const id of ids) assert.equal(byId.get(id).status, 'completed', `job ${id}`);
    for (let i = 1; i < ids.length; i++) assert.ok(byId.get(ids[i]).started_at >= byId.get(ids[i - 1]).finished_at, 'one at a time, in order');
    const hung = byId.get(all[3]);
    assert.equal(hung.status, 'failed');
    assert.equal(hung.error_kind, 'timeout');
    assert.deepEqual(jobProcessesOnMachine(all[3]), []);
  });

  it('a job that ends while a server listens is recorded by that server: no call back into the bin', async () => {
    const conn = await s.h.connect();
    const { job_id: id } = await conn.call('codex_start', { prompt: 'recorded by the listening server', cwd: s.h.workdir() });
    const done = await waitFinal(conn, id);
    assert.equal(done.status, 'completed');
    const dir = path.join(s.h.home, 'jobs', id);
    await until('the job\'s end to be over', () => fs.existsSync(path.join(dir, 'recorded')));
    // Once the wrapper is gone, any call back it made is already a process (setsid forks it first).
    const wrapper = Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8').split(' ')[0]);
    await until('the wrapper to exit', () => !fs.existsSync(`/proc/${wrapper}`));
    await until('any call back to end', () => processesRunning(`__supervise\0exited\0${id}.`).length === 0);
    assert.equal(fs.readFileSync(path.join(dir, 'supervisor.log'), 'utf8'), '', 'nothing called back into the bin');
    await conn.close();
  });

  it('a job that ends while its only server is paused is recorded by its own callback once that server dies', async () => {
    const conn = await s.h.connect();
    const { job_id: id } = await conn.call('codex_start', { prompt: '[[slow:1500]] its server paused', cwd: s.h.workdir() });
    const dir = path.join(s.h.home, 'jobs', id);
    process.kill(conn.pid, 'SIGSTOP');
    try {
      await until('the agent to exit', () => fs.readFileSync(path.join(dir, 'exit'), 'utf8').trim() !== '', 60_000);
      // Alive though paused, the server is still counted on: the job's wrapper waits for it.
      const wrapper = Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8').split(' ')[0]);
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(fs.existsSync(`/proc/${wrapper}`), 'the wrapper waits');
      assert.equal(rows(s.h).find((r) => r.id === id).status, 'running');
      assert.equal(fs.readFileSync(path.join(dir, 'supervisor.log'), 'utf8'), '', 'nothing called back yet');
    } finally {
      process.kill(conn.pid, 'SIGKILL');
    }
    const ended = await until('the job to be recorded with no server', () => rows(s.h).find((r) => r.id === id && r.status !== 'running'), 60_000, 200);
    assert.equal(ended.status, 'completed');
    assert.match(fs.readFileSync(path.join(dir, 'supervisor.log'), 'utf8'), /no server or runner was listening/);
    // Made once what follows the record (leftovers ended, the next job started) is done: a moment after the row.
    await until('the recorded mark', () => fs.existsSync(path.join(dir, 'recorded')));
  });

  it('a job that ended on its own takes what it left running with it, and its time is when it ended', async () => {
    // Outside codex's sandbox: inside it, the sandbox's own pid namespace ends with the command.
    const env = s.h.env({ CODEX_ASYNC_ALLOW_DANGEROUS: '1' });
    // Its length names it machine-wide: by this process, as test/portable-supervision.test.ts runs beside this file.
    const sleep = `300.${String(process.pid % 1000).padStart(3, '0')}`;
    const r = await cli(env, ['run', `[[shell:nohup sleep ${sleep} >/dev/null 2>&1 & echo started]] leave a sleeper`, '--cwd', s.h.workdir(), '--sandbox', 'danger-full-access']);
    const id = r.stdout.trim();
    const ended = await until('the job to end', () => rows(s.h).find((x) => x.id === id && x.status !== 'running' && x.status !== 'queued'), 60_000, 200);
    const seenEnded = Date.now();
    assert.equal(ended.status, 'completed');
    assert.match(ended.final_message, /shell output: .*started/s);
    await until('the sleeper to be ended', () => processesRunning(`sleep\0${sleep}`).length === 0, 30_000);
    assert.deepEqual(jobProcessesOnMachine(id), []);
    // Looked at long after: the run time is still the job's own, from its start to the agent's exit
    // (compared with the job's own record, not with a bound a slow machine could exceed).
    await new Promise((r) => setTimeout(r, 4000));
    const shown = JSON.parse((await cli(env, ['result', id, '--json'])).stdout);
    assert.equal(shown.duration_ms, ended.finished_at - ended.started_at, 'the duration is the recorded one');
    assert.ok(ended.finished_at <= seenEnded, `it ended by the time it was seen ended (finished_at ${ended.finished_at}, seen ${seenEnded})`);
    assert.equal(ended.finished_at, Math.round(fs.statSync(path.join(s.h.home, 'jobs', id, 'exit')).mtimeMs), 'when the wrapper saw the agent exit');
  });
});
