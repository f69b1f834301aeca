import { ConfigError, loadConfig, type Config } from '../config.js';
import { Engine } from '../engine/engine.js';
import { ToolError } from '../errors.js';
import { CliError, EXIT } from './exit.js';

const COMMAND_FOR_TOOL: Record<string, string> = {
  codex_start: 'run',
  codex_poll: 'show',
  codex_wait: 'wait',
  codex_result: 'result',
  codex_list: 'ls',
  codex_cancel: 'cancel',
  codex_reply: 'reply',
  codex_diff: 'diff',
  codex_apply: 'apply',
  codex_discard: 'discard',
};

/** Engine messages name the MCP tools to call next; a person at the shell is told the command. */
export const forPeople = (message: string) =>
  message.replace(/\bcodex_(start|poll|wait|result|list|cancel|reply|diff|apply|discard)\b/g, (tool) => `\`codex-async-mcp ${COMMAND_FOR_TOOL[tool]}\``);

/** Why the engine cannot open, for a person: a bad environment is a usage error (2), unusable state a failure (1). */
export function openFailure(err: ConfigError | ToolError): CliError {
  if (err instanceof ConfigError || err.kind === 'config') return new CliError(err.message, EXIT.usage);
  return new CliError(`${err.message} (run \`codex-async-mcp doctor\` for a full check)`, EXIT.failed);
}

/**
 * The engine for one command: the same one the MCP server runs, so a command both reads jobs and
 * does a server's duties while it runs (starting queued jobs, recording outcomes). Only warnings
 * reach the terminal; a person does not need "using codex 0.169.0" before every listing.
 */
export async function withEngine<T>(work: (engine: Engine, config: Config) => Promise<T> | T): Promise<T> {
  let config: Config;
  let engine: Engine;
  try {
    config = loadConfig();
    engine = Engine.open(
      config,
      (level, message) => {
        if (level !== 'info') process.stderr.write(`codex-async-mcp: ${level}: ${message}\n`);
      },
      { forCommand: true },
    );
  } catch (err) {
    if (err instanceof ConfigError || err instanceof ToolError) throw openFailure(err);
    throw err;
  }
  try {
    await engine.settle();
    return await work(engine, config);
  } catch (err) {
    // Engine errors are written for whoever called: here they are a person's usage error.
    if (err instanceof ToolError) throw new CliError(forPeople(err.message), ['storage', 'codex_unavailable', 'agent_unavailable', 'conflict'].includes(err.kind) ? EXIT.failed : EXIT.usage);
    throw err;
  } finally {
    await engine.close();
  }
}
