import { randomBytes } from 'node:crypto';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { ConfigError, loadConfig, type Config } from '../config.js';
import type { JobApi } from '../engine/api.js';
import { ToolError } from '../errors.js';
import { stderrLogger } from '../log.js';
import { pushJobChanges } from '../mcp/resources.js';
import { createMcpServer } from '../mcp/server.js';
import { limitedStdioTransport } from './stdio-limit.js';
import { openFailure, openJobs } from './engine.js';
import { whenOpen } from './opening.js';

/**
 * The jobs this server serves — the fleet's when CODEX_ASYNC_REDIS_URL is set, else this machine's —
 * or why they cannot be reached: a bad environment (ConfigError) or unusable state (ToolError).
 */
async function openEngine(): Promise<{ config: Config; engine: JobApi; unavailable: null } | { config: null; engine: null; unavailable: ToolError }> {
  try {
    const config = loadConfig();
    return { config, engine: await openJobs(config, stderrLogger), unavailable: null };
  } catch (err) {
    if (!(err instanceof ConfigError || err instanceof ToolError)) throw err;
    return { config: null, engine: null, unavailable: err instanceof ToolError ? err : new ToolError('config', err.message) };
  }
}

/** MCP on stdin/stdout: what clients launch. */
export async function serveOnStdio(version: string): Promise<void> {
  // A person who typed `npm start` sees a silent wait otherwise; stdout belongs to the protocol.
  if (process.stdin.isTTY) {
    process.stderr.write(
      'codex-async-mcp: serving MCP on stdio, for an MCP client, which starts this itself: register it with `codex-async-mcp install <client>`; ' +
        'the command line for people is `codex-async-mcp --help`. Ctrl-C or Ctrl-D stops it.\n',
    );
  }
  // Served at once, opened meanwhile (see whenOpen). A server that cannot open its state still
  // serves, answering every tool call with the reason and the fix: clients restart a server that
  // exits, which would only repeat the failure.
  const opening = openEngine().then(({ engine, unavailable }) => {
    if (!unavailable) return engine;
    stderrLogger('error', `${unavailable.message} (every tool call will report this until the server is restarted)`);
    throw unavailable;
  });
  opening.catch((err: unknown) => {
    if (!(err instanceof ToolError)) stderrLogger('error', `cannot open the jobs: ${(err as Error).stack ?? String(err)}`);
  });
  const jobs = whenOpen(opening);
  const handle = serveStdio(({ era }) => createMcpServer(jobs, stderrLogger, version, { pushChanges: era === 'modern' }), {
    transport: limitedStdioTransport(stderrLogger),
    onerror: (err) => stderrLogger('warn', `transport: ${err.message}`),
  });
  onShutdown(() => handle.close(), jobs(), true);
}

/** Stops serving on end of input or a signal. Jobs run on; only the watching stops. */
function onShutdown(close: () => Promise<unknown>, engine: JobApi | null, stdinEnds: boolean): void {
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    void close()
      .catch(() => undefined)
      .then(() => engine?.close())
      .catch((err: Error) => stderrLogger('warn', `closing: ${err.message}`))
      .finally(() => {
        // The process ends by itself once nothing is left open; this fires only if something leaked.
        setTimeout(() => {
          const open = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
          stderrLogger('warn', `forced exit: resources still open after shutdown: ${open.join(', ')}`);
          process.exit(0);
        }, 3000).unref();
      });
  };
  if (stdinEnds) process.stdin.on('end', shutdown);
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

/** MCP over Streamable HTTP at /mcp. Returns an error message for the caller to print, or null. */
export async function serveOverHttp(listen: { host: string; port: number }, version: string): Promise<string | null> {
  const { isLoopback, serveHttp } = await import('./http.js');
  const opened = await openEngine();
  // A person started this in a terminal and is there to read why: stop, rather than serve errors.
  if (opened.unavailable) throw openFailure(opened.unavailable);
  const { config, engine } = opened;
  let token = config.httpToken;
  if (!token) {
    if (!isLoopback(listen.host)) {
      await engine.close();
      return `refusing to serve ${listen.host} (not loopback) without CODEX_ASYNC_TOKEN: set a long random token first`;
    }
    token = randomBytes(24).toString('base64url');
    stderrLogger('info', `no CODEX_ASYNC_TOKEN set; clients must send "Authorization: Bearer ${token}" (shown once)`);
  }
  const serving = await serveHttp({
    ...listen,
    token,
    factory: () => createMcpServer(() => engine, stderrLogger, version),
    pushChanges: (updated) => pushJobChanges(engine, updated),
    log: stderrLogger,
  });
  onShutdown(() => serving.close(), engine, false);
  return null;
}

/** "8765", "127.0.0.1:8765", "[::1]:8765" → host and port. */
export function parseListen(value: string | undefined): { host: string; port: number } | null {
  const m = /^(?:\[([^\]]+)\]:|([^:]+):)?(\d{1,5})$/.exec(value ?? '');
  if (!m) return null;
  const port = Number(m[3]);
  return port <= 65535 ? { host: m[1] ?? m[2] ?? '127.0.0.1', port } : null;
}
