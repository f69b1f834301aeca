import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT, until, useServer, waitFinal } from './helpers/harness.ts';

/**
 * Holds the database's write lock in another process: BEGIN IMMEDIATE, then a blocking sleep
 * (better-sqlite3 is synchronous, so the lock cannot be held across this test's event loop), then
 * COMMIT. Prints "locked" once it holds the lock and "released" after the commit.
 */
function holdWriteLock(dbFile: string, ms: number) {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1], { timeout: 10000 });
    db.exec('BEGIN IMMEDIATE');
    db.prepare("UPDATE jobs SET label = label WHERE 0").run();
    process.stdout.write('locked\\n');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(process.argv[2]));
    db.exec('COMMIT');
    db.close();
    process.stdout.write('released\\n');
  `;
  const child = spawn(process.execPath, ['-e', script, dbFile, String(ms)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    locked: () => until('the lock holder to take the lock', () => {
      if (child.exitCode !== null) throw new Error(`lock holder exited early: ${err}`);
      return out.includes('locked');
    }),
    output: () => out,
    exited,
  };
}

describe('a busy database', () => {
  const s = useServer();

  it('DB busy: another process holds the write lock for seconds; calls wait and succeed', async () => {
    const cwd = s.h.workdir();
    // A job whose codex most likely finishes while the lock is held: its outcome is recorded once the lock is free.
    const before = await s.conn.call('codex_start', { prompt: '[[slow:1000]] finishes under the lock', cwd });
    const holder = holdWriteLock(path.join(s.h.home, 'jobs.db'), 3000);
    await holder.locked();

    const [start, list, poll] = await Promise.all([
      s.conn.raw('codex_start', { prompt: 'started under the lock', cwd }),
      s.conn.raw('codex_list', {}),
      s.conn.raw('codex_poll', { job_id: before.job_id }),
    ]);
    for (const [name, r] of [['codex_start', start], ['codex_list', list], ['codex_poll', poll]] as const) {
      assert.notEqual(r.isError, true, `${name} failed: ${r.content?.[0]?.text}`);
    }
    assert.equal(await holder.exited, 0, 'the lock holder committed');
    assert.match(holder.output(), /released/);

    const job_id = start.structuredContent.job_id;
    assert.ok(list.structuredContent.jobs.some((j: any) => j.job_id === before.job_id));
    const done = await waitFinal(s.conn, job_id, 60);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.last_message, 'mock answer: started under the lock');
    const first = await waitFinal(s.conn, before.job_id, 60);
    assert.equal(first.status, 'completed', JSON.stringify(first.error));
    assert.equal(first.last_message, 'mock answer: [[slow:1000]] finishes under the lock');
  });
});
