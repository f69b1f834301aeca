import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseJsonLine } from '../src/agents/json.ts';
import { capLog } from '../src/jobs/logcap.ts';
import { linux } from '../src/supervise/platform/linux.ts';
import { posix } from '../src/supervise/platform/posix.ts';
import { startTimeOf } from '../src/supervise/proc.ts';
import { tempDir, until } from './helpers/harness.ts';

const MiB = 1 << 20;

/** `lines` numbered 100-byte lines, as a log's known content. */
function seedLines(lines: number): Buffer {
  return Buffer.from(Array.from({ length: lines }, (_, i) => `seed ${String(i).padStart(8, '0')} ${'x'.repeat(85)}\n`).join(''));
}

/** Runs `fn` with the environment changed as given (undefined: unset), then puts it back. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, value] of Object.entries(v)) {
      if (value === undefined) delete process.env[k];
      else process.env[k] = value;
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

/** Runs of NUL bytes in `buf` (where a log reads as zeros): [start, end) each. */
function zeroRuns(buf: Buffer, from: number): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  for (let i = buf.indexOf(0, from); i !== -1; ) {
    let j = i;
    while (j < buf.length && buf[j] === 0) j++;
    runs.push([i, j]);
    i = buf.indexOf(0, j);
  }
  return runs;
}

describe('log cap without hole punching (truncate and restore the tail)', () => {
  it('caps a log a writer holds open without O_APPEND: about the cap on disk, every position kept, the writer goes on after it', async (t) => {
    const dir = tempDir('logcap');
    const log = path.join(dir, 'events.jsonl');
    const seed = seedLines(80_000); // 8,000,000 bytes
    fs.writeFileSync(path.join(dir, 'seed'), seed);
    // As the job's wrapper opens its logs (`>`: O_TRUNC, no O_APPEND): the writer keeps its own offset.
    const writer = spawn('/bin/sh', ['-c', 'exec 3>"$1"; cat "$2" >&3; i=0; while [ ! -e "$3" ]; do echo "w $i" >&3; i=$((i+1)); done; echo "the last line" >&3', 'sh', log, path.join(dir, 'seed'), path.join(dir, 'stop')], { stdio: 'ignore' });
    const exited = new Promise((resolve) => writer.on('exit', resolve));
    try {
      await until('the writer to be writing lines after the seed', () => fs.existsSync(log) && fs.statSync(log).size > seed.length + 64 * 1024);
      const before = fs.statSync(log);
      const cap = 4 * MiB;
      const keepFrom = seed.length - 3 * MiB - 123;
      const punched = await capLog(log, cap, keepFrom, 0, posix);
      const right = fs.statSync(log);
      assert.equal(punched, Math.floor(keepFrom / 4096) * 4096, 'everything before keepFrom, to a block, is freed');
      assert.ok(right.size >= before.size, 'the file keeps its length');
      fs.writeFileSync(path.join(dir, 'stop'), '');
      await exited;

      const after = fs.statSync(log);
      const data = fs.readFileSync(log);
      t.diagnostic(`log ${before.size} bytes, ${before.blocks * 512} on disk before the cap; ${after.size} bytes, ${after.blocks * 512} on disk after (cap ${cap}, freed up to ${punched})`);
      assert.ok(after.blocks * 512 <= after.size - punched + 256 * 1024, `about the cap on disk: ${after.blocks * 512} bytes for ${after.size - punched} kept`);
      assert.ok(after.blocks * 512 < before.blocks * 512 / 2, 'the space is freed');
      assert.ok(data.subarray(0, punched).equals(Buffer.alloc(punched)), 'the freed part reads as zeros');
      assert.ok(data.subarray(punched, seed.length).equals(seed.subarray(punched)), 'from keepFrom on, every byte is where it was');
      // The writer went on at its own offset: its lines follow the seed in order, and its last line ends the file.
      assert.ok(data.subarray(data.length - 14).equals(Buffer.from('the last line\n')), 'the writer\'s later writes land after the kept part');
      const lost = zeroRuns(data, punched);
      t.diagnostic(`lost to the race (a write between the last fstat and the ftruncate): ${lost.map(([a, b]) => `${b - a} bytes at ${a}`).join(', ') || 'nothing'}`);
      assert.ok(lost.length <= 1, 'at most one write window is lost');
      for (const [start] of lost) assert.ok(start >= before.size, 'only what was written while the cap ran can be lost');
      const numbers = data.subarray(seed.length, data.length - 14).toString('latin1').split('\n').filter((l) => /^w \d+$/.test(l)).map((l) => Number(l.slice(2)));
      const gaps = numbers.filter((n, i) => i > 0 && n !== numbers[i - 1] + 1).length;
      assert.ok(numbers.length > 1000 && gaps <= lost.length, `the writer's lines are in order (${numbers.length} lines, ${gaps} gaps)`);
    } finally {
      fs.writeFileSync(path.join(dir, 'stop'), '');
      await exited;
    }
  });

  it('an event behind the zeros a lost write leaves is still read', () => {
    assert.deepEqual(parseJsonLine('\0\0\0{"type":"turn.completed"}'), { type: 'turn.completed' });
  });

  it('falls back to truncating where fallocate cannot punch a hole (here: not found)', async () => {
    const dir = tempDir('logcap-nofallocate');
    const log = path.join(dir, 'stderr.log');
    const seed = seedLines(80_000);
    fs.writeFileSync(log, seed);
    const punched = await withEnv({ PATH: dir }, () => capLog(log, 2 * MiB, Number.MAX_SAFE_INTEGER, 0, linux));
    const st = fs.statSync(log);
    assert.equal(punched, Math.floor((seed.length - MiB) / 4096) * 4096);
    assert.equal(st.size, seed.length);
    assert.ok(st.blocks * 512 <= seed.length - punched + 64 * 1024, `${st.blocks * 512} bytes on disk`);
    assert.ok(fs.readFileSync(log).subarray(punched).equals(seed.subarray(punched)));
  });

  it('leaves a log alone while another process caps it (its lock file), and takes a lock whose holder is gone at once', async () => {
    const dir = tempDir('logcap-lock');
    const log = path.join(dir, 'events.jsonl');
    const lock = `${log}.cap`;
    const seed = seedLines(40_000);
    fs.writeFileSync(log, seed);
    const holder = await otherProcess();
    try {
      fs.writeFileSync(lock, `${holder.identity}\n`);
      assert.equal(await capLog(log, MiB, Number.MAX_SAFE_INTEGER, 0, posix), 0, 'nothing done while a living process holds the lock');
      assert.ok(fs.readFileSync(log).equals(seed));
      assert.ok(fs.existsSync(lock), 'a live lock stays');
    } finally {
      await holder.end();
    }
    // Its holder died capping (a server killed mid-cap): the lock is fresh, but nobody is behind it.
    const punched = await capLog(log, MiB, Number.MAX_SAFE_INTEGER, 0, posix);
    assert.ok(punched > 0 && fs.statSync(log).blocks * 512 < seed.length / 2, 'the log is capped at once');
    assert.ok(!fs.existsSync(lock), 'and its own lock is gone');
  });

  it('a lock naming no holder (an older version\'s) is left alone until stale, then cleared and the log capped', async () => {
    const dir = tempDir('logcap-oldlock');
    const log = path.join(dir, 'events.jsonl');
    const seed = seedLines(40_000);
    fs.writeFileSync(log, seed);
    fs.writeFileSync(`${log}.cap`, '');
    assert.equal(await capLog(log, MiB, Number.MAX_SAFE_INTEGER, 0, posix), 0, 'nothing done while the lock is fresh');
    const old = new Date(Date.now() - 10 * 60_000);
    fs.utimesSync(`${log}.cap`, old, old);
    const punched = await capLog(log, MiB, Number.MAX_SAFE_INTEGER, 0, posix);
    assert.ok(punched > 0 && fs.statSync(log).blocks * 512 < seed.length / 2, 'a stale lock is cleared and the log capped');
    assert.ok(!fs.existsSync(`${log}.cap`));
  });

  it('the last cap of a finished job waits out another process\'s cap of the log, then caps it', async () => {
    const dir = tempDir('logcap-last');
    const log = path.join(dir, 'events.jsonl');
    const lock = `${log}.cap`;
    const seed = seedLines(40_000);
    fs.writeFileSync(log, seed);
    const holder = await otherProcess();
    try {
      fs.writeFileSync(lock, `${holder.identity}\n`);
      let settled = false;
      const last = capLog(log, MiB, Number.MAX_SAFE_INTEGER, 0, posix, true).finally(() => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.equal(settled, false, 'it waits while the other cap holds the lock');
      assert.ok(fs.readFileSync(log).equals(seed), 'and leaves the log to it meanwhile');
      fs.rmSync(lock); // the other cap is done
      const punched = await last;
      assert.equal(punched, Math.floor((seed.length - MiB / 2) / 4096) * 4096);
      assert.ok(fs.statSync(log).blocks * 512 <= MiB, 'then the log is capped');
      assert.ok(fs.readFileSync(log).subarray(punched).equals(seed.subarray(punched)), 'its tail where it was');
      assert.ok(!fs.existsSync(lock));
    } finally {
      await holder.end();
    }
  });

  it('keeps at most half the cap of what a writer adds while the cap runs: a writer that outpaces it leaves zeros before its newest part', async () => {
    const dir = tempDir('logcap-outpaced');
    const log = path.join(dir, 'events.jsonl');
    const seed = seedLines(80_000);
    fs.writeFileSync(log, seed);
    // The writer as the wrapper opens a log (its own offset, no O_APPEND), in this process: 8 MiB at
    // every turn of the event loop, so it outpaces the cap's reading on any machine, under any load.
    const fd = fs.openSync(log, 'r+');
    const block = Buffer.from(Array.from({ length: 80 * 1024 }, (_, i) => `w ${String(i).padStart(8, '0')} ${'y'.repeat(88)}\n`).join(''));
    let offset = seed.length;
    let writing = true;
    const write = () => {
      if (!writing) return;
      offset += fs.writeSync(fd, block, 0, block.length, offset);
      setImmediate(write);
    };
    setImmediate(write);
    const cap = 4 * MiB;
    let punched: number;
    try {
      punched = await capLog(log, cap, Number.MAX_SAFE_INTEGER, 0, posix);
    } finally {
      writing = false;
      fs.closeSync(fd);
    }
    const st = fs.statSync(log);
    const data = fs.readFileSync(log);
    assert.equal(st.size, offset, 'the writer was not written over');
    assert.ok(offset - seed.length >= block.length, 'the writer wrote while the cap ran');
    assert.equal(punched, Math.floor((seed.length - cap / 2) / 4096) * 4096);
    assert.ok(st.blocks * 512 <= cap + 64 * 1024, `about the cap on disk: ${st.blocks * 512} bytes (the writer added ${offset - seed.length})`);
    assert.ok(data.subarray(punched, seed.length).equals(seed.subarray(punched)), 'what was there before the cap is kept');
    assert.ok(data.subarray(offset - cap / 2).equals(block.subarray(block.length - cap / 2)), 'the writer\'s newest half of the cap is kept');
    assert.deepEqual(zeroRuns(data, punched), [[seed.length, offset - cap / 2]], 'what it wrote before that reads as zeros');
  });
});

/** Another living process, named as a lock's holder names it (pid and start time). */
async function otherProcess(): Promise<{ identity: string; end: () => Promise<void> }> {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const start = await until('the process to have a start time', () => startTimeOf(child.pid!));
  return {
    identity: `${child.pid} ${start}`,
    end: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
