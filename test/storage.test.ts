import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { startTimeOf } from '../src/supervise/proc.ts';
import { ROOT, tempDir, until, useHarness, waitFinal, TOOL_COUNT } from './helpers/harness.ts';

const FAKE_CODEX = path.join(ROOT, 'test/fixtures/fake-codex.mjs');

/** A broken state directory is reported on every tool call, with the fix; the server never exits over it. */
describe('storage faults', () => {
  const s = useHarness();

  async function startsBroken(env: Record<string, string>, pattern: RegExp) {
    const conn = await s.h.connect(env);
    for (const [tool, args] of [['codex_start', { prompt: 'x', cwd: s.h.workdir() }], ['codex_list', {}]] as const) {
      const result = await conn.raw(tool, args);
      assert.equal(result.isError, true, `${tool} reports the broken state`);
      assert.match(result.content[0].text, pattern);
    }
    assert.equal((await conn.client.listTools()).tools.length, TOOL_COUNT, 'the server still serves');
    await conn.close();
  }

  it('a corrupt database names the file and the fix', async () => {
    const home = path.join(tempDir('corrupt'), 'state');
    fs.mkdirSync(home, { mode: 0o700 });
    fs.writeFileSync(path.join(home, 'jobs.db'), 'this is not a database'.repeat(100));
    await startsBroken({ CODEX_ASYNC_HOME: home }, new RegExp(`storage: the job database ${home}/jobs.db is not a database SQLite can read .*doctor --repair`));
  });

  it('a database from a newer version names the file and says to upgrade', async () => {
    const home = path.join(tempDir('newer'), 'state');
    fs.mkdirSync(home, { mode: 0o700 });
    const db = new Database(path.join(home, 'jobs.db'));
    db.pragma('user_version = 99');
    db.close();
    await startsBroken({ CODEX_ASYNC_HOME: home }, /schema version 99, newer than this codex-async-mcp understands.*Upgrade codex-async-mcp/);
  });

  it('an unusable state directory is a clear error', async () => {
    const file = path.join(tempDir('notdir'), 'plain-file');
    fs.writeFileSync(file, 'x');
    await startsBroken({ CODEX_ASYNC_HOME: path.join(file, 'state') }, /storage: cannot prepare the state directory .*Set CODEX_ASYNC_HOME to a directory/);
  });

  it('a state directory writable by others is refused, not repaired', async () => {
    const home = path.join(tempDir('open'), 'state');
    fs.mkdirSync(home);
    fs.chmodSync(home, 0o777);
    await startsBroken({ CODEX_ASYNC_HOME: home }, /writable by other users \(mode 777\).*chmod 700/);
  });

  it('a symlink planted in a job directory is never followed', async () => {
    const conn = await s.h.connect();
    const { job_id } = await conn.call('codex_start', { prompt: 'plain', cwd: s.h.workdir() });
    await waitFinal(conn, job_id);
    const secret = path.join(tempDir('secret'), 'secret.jsonl');
    fs.writeFileSync(secret, `${JSON.stringify({ type: 'item.completed', item: { id: 'x', type: 'agent_message', text: 'TOP SECRET' } })}\n`);
    const events = path.join(s.h.home, 'jobs', job_id, 'events.jsonl');
    fs.rmSync(events);
    fs.symlinkSync(secret, events);
    const snap = await conn.call('codex_poll', { job_id });
    assert.doesNotMatch(snap.output, /TOP SECRET/);
    await conn.close();
  });

  // Where holes cannot be punched (macOS), the log is truncated and its tail written back: forced here.
  for (const [suffix, extra] of [['', {}], [' (no hole punching: CODEX_ASYNC_PLATFORM=posix)', { CODEX_ASYNC_PLATFORM: 'posix' }]] as const) {
    it(`keeps a flooding job's event log within CODEX_ASYNC_MAX_LOG_MB on disk, with the tail and the result${suffix}`, async () => {
      const conn = await s.h.connect({ CODEX_BIN: FAKE_CODEX, CODEX_ASYNC_MAX_LOG_MB: '32', ...extra });
      const { job_id } = await conn.call('codex_start', { prompt: 'flood [[flood:1024]]', cwd: s.h.workdir() });
      const events = path.join(s.h.home, 'jobs', job_id, 'events.jsonl');
      // Capped while codex writes, not only once it ends: a hole shows while the job still runs.
      let holeWhileWriting = false;
      const watch = setInterval(() => {
        try {
          const st = fs.statSync(events);
          holeWhileWriting ||= st.blocks * 512 < st.size - 64 * 1024 * 1024;
        } catch {
          // Not there yet.
        }
      }, 100);
      const done = await waitFinal(conn, job_id, 300).finally(() => clearInterval(watch));
      assert.equal(done.status, 'completed');
      assert.equal(done.last_message, 'the end of the flood');
      assert.ok(done.thread_id, 'the thread id survives the skipped backlog, so the job can be replied to');
      assert.match(done.output, /codex: the end of the flood/);
      assert.ok(fs.statSync(events).size > 1024 * 1024 * 1024, 'codex wrote over 1 GiB');
      assert.ok(holeWhileWriting, 'the log was capped while codex wrote it');
      // Once the job's end is over (its `recorded` mark) the log keeps only its tail: at most the cap
      // on disk, for good. Looked at then, not polled for: a poll could catch a cap's write-back midway.
      await until('the job\'s end to be over', () => fs.existsSync(path.join(path.dirname(events), 'recorded')), 120_000);
      assert.ok(!fs.existsSync(`${events}.cap`), 'no cap of the log is under way');
      const st = fs.statSync(events);
      assert.ok(st.blocks * 512 <= 32 * 1024 * 1024, `the finished log is capped: ${st.blocks * 512} bytes on disk`);
      assert.equal((await conn.call('codex_list', { limit: 5 })).jobs[0].job_id, job_id);
      await conn.close();
    });
  }

  it('the last cap of a finished job waits out a cap another process holds, and the job\'s end waits for it (no hole punching: CODEX_ASYNC_PLATFORM=posix)', async () => {
    const conn = await s.h.connect({ CODEX_BIN: FAKE_CODEX, CODEX_ASYNC_MAX_LOG_MB: '8', CODEX_ASYNC_PLATFORM: 'posix' });
    const workdir = s.h.workdir();
    const { job_id } = await conn.call('codex_start', { prompt: 'flood [[flood:64]] hold', cwd: workdir });
    const events = path.join(s.h.home, 'jobs', job_id, 'events.jsonl');
    const recorded = path.join(s.h.home, 'jobs', job_id, 'recorded');
    // Another process (this one) caps the log from now until after the job's end: it holds the log's
    // lock (taken as a cap takes it, so not from under a cap of the server's).
    await until('the log\'s lock to be taken', () => takeLock(`${events}.cap`, `${process.pid} ${startTimeOf(process.pid)}\n`));
    await until('codex to have flooded its log', () => fs.existsSync(events) && fs.statSync(events).size >= 64 * 1024 * 1024);
    assert.ok(fs.statSync(events).blocks * 512 > 32 * 1024 * 1024, 'the server left the log to the lock\'s holder');
    fs.writeFileSync(path.join(workdir, 'go'), '');
    assert.equal((await waitFinal(conn, job_id)).status, 'completed');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.ok(!fs.existsSync(recorded), 'the job\'s end waits for its last cap');
    fs.rmSync(`${events}.cap`); // the other cap is done
    await until('the job\'s end to be over', () => fs.existsSync(recorded), 120_000);
    const st = fs.statSync(events);
    assert.ok(st.blocks * 512 <= 8 * 1024 * 1024, `the finished log is capped: ${st.blocks * 512} bytes on disk`);
    assert.match((await conn.call('codex_poll', { job_id })).output, /codex: the end of the flood/);
    await conn.close();
  });

  it('a disk that fills mid-job: the job fails with the reason, recorded from the reserve', { skip: mountSkip() }, async () => {
    const disk = tempDir('full');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', disk]);
    try {
      const conn = await s.h.connect({ CODEX_ASYNC_HOME: path.join(disk, 'state'), CODEX_BIN: FAKE_CODEX });
      // The engine opens beside the first answers (cli/opening.ts): its reserve is made by then, or moments after.
      // Made with one write, which a look may catch half done: a 1 MiB reserve is kept once it is done.
      await until('the engine to make its 1 MiB reserve', () => fs.statSync(path.join(disk, 'state', 'reserve'), { throwIfNoEntry: false })?.size === 1024 * 1024);
      const { job_id } = await conn.call('codex_start', { prompt: 'flood [[flood:16]]', cwd: s.h.workdir() });
      const done = await waitFinal(conn, job_id, 60);
      assert.equal(done.status, 'failed');
      assert.equal(done.error.kind, 'lost');
      assert.match(done.error.message, /the disk holding the state directory was full/);
      assert.equal(fs.readFileSync(path.join(disk, 'state', 'jobs', job_id, 'exit'), 'utf8'), '', 'no exit status was written, none was invented');
      // Room again: new jobs run, and the reserve is put back.
      fs.rmSync(path.join(disk, 'state', 'jobs', job_id, 'events.jsonl'));
      const next = await conn.call('codex_start', { prompt: 'afterwards', cwd: s.h.workdir() });
      assert.equal((await waitFinal(conn, next.job_id)).status, 'completed');
      await until('the reserve to return', () => fs.existsSync(path.join(disk, 'state', 'reserve')));
      await conn.close();
    } finally {
      execFileSync('umount', ['-l', disk]);
    }
  });

  it('stops a job that prints nothing for stall_seconds', async () => {
    const conn = await s.h.connect({ CODEX_BIN: FAKE_CODEX, CODEX_ASYNC_KILL_GRACE: '1' });
    const { job_id } = await conn.call('codex_start', { prompt: 'silent', cwd: s.h.workdir(), stall_seconds: 1 });
    const done = await waitFinal(conn, job_id);
    assert.equal(done.status, 'failed');
    assert.equal(done.error.kind, 'timeout');
    assert.match(done.error.message, /printed nothing for stall_seconds \(1\)/);
    await conn.close();
  });

  it('ends cleanly when the client disconnects during codex_wait, leaving nothing open; the job goes on', async () => {
    const conn = await s.h.connect();
    const { job_id } = await conn.call('codex_start', { prompt: '[[slow:1500]] outlive the wait', cwd: s.h.workdir() });
    const stderr: string[] = [];
    conn.transport.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
    const pending = conn.raw('codex_wait', { job_ids: [job_id], timeout_seconds: 30 }).catch(() => 'disconnected');
    await new Promise((r) => setTimeout(r, 300));
    const pid = conn.pid;
    await conn.close();
    assert.equal(await pending, 'disconnected');
    await new Promise<void>((resolve) => {
      const check = () => {
        try {
          process.kill(pid, 0);
          setTimeout(check, 50);
        } catch {
          resolve();
        }
      };
      check();
    });
    assert.doesNotMatch(stderr.join(''), /forced exit/, 'no timer, watcher or handle kept the server alive');
    const next = await s.h.connect();
    assert.equal((await waitFinal(next, job_id)).status, 'completed');
    await next.close();
  });
});

describe('limits on where codex may go', () => {
  const s = useHarness();

  it('CODEX_ASYNC_ALLOWED_ROOTS confines cwd, add_dirs and images, with symlinks resolved', async () => {
    const root = s.h.workdir();
    const outside = s.h.workdir();
    const conn = await s.h.connect({ CODEX_ASYNC_ALLOWED_ROOTS: root });
    const inside = path.join(root, 'project');
    fs.mkdirSync(inside);
    fs.symlinkSync(outside, path.join(inside, 'escape'));
    fs.writeFileSync(path.join(outside, 'pic.png'), 'x');
    const refuse = async (args: Record<string, unknown>, pattern: RegExp) => {
      const r = await conn.raw('codex_start', { prompt: 'x', ...args });
      assert.equal(r.isError, true);
      assert.match(r.content[0].text, pattern);
    };
    await refuse({ cwd: outside }, /cwd .* is outside the allowed roots/);
    await refuse({ cwd: path.join(inside, 'escape') }, /cwd .* is outside the allowed roots/);
    await refuse({ cwd: inside, add_dirs: ['escape'] }, /add_dirs entry .* is outside the allowed roots/);
    await refuse({ cwd: inside, images: ['escape/pic.png'] }, /images entry .* is outside the allowed roots/);
    const ok = await conn.call('codex_start', { prompt: 'inside', cwd: inside });
    assert.equal((await waitFinal(conn, ok.job_id)).status, 'completed');
    await conn.close();
  });

  it('bounds prompt size, label length, image and directory counts, and list pages', async () => {
    const conn = await s.h.connect();
    const cwd = s.h.workdir();
    const refuse = async (tool: string, args: Record<string, unknown>, pattern: RegExp) => {
      const r = await conn.raw(tool, args);
      assert.equal(r.isError, true);
      assert.match(r.content[0].text, pattern);
    };
    await refuse('codex_start', { prompt: 'x'.repeat(1024 * 1024 + 1), cwd }, /1048577 characters; codex accepts at most 1048576/);
    await refuse('codex_start', { prompt: 'x', cwd, images: Array(21).fill('a.png') }, /at most 20/);
    await refuse('codex_start', { prompt: 'x', cwd, add_dirs: Array(21).fill('.') }, /at most 20/);
    await refuse('codex_start', { prompt: 'x', cwd, label: 'l'.repeat(201) }, /label is longer than 200 characters/);
    await refuse('codex_list', { limit: 201 }, /limit must be a whole number from 1 to 200/);
    // The largest prompt codex takes, with a character outside the BMP (two UTF-16 units, one character).
    const prompt = `echo-prompt 😀 ${'z'.repeat(1024 * 1024 - 14)}`;
    const big = await conn.call('codex_start', { prompt, cwd });
    assert.equal((await waitFinal(conn, big.job_id)).status, 'completed', 'a prompt of exactly the limit is accepted');
    await conn.close();
  });
});

/** Creates `lock` holding `holder` if nobody holds it. */
function takeLock(lock: string, holder: string): boolean {
  try {
    fs.writeFileSync(lock, holder, { flag: 'wx' });
    return true;
  } catch (err) {
    // Held, or the job's directory not made yet.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST' && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return false;
  }
}

/** The disk-full test mounts an 8 MiB tmpfs, which needs root (CI runs as root). */
function mountSkip(): string | false {
  const dir = tempDir('mnt');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    execFileSync('umount', [dir]);
    return false;
  } catch {
    return 'needs permission to mount a small tmpfs (root)';
  }
}
