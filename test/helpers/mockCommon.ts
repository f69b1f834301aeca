/**
 * What the loopback mocks of model APIs (mockResponses, mockAnthropic, mockGemini) share: the
 * prompt markers that pick a scenario, request bodies in any content encoding, and a server on a
 * free loopback port whose close() also ends connections left hanging.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import * as zlib from 'node:zlib';

/** A request to a path the mock does not serve (side calls, websocket upgrades): recorded, answered 404. */
export interface OtherRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The argument of marker [[name:ARG]] in the prompt ("" for [[name]]), or undefined without it. */
export function marker(prompt: string, name: string): string | undefined {
  const m = new RegExp(`\\[\\[${name}(?::([\\s\\S]*?))?\\]\\]`).exec(prompt);
  return m ? (m[1] ?? '') : undefined;
}

/** The scenario a prompt asks for: the first of `names` it carries a marker of, else "echo-prompt" or "answer". */
export function pickScenario(prompt: string, names: readonly string[]): string {
  for (const name of names) if (marker(prompt, name) !== undefined) return name;
  return prompt.includes('echo-prompt') ? 'echo-prompt' : 'answer';
}

/** Tokens one request reports, in no API's words (each mock names them its own way). */
export interface Tokens {
  input: number;
  cached: number;
  output: number;
  reasoning: number;
}

/** [[usage:IN,OUT]] in the prompt (cached IN/5, reasoning OUT/2), else `defaults`. */
export function usageMarker(prompt: string, defaults: Tokens): Tokens {
  const u = marker(prompt, 'usage');
  if (!u) return defaults;
  const [a, b] = u.split(',').map((s) => Number.parseInt(s.trim(), 10));
  const input = Number.isFinite(a) ? a! : defaults.input;
  const output = Number.isFinite(b) ? b! : defaults.output;
  return { input, cached: Math.floor(input / 5), output, reasoning: Math.floor(output / 2) };
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const buf = Buffer.concat(chunks);
  const enc = String(req.headers['content-encoding'] ?? '').toLowerCase();
  if (enc === 'gzip') return zlib.gunzipSync(buf);
  if (enc === 'deflate') return zlib.inflateSync(buf);
  if (enc === 'br') return zlib.brotliDecompressSync(buf);
  if (enc === 'zstd') {
    const z = (zlib as any).zstdDecompressSync;
    if (typeof z !== 'function') throw new Error('zstd request body not supported by this Node version');
    return z(buf);
  }
  return buf;
}

/**
 * A mock's request handler: a request for the model API's own route is served by `serve` (which
 * returns undefined for any other; a throw answers 500); any other request is recorded in `others`
 * with its body, then answered by `other` (a side call the CLI makes, or a 404).
 */
export function mockHandler(
  serve: (req: IncomingMessage, res: ServerResponse, url: string) => Promise<void> | undefined,
  others: OtherRequest[],
  other: (req: IncomingMessage, res: ServerResponse, url: string) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = (req.url ?? '/').split('?')[0]!;
    const served = serve(req, res, url);
    if (served) {
      served.catch((err) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(err));
      });
      return;
    }
    void readBody(req)
      .catch(() => Buffer.alloc(0))
      .then((b) => {
        others.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: b.toString('utf8') });
        other(req, res, url);
      });
  };
}

/**
 * Listens on a free port of 127.0.0.1. close() runs `onClose` (the mock's own timers), then ends
 * every connection, those of requests left hanging on purpose included.
 */
export async function listenLoopback(server: Server, onClose: () => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        onClose();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      }),
  };
}
