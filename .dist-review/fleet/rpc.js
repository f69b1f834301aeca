import { randomUUID } from 'node:crypto';
import { ToolError } from '../errors.js';
/** Operations named in a message travel as markers, so each front end words them its own way. */
const MARK = '\u0001';
const marked = (operation) => `${MARK}${operation}${MARK}`;
const MARKED = new RegExp(`${MARK}(\\w+)${MARK}`, 'g');
export const runnerGone = (runner, what) => new ToolError('runner_unavailable', `runner ${runner}, which holds ${what}, is not connected to the fleet: start \`codex-async-mcp runner\` again on that machine (with the same CODEX_ASYNC_HOME), then try again`);
export class RpcClient {
    redis;
    keys;
    replyChannel;
    pending = new Map();
    constructor(redis, keys, replyChannel) {
        this.redis = redis;
        this.keys = keys;
        this.replyChannel = replyChannel;
    }
    /** Feed every message on the reply channel here. */
    answer(message) {
        let response;
        try {
            response = JSON.parse(message);
        }
        catch {
            return;
        }
        const waiting = this.pending.get(response.id);
        if (!waiting)
            return;
        this.pending.delete(response.id);
        clearTimeout(waiting.timer);
        if (response.ok)
            waiting.resolve(response.value);
        else {
            const text = response.message;
            waiting.reject(new ToolError(response.kind, (name) => text.replace(MARKED, (_, op) => name(op))));
        }
    }
    async call(runner, what, op, args, timeoutMs = 120_000) {
        const id = randomUUID();
        const answered = new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.pending.delete(id);
                reject(new ToolError('runner_unavailable', `runner ${runner.name} did not answer ${op} for ${what} within ${Math.round(timeoutMs / 1000)} s: it may be overloaded or cut off from Redis; try again`));
            }, timeoutMs);
            this.pending.set(id, { resolve: resolve, reject, timer });
        });
        const request = { id, op, args, reply: this.replyChannel };
        const receivers = await this.redis.publish(this.keys.rpc(runner.id), JSON.stringify(request));
        if (receivers === 0) {
            const waiting = this.pending.get(id);
            this.pending.delete(id);
            if (waiting)
                clearTimeout(waiting.timer);
            throw runnerGone(runner.name, what);
        }
        return answered;
    }
    close() {
        for (const [id, waiting] of this.pending) {
            clearTimeout(waiting.timer);
            waiting.reject(new ToolError('conflict', 'closing'));
            this.pending.delete(id);
        }
    }
}
/** A runner's side: each request on its channel runs one handler; the answer goes to the asker's channel. */
export async function serveRequest(redis, message, handlers, onError) {
    let request;
    try {
        request = JSON.parse(message);
    }
    catch {
        return;
    }
    if (typeof request.reply !== 'string' || typeof request.id !== 'string' || !Array.isArray(request.args))
        return;
    let response;
    const handler = Object.hasOwn(handlers, request.op) ? handlers[request.op] : undefined;
    try {
        if (!handler)
            throw new ToolError('invalid_input', `a runner does not do "${String(request.op).slice(0, 40)}"`);
        const value = await handler(...request.args);
        response = { id: request.id, ok: true, value: value ?? null };
    }
    catch (err) {
        if (err instanceof ToolError)
            response = { id: request.id, ok: false, kind: err.kind, message: err.say(marked) };
        else {
            onError(err);
            response = { id: request.id, ok: false, kind: 'storage', message: `the runner failed: ${err.message}` };
        }
    }
    await redis.publish(request.reply, JSON.stringify(response)).catch(onError);
}
//# sourceMappingURL=rpc.js.map