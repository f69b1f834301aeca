#!/usr/bin/env node
import fs from 'node:fs';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { ConfigError, loadConfig } from '../config.js';
import { Engine } from '../engine/engine.js';
import { ToolError } from '../errors.js';
import { stderrLogger } from '../log.js';
import { createMcpServer } from '../mcp/server.js';

const VERSION = (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const USAGE = `codex-async-mcp ${VERSION}
Runs OpenAI Codex CLI tasks as durable background jobs over MCP.

Usage:
  codex-async-mcp            serve MCP on stdin/stdout (what MCP clients launch)
  codex-async-mcp --version  print the version
  codex-async-mcp --help     print this help

Environment (see README): CODEX_ASYNC_HOME, CODEX_BIN, CODEX_ASYNC_MAX_CONCURRENT,
CODEX_ASYNC_DEFAULT_TIMEOUT, CODEX_ASYNC_ALLOW_DANGEROUS, CODEX_ASYNC_ALLOWED_ROOTS,
CODEX_ASYNC_KILL_GRACE, CODEX_ASYNC_COMPLETION_GRACE, CODEX_ASYNC_SWEEP_MS, CODEX_ASYNC_MAX_LOG_MB,
CODEX_ASYNC_RESERVE_KB.
`;

function main(argv: string[]): void {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  if (argv.includes('--version') || argv.includes('-V')) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  if (argv.length > 0) {
    process.stderr.write(`codex-async-mcp: unknown argument "${argv[0]}"\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  // A server that cannot open its state still serves, answering every tool call with the reason
  // and the fix: clients restart a server that exits, which would only repeat the failure.
  let engine: Engine | null = null;
  let unavailable: ToolError | null = null;
  try {
    engine = Engine.open(loadConfig(), stderrLogger);
  } catch (err) {
    if (!(err instanceof ConfigError || err instanceof ToolError)) throw err;
    unavailable = err instanceof ToolError ? err : new ToolError('config', err.message);
    stderrLogger('error', `${unavailable.message} (every tool call will report this until the server is restarted)`);
  }
  const getEngine = (): Engine => {
    if (engine) return engine;
    throw unavailable!;
  };
  const handle = serveStdio(() => createMcpServer(getEngine, stderrLogger, VERSION), {
    onerror: (err) => stderrLogger('warn', `transport: ${err.message}`),
  });
  // Jobs run on without the server: closing only stops watching them. The process then ends by
  // itself once nothing is left open; the unref'd timer only fires if something leaked.
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    void handle
      .close()
      .catch(() => undefined)
      .then(() => engine?.close())
      .catch((err: Error) => stderrLogger('warn', `closing: ${err.message}`))
      .finally(() => {
        setTimeout(() => {
          const open = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
          stderrLogger('warn', `forced exit: resources still open after shutdown: ${open.join(', ')}`);
          process.exit(0);
        }, 3000).unref();
      });
  };
  process.stdin.on('end', shutdown);
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main(process.argv.slice(2));
