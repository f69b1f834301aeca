#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { Engine } from '../engine/engine.js';
import { ToolError } from '../errors.js';
import { stderrLogger } from '../log.js';
import { pushJobChanges } from '../mcp/resources.js';
import { createMcpServer } from '../mcp/server.js';
import { isLoopback, serveHttp } from './http.js';

const VERSION = (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const USAGE = `codex-async-mcp ${VERSION}
Runs OpenAI Codex CLI tasks as durable background jobs over MCP.

Usage:
  codex-async-mcp                           serve MCP on stdin/stdout (what MCP clients launch)
  codex-async-mcp serve --http [HOST:]PORT  serve MCP over Streamable HTTP at /mcp (default host 127.0.0.1)
  codex-async-mcp --version                 print the version
  codex-async-mcp --help                    print this help

Example:
  CODEX_ASYNC_TOKEN=$(openssl rand -hex 32) codex-async-mcp serve --http 8765

Environment (see README): CODEX_ASYNC_HOME, CODEX_BIN, CODEX_ASYNC_MAX_CONCURRENT,
CODEX_ASYNC_DEFAULT_TIMEOUT, CODEX_ASYNC_ALLOW_DANGEROUS, CODEX_ASYNC_ALLOWED_ROOTS,
CODEX_ASYNC_KILL_GRACE, CODEX_ASYNC_COMPLETION_GRACE, CODEX_ASYNC_SWEEP_MS, CODEX_ASYNC_MAX_LOG_MB,
CODEX_ASYNC_RESERVE_KB, CODEX_ASYNC_TOKEN (HTTP bearer token).
`;

function usageError(message: string): void {
  process.stderr.write(`codex-async-mcp: ${message}\n\n${USAGE}`);
  process.exitCode = 2;
}

/** "8765", "127.0.0.1:8765", "[::1]:8765" → host and port. */
function parseListen(value: string | undefined): { host: string; port: number } | null {
  const m = /^(?:\[([^\]]+)\]:|([^:]+):)?(\d{1,5})$/.exec(value ?? '');
  if (!m) return null;
  const port = Number(m[3]);
  return port <= 65535 ? { host: m[1] ?? m[2] ?? '127.0.0.1', port } : null;
}

/**
 * A server that cannot open its state still serves, answering every tool call with the reason and
 * the fix: clients restart a server that exits, which would only repeat the failure.
 */
function openEngine(): { config: Config | null; engine: Engine | null; get: () => Engine } {
  let config: Config | null = null;
  let engine: Engine | null = null;
  let unavailable: ToolError | null = null;
  try {
    config = loadConfig();
    engine = Engine.open(config, stderrLogger);
  } catch (err) {
    if (!(err instanceof ConfigError || err instanceof ToolError)) throw err;
    unavailable = err instanceof ToolError ? err : new ToolError('config', err.message);
    stderrLogger('error', `${unavailable.message} (every tool call will report this until the server is restarted)`);
  }
  return {
    config,
    engine,
    get: () => {
      if (engine) return engine;
      throw unavailable!;
    },
  };
}

/** Stops serving on end of input or a signal. Jobs run on; only the watching stops. */
function onShutdown(close: () => Promise<unknown>, engine: Engine | null, stdinEnds: boolean): void {
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

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  if (argv.includes('--version') || argv.includes('-V')) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  if (argv.length === 0) {
    const { engine, get } = openEngine();
    const handle = serveStdio(({ era }) => createMcpServer(get, stderrLogger, VERSION, { pushChanges: era === 'modern' }), {
      onerror: (err) => stderrLogger('warn', `transport: ${err.message}`),
    });
    onShutdown(() => handle.close(), engine, true);
    return;
  }
  if (argv[0] !== 'serve' || argv[1] !== '--http' || argv.length !== 3) return usageError(`unknown arguments "${argv.join(' ')}"`);
  const listen = parseListen(argv[2]);
  if (!listen) return usageError(`--http takes [HOST:]PORT, got "${argv[2] ?? ''}"`);
  const { config, engine, get } = openEngine();
  let token = config?.httpToken;
  if (!token) {
    if (!isLoopback(listen.host)) {
      return usageError(`refusing to serve ${listen.host} (not loopback) without CODEX_ASYNC_TOKEN: set a long random token first`);
    }
    token = randomBytes(24).toString('base64url');
    stderrLogger('info', `no CODEX_ASYNC_TOKEN set; clients must send "Authorization: Bearer ${token}" (shown once)`);
  }
  const serving = await serveHttp({
    ...listen,
    token,
    factory: () => createMcpServer(get, stderrLogger, VERSION),
    pushChanges: engine ? (updated) => pushJobChanges(engine, updated) : undefined,
    log: stderrLogger,
  });
  onShutdown(() => serving.close(), engine, false);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  stderrLogger('error', (err as Error).message);
  process.exitCode = 1;
});
