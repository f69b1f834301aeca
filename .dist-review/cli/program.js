import { Command, Option } from 'commander';
import { registerDoctor } from './commands/doctor.js';
import { registerInstall } from './commands/install.js';
import { registerJobCommands } from './commands/jobs.js';
import { registerReviewCommands } from './commands/review.js';
import { registerRunner } from './commands/runner.js';
import { registerTop } from './commands/top.js';
import { EXIT } from './exit.js';
/** The command line: one commander program; each command group registers itself. */
export function buildProgram(version) {
    const program = new Command('codex-async-mcp')
        .description('Runs OpenAI Codex CLI tasks as durable background jobs, for MCP clients and for you.')
        .version(version, '-V, --version')
        .addOption(new Option('--no-color', 'no colours (also: NO_COLOR=1, or output that is not a terminal)'))
        .showHelpAfterError('(run with --help for usage)')
        .exitOverride((err) => {
        // --help and --version end here too, with exit code 0.
        process.exitCode = err.exitCode === 0 ? 0 : EXIT.usage;
        throw err;
    })
        .addHelpText('after', `
With no command it serves MCP on stdin/stdout: that is what MCP clients launch.

Examples:
  codex-async-mcp install claude-code          register this server with Claude Code
  codex-async-mcp run "Add tests for src/parse.ts" --cwd ~/app --sandbox workspace-write --wait
  codex-async-mcp ls                           recent jobs
  codex-async-mcp logs -f 3f9c0a1b2c3d          follow a job's activity
  codex-async-mcp run "Fix the bug" --isolation worktree --sandbox workspace-write --wait
  codex-async-mcp diff 3f9c0a1b2c3d             review what it changed, then: apply 3f9c0a1b2c3d
  codex-async-mcp top                          watch running jobs live

A job id may be shortened to any prefix of 4 or more characters that only one job's id starts with.
Output ends quietly, with exit status 141, when its reader goes away (\`ls | head -1\`).

Environment: CODEX_ASYNC_HOME, CODEX_BIN, CODEX_ASYNC_MAX_CONCURRENT and more (see the README).`);
    program
        .command('serve')
        .description('serve MCP: on stdin/stdout, or over Streamable HTTP at /mcp with --http')
        .option('--http <[host:]port>', 'listen for Streamable HTTP (default host 127.0.0.1)')
        .addHelpText('after', '\nExamples:\n  codex-async-mcp serve                 # stdio, as with no command\n  CODEX_ASYNC_TOKEN=$(openssl rand -hex 32) codex-async-mcp serve --http 8765\n')
        .action(async (opts) => {
        const { parseListen, serveOnStdio, serveOverHttp } = await import('./serve.js');
        if (opts.http === undefined)
            return serveOnStdio(version);
        const listen = parseListen(opts.http);
        if (!listen)
            program.error(`--http takes [HOST:]PORT, got "${opts.http}"`, { exitCode: EXIT.usage });
        const refused = await serveOverHttp(listen, version);
        if (refused)
            program.error(refused, { exitCode: EXIT.usage });
    });
    registerInstall(program);
    registerDoctor(program);
    registerJobCommands(program);
    registerReviewCommands(program);
    registerTop(program);
    registerRunner(program, version);
    return program;
}
//# sourceMappingURL=program.js.map