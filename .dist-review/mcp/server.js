import { McpServer } from '@modelcontextprotocol/server';
import { registerPrompts } from './prompts.js';
import { registerResources } from './resources.js';
import { TASK_CAPABILITIES, TaskGateway } from './tasks.js';
import { registerReviewTools } from './review.js';
import { registerTools } from './tools.js';
export const SERVER_NAME = 'codex-async-mcp';
const INSTRUCTIONS = `Runs OpenAI Codex CLI tasks as background jobs that survive this server restarting.
Start with codex_start (returns a job_id at once), then call codex_wait to block until it finishes (repeat while timed_out), and codex_result for the final answer.
codex_poll shows progress without waiting; codex_reply continues the same Codex conversation; codex_cancel stops a job and everything it started.`;
/** The SDK server with MCP tasks answered in front of it (see tasks.ts). */
class CodexMcpServer extends McpServer {
    engine;
    constructor(engine, ...args) {
        super(...args);
        this.engine = engine;
    }
    connect(transport) {
        return super.connect(new TaskGateway(transport, this.engine));
    }
}
/**
 * One MCP server instance over the shared engine (the SDK may build several, e.g. for a discovery
 * probe, or one per HTTP request). `pushChanges`: send every job's resource updates, for an entry
 * that routes them onto `subscriptions/listen` streams itself (stdio at 2026-07-28).
 */
export function createMcpServer(engine, log, version, opts = {}) {
    const server = new CodexMcpServer(engine, { name: SERVER_NAME, version }, { instructions: INSTRUCTIONS, capabilities: { logging: {}, ...TASK_CAPABILITIES } });
    registerTools(server, engine, log);
    registerReviewTools(server, engine, log);
    registerResources(server, engine, opts.pushChanges ?? false);
    registerPrompts(server);
    return server;
}
//# sourceMappingURL=server.js.map