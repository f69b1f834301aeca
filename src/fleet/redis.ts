import { Redis, type RedisOptions } from 'ioredis';
import type { FleetConfig } from '../config.js';
import { ToolError } from '../errors.js';

/**
 * `work`, or `otherwise` once `ms` have passed, whichever comes first. The timer is cleared the moment
 * either does: a timer left running would keep a finished command alive until it fired.
 */
export function within<T, U>(work: Promise<T>, ms: number, otherwise: U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<U>((resolve) => {
    timer = setTimeout(() => resolve(otherwise), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * Everything the fleet keeps in Redis, under one prefix (CODEX_ASYNC_REDIS_PREFIX, default "cam"), so
 * one Redis can hold several fleets and an operator can see at a glance which keys are ours.
 * BullMQ's own keys live under `<prefix>:q:<queue>:…`.
 */
export class Keys {
  constructor(readonly prefix: string) {}
  /** BullMQ's key prefix: its queues are `<prefix>:q:<queue name>:…`. */
  get bull(): string {
    return `${this.prefix}:q`;
  }
  /** Hash: one job as the fleet knows it (see records.ts). */
  job(id: string): string {
    return `${this.prefix}:job:${id}`;
  }
  /** Sorted set: every job id, scored by creation time (listing, prefixes, retention). */
  get jobs(): string {
    return `${this.prefix}:jobs`;
  }
  /** Hash: a group of attempts (they all run on one runner). */
  group(id: string): string {
    return `${this.prefix}:group:${id}`;
  }
  /** String (JSON, with a TTL): a runner that is alive. Its absence is how a runner's death shows. */
  runner(id: string): string {
    return `${this.prefix}:runner:${id}`;
  }
  /** Hash runner id → JSON: every runner ever seen, kept to name a runner that has gone. */
  get runnersSeen(): string {
    return `${this.prefix}:runners`;
  }
  /** String: a random value set once; if it changes or vanishes, Redis lost its data. */
  get epoch(): string {
    return `${this.prefix}:epoch`;
  }
  /** Channel: a job id, whenever that job's record changes. */
  get changes(): string {
    return `${this.prefix}:changes`;
  }
  /** Channel: a job was enqueued; idle runners look at their queues at once. */
  get wake(): string {
    return `${this.prefix}:wake`;
  }
  /** Channel: requests to one runner (runner/rpc.ts). */
  rpc(runnerId: string): string {
    return `${this.prefix}:rpc:${runnerId}`;
  }
  /** Channel: answers to one front end's requests. */
  reply(clientId: string): string {
    return `${this.prefix}:reply:${clientId}`;
  }
}

/**
 * How often a runner says it is alive: a quarter of the lock time, so a few missed beats (not one
 * slow moment) make it gone, and within 0.25–2 s so the fleet is neither chatty nor slow to notice.
 */
export const beatEvery = (fleet: FleetConfig) => Math.max(250, Math.min(2000, Math.floor(fleet.lockMs / 4)));

/**
 * A runner's heartbeat lasts this long: the lock time (and at least four beats). A loaded machine
 * can stall a runner's event loop for seconds (seen: 9 s with 16 jobs ending on 2 cores), and a
 * runner taken for gone has its jobs shown lost: only one silent as long as its holds last is gone.
 */
export const beatLasts = (fleet: FleetConfig) => Math.max(4 * beatEvery(fleet), fleet.lockMs);

/** `redis://[user:password@]host:port[/db]`, or `rediss://…` for TLS, with the password hidden. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

export interface ConnectOptions {
  /** BullMQ's workers need commands to wait through a reconnect rather than fail (null retries). */
  blocking?: boolean;
  name?: string;
}

/**
 * One ioredis connection from the URL. TLS comes from the `rediss:` scheme (ioredis turns it on),
 * a password or ACL user from the URL's userinfo. A front end fails a command after a few tries
 * so a person or a client is told Redis is down instead of waiting; a runner waits it out.
 */
export function connect(url: string, opts: ConnectOptions = {}): Redis {
  const options: RedisOptions = {
    connectionName: opts.name,
    maxRetriesPerRequest: opts.blocking ? null : 2,
    connectTimeout: 5000,
    // Never retry forever on a wrong password: every try would be refused the same way.
    retryStrategy: (times) => Math.min(times * 200, 2000),
    reconnectOnError: () => false,
    lazyConnect: false,
  };
  const redis = new Redis(url, options);
  // ioredis reports each failed reconnect as an 'error' event (without a listener Node would crash);
  // the last one says why a command then failed with only "max retries per request".
  redis.on('error', (err) => lastErrors.set(redis, err));
  return redis;
}

const lastErrors = new WeakMap<Redis, Error>();

/** A Redis failure as something a caller can act on; `redis`: the connection it came from, whose own error says more. */
export function redisProblem(err: unknown, url: string, redis?: Redis): ToolError {
  const cause = redis && /max retries per request/i.test((err as Error).message ?? '') ? (lastErrors.get(redis) ?? err) : err;
  const message = (cause as Error).message ?? String(cause);
  const where = redactUrl(url);
  if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(message)) {
    return new ToolError('config', `Redis at ${where} refused our credentials (${message.split('\n')[0]}): check the user and password in CODEX_ASYNC_REDIS_URL`);
  }
  if (/NOPERM/i.test(message)) {
    return new ToolError('config', `Redis at ${where} denied a command to this user (${message.split('\n')[0]}): the ACL user needs ~<prefix>:* keys, &<prefix>:* channels, +@all -@dangerous and +info (see docs/SCALING.md)`);
  }
  return new ToolError('storage', `cannot reach the fleet's Redis at ${where} (${message.split('\n')[0]}): start Redis or fix CODEX_ASYNC_REDIS_URL, then try again`);
}
