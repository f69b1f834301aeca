import { McpServer } from '@modelcontextprotocol/server';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../log.js';
import { registerPrompts } from './prompts.js';
import { registerResources } from './resources.js';
import { registerTools } from './tools.js';

export const SERVER_NAME = 'codex-async-mcp';

const INSTRUCTIONS = `Runs OpenAI Codex CLI tasks as background jobs that survive this server restarting.
Start with codex_start (returns a job_id at once), then call codex_wait to block until it finishes (repeat while timed_out), and codex_result for the final answer.
codex_poll shows progress without waiting; codex_reply continues the same Codex conversation; codex_cancel stops a job and everything it started.`;

/** One MCP server instance over the shared engine (the SDK may build several, e.g. for a discovery probe). */
export function createMcpServer(engine: () => Engine, log: Logger, version: string): McpServer {
  const server = new McpServer({ name: SERVER_NAME, version }, { instructions: INSTRUCTIONS, capabilities: { logging: {} } });
  registerTools(server, engine, log);
  registerResources(server, engine);
  registerPrompts(server);
  return server;
}
