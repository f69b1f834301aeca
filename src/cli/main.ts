#!/usr/bin/env node
import fs from 'node:fs';
import v8 from 'node:v8';
import { stderrLogger } from '../log.js';
import { CliError, EXIT } from './exit.js';
import { safeText } from './safe-text.js';

/**
 * A command whose reader went away (`ls | head -1`) ends at once and quietly, as ls and git do when
 * SIGPIPE kills them: Node ignores SIGPIPE, so the write fails with EPIPE instead, which would
 * otherwise surface as an unhandled 'error' and a stack trace. The status is the one a shell
 * reports for a command killed by SIGPIPE (141), so `set -o pipefail` treats us as it treats them.
 * When something else listens on the stream (the MCP stdio transport owns stdout while serving),
 * the broken pipe is its to handle.
 */
function endQuietlyWhenReaderLeaves(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (stream.listenerCount('error') > 1) return;
    if (err.code === 'EPIPE') process.exit(EXIT.brokenPipe);
    throw err;
  });
}

/**
 * A server is left running all day, mostly idle. Loading it (zod, the MCP SDK, the engine) made V8
 * grow its young generation to 2 × 16 MiB, which it never gives back: 7–10 MB of an idle server's
 * ~75 MB resident. Not letting it grow keeps 1 MiB semi-spaces; measured, start-up took no longer,
 * and the scavenges beside tool calls get shorter. Set before the server's code loads, which is when
 * the growth happens; the optimizing compilers are untouched. (A runtime flag: `--max-semi-space-size`
 * cannot be changed once the heap exists, this one is read at each growth.)
 */
function keepYoungGenerationSmall(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}

const VERSION = (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * No arguments: serve MCP on stdio, which is what MCP clients launch. Anything else is the command
 * line for people (program.ts), over the same engine.
 */
async function main(argv: string[]): Promise<void> {
  // Each path loads only what it needs: the server never loads the terminal libraries, and a
  // command like `ls` never loads the MCP SDK (memory for the one, start-up time for the other).
  if (argv.length === 0) {
    keepYoungGenerationSmall();
    return (await import('./serve.js')).serveOnStdio(VERSION);
  }
  if (argv[0] === '__supervise') return (await import('./callback.js')).callback(argv.slice(1));
  if (argv[0] === '__land') return (await import('./callback.js')).landing(argv.slice(1));
  endQuietlyWhenReaderLeaves(process.stdout);
  endQuietlyWhenReaderLeaves(process.stderr);
  const { buildProgram } = await import('./program.js');
  await buildProgram(VERSION).parseAsync(argv, { from: 'user' });
}

main(process.argv.slice(2)).catch(async (err: unknown) => {
  // Commander has printed its own message (usage error, --help, --version) and set the exit code.
  // Loaded only here: a server never needs it.
  if (err instanceof (await import('commander')).CommanderError) return;
  if (err instanceof CliError) {
    // A message can carry a job's text (a file name it chose, its error): shown, not obeyed.
    process.stderr.write(`codex-async-mcp: ${safeText(err.message)}\n`);
    process.exitCode = err.exitCode;
    return;
  }
  stderrLogger('error', safeText((err as Error).message));
  process.exitCode = 1;
});
