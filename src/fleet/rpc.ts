import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ToolError, type Operation, type ToolErrorKind } from '../errors.js';
import type { Keys } from './redis.js';

/**
 * Requests to one runner over Redis pub/sub: the only way in to a runner (it listens on no port), so
 * only what can reach the fleet's Redis can ask anything, and only the operations below. A runner
 * that is not subscribed makes PUBLISH count 0 receivers: the caller learns at once that it is gone.
 */

interface Request {
  id: string;
  op: string;
  args: unknown[];
  reply: string;
}

type Response = { id: string; ok: true; value: unknown } | { id: string; ok: false; kind: ToolErrorKind; message: string };

/** Operations named in a message travel as markers, so each front end words them its own way. */
const MARK = '\u0001';
const marked = (operation: Operation) => `${MARK}${operation}${MARK}`;
const MARKED = new RegExp(`${MARK}(\\w+)${MARK}`, 'g');

export const runnerGone = (runner: string, what: string) =>
  new ToolError(
    'runner_unavailable',
    `runner ${runner}, which holds ${what}, is not connected to the fleet: start \`codex-async-mcp runner\` again on that machine (with the same CODEX_ASYNC_HOME), then try again`,
  );

export class RpcClient {
  private readonly pending = new Map<string, { resolve: (value: unknown) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly replyChannel: string,
  ) {}

  /** Feed every message on the reply channel here. */
  answer(message: string): void {
    let response: Response;
    try {
      response = JSON.parse(message) as Response;
    } catch {
      return;
    }
    const waiting = this.pending.get(response.id);
    if (!waiting) return;
    this.pending.delete(response.id);
    clearTimeout(waiting.timer);
    if (response.ok) waiting.resolve(response.value);
    else {
      const text = response.message;
      waiting.reject(new ToolError(response.kind, (name) => text.replace(MARKED, (_, op: Operation) => name(op))));
    }
  }

  async call<T>(runner: { id: string; name: string }, what: string, op: string, args: unknown[], timeoutMs = 120_000): Promise<T> {
    const id = randomUUID();
    const answered = new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ToolError('runner_unavailable', `runner ${runner.name} did not answer ${op} for ${what} within ${Math.round(timeoutMs / 1000)} s: it may be overloaded or cut off from Redis; try again`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
    });
    const forget = () => {
      const waiting = this.pending.get(id);
      this.pending.delete(id);
      if (waiting) clearTimeout(waiting.timer);
    };
    const request: Request = { id, op, args, reply: this.replyChannel };
    let receivers: number;
    try {
      receivers = await this.redis.publish(this.keys.rpc(runner.id), JSON.stringify(request));
    } catch (err) {
      // Nobody will answer a request that was never sent, and nobody would catch its timeout.
      forget();
      throw err;
    }
    if (receivers === 0) {
      forget();
      throw runnerGone(runner.name, what);
    }
    return answered;
  }

  close(): void {
    for (const [id, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      waiting.reject(new ToolError('conflict', 'closing'));
      this.pending.delete(id);
    }
  }
}

export type Handlers = Record<string, (...args: never[]) => unknown>;

/** A runner's side: each request on its channel runs one handler; the answer goes to the asker's channel. */
export async function serveRequest(redis: Redis, message: string, handlers: Handlers, onError: (err: Error) => void): Promise<void> {
  let request: Request;
  try {
    request = JSON.parse(message) as Request;
  } catch {
    return;
  }
  if (typeof request.reply !== 'string' || typeof request.id !== 'string' || !Array.isArray(request.args)) return;
  let response: Response;
  const handler = Object.hasOwn(handlers, request.op) ? handlers[request.op] : undefined;
  try {
    if (!handler) throw new ToolError('invalid_input', `a runner does not do "${String(request.op).slice(0, 40)}"`);
    const value = await (handler as (...args: unknown[]) => unknown)(...request.args);
    response = { id: request.id, ok: true, value: value ?? null };
  } catch (err) {
    if (err instanceof ToolError) response = { id: request.id, ok: false, kind: err.kind, message: err.say(marked) };
    else {
      onError(err as Error);
      response = { id: request.id, ok: false, kind: 'storage', message: `the runner failed: ${(err as Error).message}` };
    }
  }
  await redis.publish(request.reply, JSON.stringify(response)).catch(onError);
}
