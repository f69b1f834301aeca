import type { Redis } from 'ioredis';
import type { FleetConfig } from '../config.js';
import type { Check } from '../engine/health.js';
import { connect, Keys, redactUrl, redisProblem } from './redis.js';
import { readRunners } from './shared.js';

/** BullMQ's scripts need Redis 6.2 (GETDEL, the LMOVE family, ZRANGE … BYSCORE). */
const MIN_VERSION = [6, 2] as const;
/** A Redis that accepts the connection but never answers (a wrong port, a proxy) must not hang doctor. */
const ANSWER_MS = 10_000;

/**
 * The fleet's side of doctor, read-only: Redis answers and takes our credentials, is new enough for
 * BullMQ, keeps its data across a restart, never evicts our keys; and which runners are connected.
 */
export async function checkFleet(config: FleetConfig, now = Date.now()): Promise<Check[]> {
  const redis = connect(config.url, { name: 'codex-async-doctor' });
  const failed = (err: unknown): Check[] => [{ name: 'redis', level: 'fail', detail: redisProblem(err, config.url, redis).message }];
  let timer: NodeJS.Timeout | undefined;
  const silent = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ANSWER_MS / 1000} s`)), ANSWER_MS);
  });
  // What is still pending when the time is up fails later, once disconnected: nobody waits for it then.
  const inTime = <T>(work: Promise<T>) => {
    work.catch(() => undefined);
    return Promise.race([work, silent]);
  };
  try {
    await inTime(redis.ping());
    const keys = new Keys(config.prefix);
    const reachable: Check = { name: 'redis', level: 'ok', detail: `${redactUrl(config.url)} answers (keys under "${config.prefix}:")` };
    return await inTime(
      (async () => [reachable, await checkVersion(redis), await checkPersistence(redis), await checkMemoryPolicy(redis), ...(await checkRunners(redis, keys, config, now))])(),
    );
  } catch (err) {
    return failed(err);
  } finally {
    clearTimeout(timer);
    if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
    else redis.disconnect();
  }
}

async function checkVersion(redis: Redis): Promise<Check> {
  const name = 'redis version';
  let version: string | undefined;
  try {
    version = parseInfo(await redis.info('server')).redis_version;
  } catch (err) {
    return cannotCheck(name, 'INFO server', err);
  }
  if (!version) return { name, level: 'warn', detail: 'INFO server names no redis_version: cannot tell whether BullMQ can use this server', fix: 'use Redis 6.2 or newer' };
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major < MIN_VERSION[0] || (major === MIN_VERSION[0] && minor < MIN_VERSION[1])) {
    return { name, level: 'fail', detail: `Redis ${version}: BullMQ needs ${MIN_VERSION.join('.')} or newer`, fix: 'upgrade Redis to 6.2 or newer (7.x recommended)' };
  }
  return { name, level: 'ok', detail: `Redis ${version}` };
}

/** Queued jobs, their records and results live only in Redis: a restart without persistence forgets them. */
async function checkPersistence(redis: Redis): Promise<Check> {
  const name = 'persistence';
  let aof: boolean;
  try {
    aof = parseInfo(await redis.info('persistence')).aof_enabled === '1';
  } catch (err) {
    return cannotCheck(name, 'INFO persistence', err);
  }
  if (aof) return { name, level: 'ok', detail: 'append-only file on: a restart keeps queued jobs and results' };
  let save: string;
  try {
    save = (await configGet(redis, 'save')) ?? '';
  } catch (err) {
    // A managed Redis often hides CONFIG but snapshots on its own; we cannot tell.
    return cannotCheck(name, 'CONFIG GET save', err, 'make sure it persists its data (appendonly yes), or queued jobs and results vanish if it restarts');
  }
  if (save.trim()) {
    return { name, level: 'ok', detail: `RDB snapshots only (save ${save}): a restart loses what changed since the last snapshot; appendonly yes closes that window` };
  }
  return {
    name,
    level: 'warn',
    detail: 'no persistence (appendonly no, no save points): queued jobs and results vanish if Redis restarts',
    fix: 'enable appendonly yes (`CONFIG SET appendonly yes`, and `appendonly yes` in redis.conf)',
  };
}

/** Any other policy lets Redis drop BullMQ's keys and job records under memory pressure. */
async function checkMemoryPolicy(redis: Redis): Promise<Check> {
  const name = 'memory policy';
  let policy: string | undefined;
  try {
    policy = await configGet(redis, 'maxmemory-policy');
  } catch {
    // CONFIG is often denied (an ACL, a managed service); INFO memory says the same.
    try {
      policy = parseInfo(await redis.info('memory')).maxmemory_policy;
    } catch (err) {
      return cannotCheck(name, 'CONFIG GET maxmemory-policy or INFO memory', err, 'make sure maxmemory-policy is noeviction');
    }
  }
  if (!policy) return { name, level: 'warn', detail: 'maxmemory-policy could not be read', fix: 'make sure maxmemory-policy is noeviction' };
  if (policy === 'noeviction') return { name, level: 'ok', detail: 'maxmemory-policy noeviction' };
  return {
    name,
    level: 'fail',
    detail: `maxmemory-policy is ${policy}: Redis may evict queued jobs, job records and runner heartbeats when memory runs short`,
    fix: 'run `CONFIG SET maxmemory-policy noeviction` and put `maxmemory-policy noeviction` in redis.conf (or your provider\'s parameter group)',
  };
}

/** Every runner ever seen: live ones (their heartbeat key is there) with their load, gone ones since when. */
async function checkRunners(redis: Redis, keys: Keys, config: FleetConfig, now: number): Promise<Check[]> {
  const url = config.url;
  let runners: Awaited<ReturnType<typeof readRunners>>;
  try {
    runners = await readRunners(redis, keys);
  } catch (err) {
    // An ACL without our keys: front ends and runners would be refused the same way.
    return [{ name: 'runners', level: 'fail', detail: redisProblem(err, url, redis).message }];
  }
  const checks: Check[] = [];
  const gone: Check[] = [];
  for (const [id, seen] of runners.seen) {
    const info = runners.alive.get(id);
    if (info) {
      const labels = info.labels.length ? `labels ${info.labels.join(',')}` : 'no labels';
      const agents = info.agents.length ? `agents ${info.agents.join(',')}` : 'no agents found';
      checks.push({
        name: 'runner',
        level: 'ok',
        detail: `${id} on ${info.host}: ${info.running}/${info.concurrency} jobs, ${labels}, ${agents}, last heartbeat ${since(now - info.beat_at)} ago`,
      });
    } else {
      gone.push({
        name: 'runner',
        level: 'warn',
        detail: `${id} on ${seen.host} gone since ${new Date(seen.beat_at).toISOString()} (${since(now - seen.beat_at)} ago): its unfinished jobs read as running with the runner unreachable, and are given up as lost ${since(config.lostAfterMs)} after its last heartbeat (CODEX_ASYNC_FLEET_LOST_AFTER)`,
        fix: `start \`codex-async-mcp runner\` on ${seen.host} again; if that machine is retired, forget it: HDEL ${keys.runnersSeen} ${id}`,
      });
    }
  }
  if (!checks.length) {
    checks.push({
      name: 'runners',
      level: 'warn',
      detail: 'no runner is connected: jobs stay queued until one starts (codex-async-mcp runner)',
      fix: 'run `codex-async-mcp runner` with the same CODEX_ASYNC_REDIS_URL on a machine with the agents',
    });
  }
  return [...checks, ...gone];
}

/** `CONFIG GET` of one parameter; undefined when the server does not know it. */
async function configGet(redis: Redis, parameter: string): Promise<string | undefined> {
  const reply = (await redis.config('GET', parameter)) as string[];
  return reply[1];
}

/** INFO's `key:value` lines. */
function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0 && !line.startsWith('#')) fields[line.slice(0, at)] = line.slice(at + 1);
  }
  return fields;
}

function cannotCheck(name: string, command: string, err: unknown, fix?: string): Check {
  const said = ((err as Error).message ?? String(err)).split('\n')[0];
  return { name, level: 'warn', detail: `could not be checked: ${command} was refused (${said})`, ...(fix ? { fix } : {}) };
}

/** 1.2 s, 4 min, 3 h, 2 d: a heartbeat every 2 s wants tenths, a runner gone for days does not. */
function since(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 2 * 86400) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}
