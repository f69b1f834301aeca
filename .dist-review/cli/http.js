import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { createMcpHandler, hostHeaderValidationResponse, isInitializeRequest, isLegacyRequest, localhostAllowedHostnames, localhostAllowedOrigins, originValidationResponse, WebStandardStreamableHTTPServerTransport, } from '@modelcontextprotocol/server';
export const MCP_PATH = '/mcp';
const MAX_BODY_BYTES = 4 * 1024 * 1024 + 64 * 1024;
/** 2025-era sessions kept at once; the least recently used is closed to make room. */
const MAX_SESSIONS = 256;
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
export const isLoopback = (host) => LOOPBACK.has(host) || host.startsWith('127.');
/** Compares bearer tokens in constant time (hashing first makes the lengths equal). */
function tokenMatches(header, token) {
    const given = /^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '';
    const digest = (s) => createHash('sha256').update(s).digest();
    return timingSafeEqual(digest(given), digest(token));
}
function readBody(req) {
    return new Promise((resolve, reject) => {
        const chunks = [];
        let size = 0;
        req.on('data', (chunk) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) {
                resolve(null);
                req.destroy();
                return;
            }
            chunks.push(chunk);
        });
        req.on('end', () => resolve(Buffer.concat(chunks)));
        req.on('error', reject);
    });
}
/** The JSON-RPC error an HTTP refusal carries (no request id: the request was never read as one). */
const errorBody = (message) => ({ jsonrpc: '2.0', id: null, error: { code: -32000, message } });
function send(res, status, message, headers = {}) {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(errorBody(message)));
}
const jsonError = (status, message) => Response.json(errorBody(message), { status });
/**
 * Stateful sessions for 2025-era clients (Mcp-Session-Id): each gets its own server instance and a
 * GET event stream, so resource updates and "job finished" log messages reach them as they do on
 * stdio. (The SDK's own fallback for this era is stateless: one instance per request, nothing pushed.)
 */
class LegacySessions {
    factory;
    sessions = new Map();
    constructor(factory) {
        this.factory = factory;
    }
    async handle(request, body) {
        const id = request.headers.get('mcp-session-id');
        if (id) {
            const transport = this.sessions.get(id);
            if (!transport)
                return jsonError(404, `unknown or expired session ${id}: initialize a new session`);
            // Most recently used last: Map keeps insertion order.
            this.sessions.delete(id);
            this.sessions.set(id, transport);
            return transport.handleRequest(request, { parsedBody: body });
        }
        if (request.method !== 'POST' || !isInitializeRequest(body)) {
            return jsonError(400, 'no Mcp-Session-Id: start with an initialize request, then send the session id it returns');
        }
        if (this.sessions.size >= MAX_SESSIONS) {
            const [oldest, transport] = this.sessions.entries().next().value;
            this.sessions.delete(oldest);
            await transport.close().catch(() => undefined);
        }
        const transport = new WebStandardStreamableHTTPServerTransport({
            sessionIdGenerator: () => randomUUID(),
            onsessioninitialized: (sid) => void this.sessions.set(sid, transport),
            onsessionclosed: (sid) => void this.sessions.delete(sid),
        });
        transport.onclose = () => {
            if (transport.sessionId)
                this.sessions.delete(transport.sessionId);
        };
        await (await this.factory({ era: 'legacy' })).connect(transport);
        return transport.handleRequest(request, { parsedBody: body });
    }
    async close() {
        await Promise.all([...this.sessions.values()].map((t) => t.close().catch(() => undefined)));
        this.sessions.clear();
    }
}
/**
 * Streamable HTTP at `/mcp`: the same server as on stdio, for remote or shared use. Every request
 * needs the bearer token; Host and Origin are checked against DNS rebinding; bodies are bounded.
 * The SDK's handler serves 2026-07-28 clients (job updates reach their `subscriptions/listen`
 * streams through `pushChanges`); 2025-era clients get sessions of their own (LegacySessions).
 */
export async function serveHttp(opts) {
    const handler = createMcpHandler(opts.factory, {
        legacy: 'reject',
        maxRequestBodySize: MAX_BODY_BYTES,
        onerror: (err) => opts.log('warn', `http: ${err.message}`),
    });
    const legacy = new LegacySessions(opts.factory);
    const stopPushing = opts.pushChanges?.((uri) => handler.notify.resourceUpdated(uri));
    // Host names are compared as URLs spell them: IPv6 literals in brackets. A wildcard bind is
    // reached under any of the machine's names and addresses, so its Host is not checked there: the
    // bearer token, required off loopback, is what keeps a rebinding page out.
    const bound = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
    const wildcard = opts.host === '0.0.0.0' || opts.host === '::';
    const hostnames = [...localhostAllowedHostnames(), ...(isLoopback(opts.host) ? [] : [bound])];
    const origins = [...localhostAllowedOrigins(), ...(isLoopback(opts.host) ? [] : [bound])];
    const server = http.createServer((req, res) => {
        void (async () => {
            const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
            if (url.pathname !== MCP_PATH)
                return send(res, 404, `not found: MCP is served at ${MCP_PATH}`);
            if (!tokenMatches(req.headers.authorization, opts.token)) {
                return send(res, 401, 'missing or wrong bearer token: send "Authorization: Bearer <CODEX_ASYNC_TOKEN>"', {
                    'www-authenticate': 'Bearer',
                });
            }
            const headers = new Headers();
            for (const [name, value] of Object.entries(req.headers)) {
                if (value !== undefined)
                    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
            }
            // Answered before reading the body; Node then discards the rest of it, so a client still
            // uploading finishes and reads the 413 (closing the connection instead would reset it).
            const tooLarge = () => send(res, 413, `request body over ${MAX_BODY_BYTES} bytes`);
            if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES)
                return tooLarge();
            const abort = new AbortController();
            let reader;
            // A client that goes away must also end the stream it held (a GET event stream stays
            // registered in its session until cancelled, and the session refuses a second one).
            res.on('close', () => {
                abort.abort();
                void reader?.cancel().catch(() => undefined);
            });
            const body = req.method === 'GET' || req.method === 'HEAD' || req.method === 'DELETE' ? undefined : await readBody(req);
            if (body === null)
                return tooLarge();
            const request = new Request(url, { method: req.method, headers, body, signal: abort.signal });
            const rejected = (wildcard ? undefined : hostHeaderValidationResponse(request, hostnames)) ?? originValidationResponse(request, origins);
            const parsed = body === undefined ? undefined : parseJson(body);
            const response = rejected ?? (parsed !== INVALID && (await isLegacyRequest(request, parsed)) ? await legacy.handle(request, parsed) : await handler.fetch(request));
            res.writeHead(response.status, Object.fromEntries(response.headers));
            res.flushHeaders();
            if (!response.body)
                return res.end();
            reader = response.body.getReader();
            if (res.destroyed)
                void reader.cancel().catch(() => undefined);
            for (;;) {
                const { done, value } = await reader.read();
                if (done)
                    break;
                res.write(value);
            }
            res.end();
        })().catch((err) => {
            opts.log('warn', `http request failed: ${err.message}`);
            if (!res.headersSent)
                send(res, 500, 'internal error');
            else
                res.end();
        });
    });
    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port, opts.host, () => resolve());
    });
    const address = server.address();
    opts.log('info', `serving MCP over Streamable HTTP at http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${address.port}${MCP_PATH}`);
    return {
        server,
        async close() {
            stopPushing?.();
            await legacy.close();
            await handler.close();
            await new Promise((resolve) => {
                server.close(resolve);
                server.closeAllConnections();
            });
        },
    };
}
const INVALID = Symbol('invalid JSON');
/** The body as JSON, or INVALID for the SDK to answer with its parse error. */
function parseJson(body) {
    try {
        return JSON.parse(body.toString('utf8'));
    }
    catch {
        return INVALID;
    }
}
//# sourceMappingURL=http.js.map