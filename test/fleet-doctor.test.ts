import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { cliIn, useHarness } from './helpers/harness.ts';
import { freePort, REDIS_MISSING, startRedis, type RedisServer } from './helpers/redis.ts';

interface Check {
  name: string;
  level: 'ok' | 'info' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

describe('doctor in a fleet (CODEX_ASYNC_REDIS_URL set)', { skip: REDIS_MISSING }, () => {
  const s = useHarness();
  let redis: RedisServer;
  let admin: Redis;
  before(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
  });
  after(async () => {
    admin.disconnect();
    await redis.stop();
  });

  /** `doctor --json` against this Redis: its exit code, stdout, and the fleet's checks (after the local ones). */
  const doctor = async (url: string, extra: Record<string, string> = {}) => {
    const r = await cliIn(s.h.env({ CODEX_ASYNC_REDIS_URL: url, ...extra }), ['doctor', '--json']);
    const report = JSON.parse(r.stdout) as { ok: boolean; checks: Check[] };
    const first = report.checks.findIndex((c) => c.name === 'redis');
    assert.ok(first >= 0, `no redis check in ${r.stdout}`);
    const fleet = report.checks.slice(first);
    const one = (name: string) => {
      const found = fleet.filter((c) => c.name === name);
      assert.equal(found.length, 1, `one "${name}" check in ${JSON.stringify(fleet, null, 1)}`);
      return found[0]!;
    };
    return { code: r.code, stdout: r.stdout, ok: report.ok, fleet, one };
  };

  it('checks a reachable Redis: it answers, its version, noeviction; warns it keeps nothing across a restart and no runner is connected', async () => {
    const d = await doctor(redis.url);
    assert.equal(d.one('redis').level, 'ok');
    assert.match(d.one('redis').detail, new RegExp(`redis://127\\.0\\.0\\.1:${redis.port}`));
    assert.equal(d.one('redis version').level, 'ok');
    assert.match(d.one('redis version').detail, /^Redis 7\./);
    assert.equal(d.one('persistence').level, 'warn');
    assert.match(d.one('persistence').detail, /queued jobs and results vanish if Redis restarts/);
    assert.match(d.one('persistence').fix!, /appendonly yes/);
    assert.deepEqual([d.one('memory policy').level, d.one('memory policy').detail], ['ok', 'maxmemory-policy noeviction']);
    assert.equal(d.one('runners').level, 'warn');
    assert.match(d.one('runners').detail, /no runner is connected: jobs stay queued until one starts \(codex-async-mcp runner\)/);
    // The local checks still run (this machine may be a runner too), and warnings do not fail doctor.
    assert.equal(d.ok, true, d.stdout);
    assert.equal(d.code, 0);

    await admin.config('SET', 'appendonly', 'yes');
    try {
      const aof = await doctor(redis.url);
      assert.equal(aof.one('persistence').level, 'ok');
      assert.match(aof.one('persistence').detail, /append-only file on/);
    } finally {
      await admin.config('SET', 'appendonly', 'no');
    }
  });

  it('fails a maxmemory-policy that evicts, with the fix; reads it from INFO when the user may not run CONFIG', async () => {
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    await admin.acl('SETUSER', 'limited', 'on', '>limited-pw', '~*', '&*', '+@all', '-config');
    try {
      const d = await doctor(redis.url);
      const policy = d.one('memory policy');
      assert.equal(policy.level, 'fail');
      assert.match(policy.detail, /maxmemory-policy is allkeys-lru/);
      assert.match(policy.fix!, /CONFIG SET maxmemory-policy noeviction/);
      assert.match(policy.fix!, /`maxmemory-policy noeviction` in redis\.conf/);
      assert.equal(d.ok, false);
      assert.equal(d.code, 1);

      const limited = await doctor(`redis://limited:limited-pw@127.0.0.1:${redis.port}`);
      assert.equal(limited.one('memory policy').level, 'fail');
      assert.match(limited.one('memory policy').detail, /maxmemory-policy is allkeys-lru/);
      // Without CONFIG the snapshot schedule is unknown: said, not guessed.
      assert.equal(limited.one('persistence').level, 'warn');
      assert.match(limited.one('persistence').detail, /could not be checked: CONFIG GET save was refused \(NOPERM/);
    } finally {
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.acl('DELUSER', 'limited');
    }
  });

  it('fails a wrong or missing password, naming the URL with the password hidden', async () => {
    const locked = await startRedis({ password: 'right-password' });
    try {
      const wrong = await doctor(locked.url.replace('right-password', 'wrong-password'));
      const check = wrong.one('redis');
      assert.equal(check.level, 'fail');
      assert.match(check.detail, new RegExp(`^Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${locked.port} refused our credentials \\(WRONGPASS`));
      assert.match(check.detail, /check the user and password in CODEX_ASYNC_REDIS_URL/);
      assert.doesNotMatch(wrong.stdout, /wrong-password|right-password/);
      assert.equal(wrong.code, 1);

      const none = await doctor(`redis://127.0.0.1:${locked.port}`);
      assert.equal(none.one('redis').level, 'fail');
      assert.match(none.one('redis').detail, /refused our credentials \(NOAUTH/);

      const right = await doctor(locked.url);
      assert.equal(right.one('redis').level, 'ok');
      assert.doesNotMatch(right.stdout, /right-password/);
    } finally {
      await locked.stop();
    }
  });

  it('names each runner: a live one with its jobs, labels, agents and heartbeat; a gone one since its last heartbeat', async () => {
    // Written as runners write them, under another fleet's prefix: doctor reads only its own.
    const prefix = 'team7';
    const now = Date.now();
    const live = { id: 'r-live', host: 'build-1', pid: 4242, labels: ['gpu', 'linux'], concurrency: 4, running: 1, version: '0.1.0', agents: ['codex', 'claude'], started_at: now - 60_000, beat_at: now };
    const gone = { ...live, id: 'r-gone', host: 'old-box', labels: [], agents: ['codex'], running: 2, beat_at: now - 2 * 3600_000 };
    await admin.hset(`${prefix}:runners`, live.id, JSON.stringify(live), gone.id, JSON.stringify(gone));
    // A heartbeat's TTL is 10 s; a long one keeps the test deterministic on a loaded machine.
    await admin.set(`${prefix}:runner:${live.id}`, JSON.stringify(live), 'EX', 600);
    try {
      const d = await doctor(redis.url, { CODEX_ASYNC_REDIS_PREFIX: prefix });
      const runners = d.fleet.filter((c) => c.name === 'runner');
      assert.equal(runners.length, 2, JSON.stringify(d.fleet, null, 1));
      assert.equal(runners[0]!.level, 'ok');
      assert.match(runners[0]!.detail, /^r-live on build-1: 1\/4 jobs, labels gpu,linux, agents codex,claude, last heartbeat [\d.]+ (s|min) ago$/);
      assert.equal(runners[1]!.level, 'warn');
      assert.match(runners[1]!.detail, new RegExp(`^r-gone on old-box gone since ${new Date(gone.beat_at).toISOString().replace(/\./g, '\\.')} \\(2 h ago\\): its unfinished jobs read as running with the runner unreachable, and are given up as lost 10 min after its last heartbeat \\(CODEX_ASYNC_FLEET_LOST_AFTER\\)$`));
      assert.match(runners[1]!.fix!, /HDEL team7:runners r-gone/);
      assert.equal(d.fleet.some((c) => c.name === 'runners'), false, 'a live runner: no "no runner" warning');

      // The default prefix sees none of them.
      assert.equal((await doctor(redis.url)).one('runners').level, 'warn');
    } finally {
      await admin.del(`${prefix}:runners`, `${prefix}:runner:${live.id}`);
    }
  });

  it('fails an unreachable Redis (nothing listening on the port) without waiting', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const d = await doctor(`redis://127.0.0.1:${port}`);
    assert.equal(d.one('redis').level, 'fail');
    assert.match(d.one('redis').detail, new RegExp(`^cannot reach the fleet's Redis at redis://127\\.0\\.0\\.1:${port} \\(connect ECONNREFUSED`));
    assert.equal(d.fleet.length, 1, 'nothing else is asked of a Redis that is not there');
    assert.equal(d.code, 1);
  });

  it('fails a server that takes the connection but never answers, instead of hanging', { timeout: 120_000 }, async () => {
    const mute = net.createServer((socket) => socket.on('error', () => undefined));
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    const { port } = mute.address() as net.AddressInfo;
    try {
      const d = await doctor(`redis://127.0.0.1:${port}`);
      assert.equal(d.one('redis').level, 'fail');
      assert.match(d.one('redis').detail, /cannot reach the fleet's Redis at .* \(no answer within 10 s\)/);
      assert.equal(d.code, 1);
    } finally {
      mute.close();
    }
  });
});
