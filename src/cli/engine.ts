import { ConfigError, loadConfig, type Config } from '../config.js';
import type { JobApi } from '../engine/api.js';
import { ToolError, type Namer, type Operation } from '../errors.js';
import type { Logger } from '../log.js';
import { CliError, EXIT } from './exit.js';
import { safeText } from './safe-text.js';

const COMMAND_FOR: Record<Operation, string> = {
  start: 'run',
  poll: 'show',
  wait: 'wait',
  result: 'result',
  list: 'ls',
  cancel: 'cancel',
  reply: 'reply',
  diff: 'diff',
  apply: 'apply',
  discard: 'discard',
  land: 'land',
};

/** Engine errors point to the next step; a person at the shell is told the command. */
export const commandName: Namer = (operation) => `\`codex-async-mcp ${COMMAND_FOR[operation]}\``;

/** An error's message for a person: the next step it points to named as a command. */
export const forPeople = (err: unknown) => (err instanceof ToolError ? err.say(commandName) : (err as Error).message);

/** Why the engine cannot open, for a person: a bad environment is a usage error (2), unusable state a failure (1). */
export function openFailure(err: ConfigError | ToolError): CliError {
  if (err instanceof ConfigError || err.kind === 'config') return new CliError(err.message, EXIT.usage);
  return new CliError(`${err.message} (run \`codex-async-mcp doctor\` for a full check)`, EXIT.failed);
}

/**
 * The jobs a front end serves: the fleet's when CODEX_ASYNC_REDIS_URL is set, else this machine's.
 * The fleet's client (BullMQ, ioredis) loads only then: a local server starts without it. Either
 * loads when asked, so that a server answers tools/list before most of its code is read (serve.ts).
 */
export async function openJobs(config: Config, log: Logger, opts: { forCommand?: boolean } = {}): Promise<JobApi> {
  if (!config.fleet) return (await import('../engine/engine.js')).Engine.open(config, log, opts);
  const { FleetClient } = await import('../fleet/client.js');
  return FleetClient.open(config, log, opts.forCommand ? commandName : undefined);
}

/**
 * Only warnings reach the terminal; a person does not need "using codex 0.169.0" before every listing.
 * A warning can quote git naming a file a job chose: shown, not obeyed.
 */
const warnings: Logger = (level, message) => {
  if (level !== 'info') process.stderr.write(`codex-async-mcp: ${level}: ${safeText(message)}\n`);
};

/**
 * The jobs one command works on: with a fleet (CODEX_ASYNC_REDIS_URL), the fleet's; otherwise the
 * same engine the MCP server runs, so a command both reads jobs and does a server's duties while it
 * runs (starting queued jobs, recording outcomes).
 */
export async function withEngine<T>(work: (engine: JobApi, config: Config) => Promise<T> | T): Promise<T> {
  let config: Config;
  let engine: JobApi;
  try {
    config = loadConfig();
    engine = await openJobs(config, warnings, { forCommand: true });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof ToolError) throw openFailure(err);
    throw err;
  }
  try {
    await engine.catchUp();
    return await work(engine, config);
  } catch (err) {
    // Engine errors are written for whoever called: here they are a person's usage error.
    if (err instanceof ToolError) throw new CliError(forPeople(err), ['storage', 'codex_unavailable', 'agent_unavailable', 'sandbox_unavailable', 'runner_unavailable', 'conflict'].includes(err.kind) ? EXIT.failed : EXIT.usage);
    throw err;
  } finally {
    await engine.close();
  }
}
