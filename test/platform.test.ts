/**
 * The platform seam (src/supervise/platform/): Linux's /proc and the portable ps/lsof path a Mac
 * runs, each asked about the same real processes here, must say the same things; and the shell
 * functions each gives the job's wrapper must work in /bin/sh.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { linux } from '../src/supervise/platform/linux.ts';
import type { Platform } from '../src/supervise/platform/platform.ts';
import { posix } from '../src/supervise/platform/posix.ts';
import { findProcesses, isAlive } from '../src/supervise/proc.ts';
import { cliIn, tempDir, until } from './helpers/harness.ts';

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** A sleeping process in a session of its own, with `env` added to ours, holding `open` open on fd 3. */
function sleeper(env: Record<string, string> = {}, open?: string): ChildProcess {
  const child = spawn('/bin/sh', ['-c', open ? 'exec sleep 30 3<"$0"' : 'exec sleep 30', open ?? ''], { env: { ...process.env, ...env }, detached: true, stdio: 'ignore' });
  children.push(child);
  return child;
}

/** Runs `script` in /bin/sh after the platform's wrapper functions; its stdout. */
const sh = (p: Platform, script: string, env: Record<string, string> = {}) =>
  execFileSync('/bin/sh', ['-c', `${p.shell}\n${script}`], { encoding: 'utf8', env: { ...process.env, node: process.execPath, ...env } }).trim();

/** Seconds since the epoch when a process started, from /proc (boot time + ticks). */
function startedAt(pid: number): number {
  const btime = Number(/^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'))![1]);
  return btime + Number(linux.stat(pid)!.startTime) / 100;
}

describe('the platform seam', () => {
  for (const p of [linux, posix]) {
    it(`${p.name}: a process's parent, group, state and start time, alone and in the table of all`, async () => {
      const child = sleeper();
      await until('the sleeper to exec', () => linux.stat(child.pid!)?.state === 'S');
      const stat = p.stat(child.pid!)!;
      assert.equal(stat.ppid, process.pid);
      assert.equal(stat.pgrp, child.pid, 'its own group (detached)');
      assert.match(stat.state, /^S/);
      assert.ok(p.owns(stat.startTime), `${stat.startTime} is a ${p.name} start time`);
      assert.ok(Math.abs(p.order(stat.startTime) * (p === linux ? 0.01 : 1) - (p === linux ? Number(linux.stat(child.pid!)!.startTime) / 100 : startedAt(child.pid!))) <= 1);
      assert.deepEqual(p.all().find((r) => r.pid === child.pid), { ...stat, pid: child.pid });
      assert.deepEqual(p.stats([child.pid!, 999_999_999]), new Map([[child.pid!, stat]]));
      child.kill('SIGKILL');
      await until('the sleeper to be gone', () => p.stat(child.pid!) === null || /^Z/.test(p.stat(child.pid!)!.state));
    });

    it(`${p.name}: the environment shows a marker only where it was set`, async () => {
      const marked = sleeper({ CODEX_ASYNC_JOB_ID: 'abcdefabcdef.3' });
      const other = sleeper({ CODEX_ASYNC_JOB_ID: 'abcdefabcdef.30' });
      await until('both to exec', () => linux.stat(marked.pid!)?.state === 'S' && linux.stat(other.pid!)?.state === 'S');
      const envs = p.environments([marked.pid!, other.pid!]);
      assert.ok(p.carries(envs.get(marked.pid!)!, 'CODEX_ASYNC_JOB_ID=abcdefabcdef.3'));
      assert.ok(!p.carries(envs.get(other.pid!)!, 'CODEX_ASYNC_JOB_ID=abcdefabcdef.3'), 'a longer value is another marker');
      assert.ok(!p.carries(envs.get(marked.pid!)!, 'CODEX_ASYNC_JOB_ID=abcdefabcdef'));
    });

    it(`${p.name}: who holds a file open, and which TCP ports are listened on`, async () => {
      const file = path.join(fs.realpathSync(tempDir('held')), 'db');
      fs.writeFileSync(file, '');
      const holder = sleeper({}, file);
      await until('the holder to exec', () => linux.stat(holder.pid!)?.state === 'S');
      assert.deepEqual(p.holders([file]), [holder.pid]);
      holder.kill('SIGKILL');
      await until('the holder to be gone', () => p.holders([file]).length === 0);
      const server = net.createServer().listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      const port = (server.address() as net.AddressInfo).port;
      try {
        assert.ok(p.listening().has(port), `port ${port} is seen listening`);
      } finally {
        server.close();
      }
    });

    it(`${p.name}: the wrapper's functions: its own start time, another's identity, a callback in a session of its own`, async () => {
      const [pid, st] = sh(p, 'selfstart; echo "$$ $st"; exec sleep 0.5').split(' ');
      assert.ok(p.owns(st!), `selfstart gave ${st}`);
      const child = sleeper();
      await until('the sleeper to exec', () => linux.stat(child.pid!)?.state === 'S');
      const start = p.stat(child.pid!)!.startTime;
      assert.equal(sh(p, `alive_as ${child.pid} '${start}' && echo yes || echo no`), 'yes');
      const earlier = p === linux ? String(Number(start) - 100) : 'Mon_Jan_1_00:00:00_2024';
      assert.equal(sh(p, `alive_as ${child.pid} '${earlier}' && echo yes || echo no`), 'no', 'another start time is another process');
      assert.equal(sh(p, `alive_as ${pid} '${st}' && echo yes || echo no`), 'no', 'an exited shell is gone');
      // Asked twice in one wrapper (its wait loop), across the process's end.
      // Not our child (its shell exits at once): it is reaped by init, not left a zombie while this process waits on sh.
      const orphan = Number(execFileSync('/bin/sh', ['-c', 'sleep 30 > /dev/null 2>&1 & echo $!'], { encoding: 'utf8' }));
      await until('the orphan to exec', () => linux.stat(orphan)?.state === 'S');
      const orphanStart = p.stat(orphan)!.startTime;
      const loop = `alive_as ${orphan} '${orphanStart}' && echo yes || echo no; kill -9 ${orphan}; n=0; while kill -0 ${orphan} 2>/dev/null && [ $n -lt 200 ]; do sleep 0.05; n=$((n + 1)); done; alive_as ${orphan} '${orphanStart}' && echo yes || echo no`;
      assert.deepEqual(sh(p, loop).split('\n'), ['yes', 'no'], 'alive while it runs, gone once it ended');
      // A zombie: `sleep 0` exits, and its parent (exec'd into sleep) never reaps it.
      const zombie = spawn('/bin/sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
      children.push(zombie);
      const zpid = Number(await new Promise<string>((r) => zombie.stdout!.once('data', (d) => r(String(d)))));
      await until('the zombie', () => /^Z/.test(linux.stat(zpid)?.state ?? ''));
      assert.equal(sh(p, `alive_as ${zpid} '${p.stat(zpid)!.startTime}' && echo yes || echo no`), 'no', 'a zombie is gone');
      const out = path.join(tempDir('detached'), 'sid');
      sh(p, `detached /bin/sh -c 'ps -o sid= -p $$ > "$0"; echo $$ >> "$0"' '${out}'`);
      const lines = await until('the detached command to write', () => {
        const written = fs.existsSync(out) ? fs.readFileSync(out, 'utf8').trim().split('\n') : [];
        return written.length === 2 ? written : null;
      });
      const [sid, callee] = lines.map((l) => l.trim());
      assert.equal(sid, callee, 'it leads a session of its own');
    });
  }

  it('Linux lists every bound Unix socket, a path with a space included, and not one closed since; the portable path has no such list', async () => {
    const dir = path.join(tempDir('bound'), 'a b');
    fs.mkdirSync(dir);
    const [open, closed] = [path.join(dir, 'open.sock'), path.join(dir, 'closed.sock')];
    const servers = [net.createServer().listen(open), net.createServer().listen(closed)];
    await Promise.all(servers.map((server) => new Promise((r) => server.once('listening', r))));
    await new Promise((r) => servers[1]!.close(r));
    try {
      const bound = linux.boundSockets!();
      assert.ok(bound.includes(open), `${open} in ${JSON.stringify(bound.filter((p) => p.startsWith('/tmp')).slice(0, 5))}`);
      assert.ok(!bound.includes(closed));
      assert.equal(posix.boundSockets, undefined);
    } finally {
      servers[0]!.close();
    }
  });

  it('a start time recorded on either path names the same process here', async () => {
    const child = sleeper();
    await until('the sleeper to exec', () => linux.stat(child.pid!)?.state === 'S');
    assert.ok(isAlive(child.pid!, linux.stat(child.pid!)!.startTime));
    assert.ok(isAlive(child.pid!, posix.stat(child.pid!)!.startTime));
    assert.ok(!isAlive(child.pid!, 'Mon_Jan_1_00:00:00_2024'));
  });

  it("a job's processes: its group while trusted, its marker's carriers anywhere, and their descendants even with the environment cleared", async () => {
    const marker = 'CODEX_ASYNC_JOB_ID=0123456789ab.7';
    const carrier = spawn('/bin/sh', ['-c', 'env -i /bin/sleep 30 & exec sleep 30'], { env: { ...process.env, CODEX_ASYNC_JOB_ID: '0123456789ab.7' }, detached: true, stdio: 'ignore' });
    children.push(carrier);
    const unmarked = sleeper();
    await until('both to exec', () => linux.stat(carrier.pid!)?.state === 'S' && linux.stat(unmarked.pid!)?.state === 'S');
    const cleared = await until('the child with a cleared environment', () => linux.all().find((r) => r.ppid === carrier.pid));
    const query = { pgid: null, trustGroup: false, markers: [marker], anySession: true, since: null };
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(findProcesses(query).map((s) => s.pid).sort(), [carrier.pid, cleared.pid].sort());
    await new Promise((r) => setImmediate(r));
    const since = linux.stat(process.pid)!.startTime;
    assert.deepEqual(findProcesses({ ...query, pgid: unmarked.pid!, trustGroup: true, since }).map((s) => s.pid).sort(), [carrier.pid, cleared.pid, unmarked.pid].sort());
  });
});

describe('the platform a server supervises with', () => {
  const env = (extra: Record<string, string>) => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tempDir('user'), CODEX_ASYNC_HOME: path.join(tempDir('home'), 'state'), ...extra });

  it('doctor names it: Linux natively; the portable one when forced, having seen ps show a process environment', async () => {
    assert.match((await cliIn(env({}), ['doctor'])).stdout, /supervision\s+Linux: \/proc, setsid and fallocate/);
    assert.match((await cliIn(env({ CODEX_ASYNC_PLATFORM: 'posix' }), ['doctor'])).stdout, /supervision\s+portable: ps \(environments shown\) and lsof/);
  });

  it('an unknown CODEX_ASYNC_PLATFORM stops the start with what it may be', async () => {
    const r = await cliIn(env({ CODEX_ASYNC_PLATFORM: 'macos' }), ['ls']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /CODEX_ASYNC_PLATFORM: .*"linux"\|"posix"/);
  });
});
