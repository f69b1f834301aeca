import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createMcpHandler,
  hostHeaderValidationResponse,
  localhostAllowedHostnames,
  localhostAllowedOrigins,
  originValidationResponse,
  type McpServerFactory,
} from '@modelcontextprotocol/server';
import type { Logger } from '../log.js';

export const MCP_PATH = '/mcp';
const MAX_BODY_BYTES = 4 * 1024 * 1024 + 64 * 1024;
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export const isLoopback = (host: string) => LOOPBACK.has(host) || host.startsWith('127.');

/** Compares bearer tokens in constant time (hashing first makes the lengths equal). */
function tokenMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '';
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(token));
}

function readBody(req: http.IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
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

function send(res: http.ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message } }));
}

/**
 * Streamable HTTP at `/mcp`: the same server as on stdio, for remote or shared use. Every request
 * needs the bearer token; Host and Origin are checked against DNS rebinding; bodies are bounded.
 * The SDK's handler serves 2026-07-28 clients and, statelessly, 2025-era ones.
 */
export async function serveHttp(opts: { host: string; port: number; token: string; factory: McpServerFactory; log: Logger }): Promise<http.Server> {
  const handler = createMcpHandler(opts.factory, { onerror: (err) => opts.log('warn', `http: ${err.message}`) });
  const hostnames = [...localhostAllowedHostnames(), ...(isLoopback(opts.host) ? [] : [opts.host])];
  const origins = [...localhostAllowedOrigins(), ...(isLoopback(opts.host) ? [] : [opts.host])];
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
      if (url.pathname !== MCP_PATH) return send(res, 404, `not found: MCP is served at ${MCP_PATH}`);
      if (!tokenMatches(req.headers.authorization, opts.token)) {
        return send(res, 401, 'missing or wrong bearer token: send "Authorization: Bearer <CODEX_ASYNC_TOKEN>"', {
          'www-authenticate': 'Bearer',
        });
      }
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
      }
      const abort = new AbortController();
      res.on('close', () => abort.abort());
      const body = req.method === 'GET' || req.method === 'HEAD' || req.method === 'DELETE' ? undefined : await readBody(req);
      if (body === null) return send(res, 413, `request body over ${MAX_BODY_BYTES} bytes`);
      const request = new Request(url, { method: req.method, headers, body, signal: abort.signal });
      const rejected = hostHeaderValidationResponse(request, hostnames) ?? originValidationResponse(request, origins);
      const response = rejected ?? (await handler.fetch(request));
      res.writeHead(response.status, Object.fromEntries(response.headers));
      if (!response.body) return res.end();
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        res.write(value);
      }
      res.end();
    })().catch((err: unknown) => {
      opts.log('warn', `http request failed: ${(err as Error).message}`);
      if (!res.headersSent) send(res, 500, 'internal error');
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  opts.log('info', `serving MCP over Streamable HTTP at http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${address.port}${MCP_PATH}`);
  return server;
}
