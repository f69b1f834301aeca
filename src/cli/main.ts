#!/usr/bin/env node
import fs from 'node:fs';
import { CommanderError } from 'commander';
import { stderrLogger } from '../log.js';
import { CliError } from './exit.js';

const VERSION = (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * No arguments: serve MCP on stdio, which is what MCP clients launch. Anything else is the command
 * line for people (program.ts), over the same engine.
 */
async function main(argv: string[]): Promise<void> {
  // Each path loads only what it needs: the server never loads the terminal libraries, and a
  // command like `ls` never loads the MCP SDK (memory for the one, start-up time for the other).
  if (argv.length === 0) return (await import('./serve.js')).serveOnStdio(VERSION);
  if (argv[0] === '__supervise') return (await import('./callback.js')).callback(argv.slice(1));
  const { buildProgram } = await import('./program.js');
  await buildProgram(VERSION).parseAsync(argv, { from: 'user' });
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // Commander has printed its own message (usage error, --help, --version) and set the exit code.
  if (err instanceof CommanderError) return;
  if (err instanceof CliError) {
    process.stderr.write(`codex-async-mcp: ${err.message}\n`);
    process.exitCode = err.exitCode;
    return;
  }
  stderrLogger('error', (err as Error).message);
  process.exitCode = 1;
});
