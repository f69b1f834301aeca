import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../../config.js';
import { ToolError } from '../../errors.js';
import { checkLabels, MAX_RUNNER_LABELS } from '../../fleet/shared.js';
import { stderrLogger } from '../../log.js';
import { CliError, EXIT } from '../exit.js';

export function registerRunner(program: Command, version: string): void {
  program
    .command('runner')
    .description("take jobs from the fleet's queue (CODEX_ASYNC_REDIS_URL) and run them on this machine, until stopped")
    .option('--concurrency <n>', 'jobs this machine runs at once (default CODEX_ASYNC_MAX_CONCURRENT, 3)')
    .option('--labels <a,b>', `take only jobs whose runner_labels this runner has all of (at most ${MAX_RUNNER_LABELS}), besides unlabelled ones`)
    .addHelpText(
      'after',
      '\nThe runner runs jobs exactly as a local server does (state in CODEX_ASYNC_HOME, agents from PATH or *_BIN) and\n' +
        'reports them to the fleet through Redis; it listens on no port. Jobs outlive it: started again with the same\n' +
        'CODEX_ASYNC_HOME it takes back what this machine still runs. Stop it with Ctrl-C or SIGTERM.\n\n' +
        'Examples:\n  CODEX_ASYNC_REDIS_URL=redis://:secret@queue.internal:6379 codex-async-mcp runner\n  codex-async-mcp runner --concurrency 8 --labels gpu,linux\n',
    )
    .action(async (opts: { concurrency?: string; labels?: string }) => {
      let config;
      try {
        config = loadConfig();
      } catch (err) {
        if (err instanceof ConfigError) throw new CliError(err.message, EXIT.usage);
        throw err;
      }
      if (!config.fleet) throw new CliError('a runner serves a fleet: set CODEX_ASYNC_REDIS_URL=redis://… (see docs/SCALING.md)', EXIT.usage);
      const concurrency = opts.concurrency === undefined ? config.maxConcurrent : Number(opts.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new CliError(`--concurrency takes a whole number from 1 to 256, got "${opts.concurrency}"`, EXIT.usage);
      let labels: string[];
      try {
        labels = checkLabels((opts.labels ?? '').split(',').map((l) => l.trim()).filter(Boolean), MAX_RUNNER_LABELS);
      } catch (err) {
        throw new CliError(`--labels: ${(err as Error).message}`, EXIT.usage);
      }
      const { FleetRunner } = await import('../../fleet/runner.js');
      let runner;
      try {
        runner = await FleetRunner.start(config, { concurrency, labels, version }, stderrLogger);
      } catch (err) {
        if (err instanceof ToolError) throw new CliError(err.message, err.kind === 'config' ? EXIT.usage : EXIT.failed);
        throw err;
      }
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      stderrLogger('info', `runner ${runner.id} leaving the fleet; its jobs run on`);
      await runner.close();
      // BullMQ may keep a timer or socket of its own: the runner is done, and its jobs do not need it.
      process.exit(0);
    });
}
