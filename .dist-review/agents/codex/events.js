/**
 * The JSONL event stream of `codex exec --json`, as a discriminated union on `type`.
 *
 * New codex versions add event and item types and fields. Anything we do not recognise becomes
 * an `unknown` event or item instead of an error, so a newer codex can never break a job.
 */
import { isObject, str, num, parseJsonLine } from '../json.js';
export function parseUsage(v) {
    const u = isObject(v) ? v : {};
    return {
        input_tokens: num(u.input_tokens),
        cached_input_tokens: num(u.cached_input_tokens),
        output_tokens: num(u.output_tokens),
        reasoning_output_tokens: num(u.reasoning_output_tokens),
    };
}
function parseItem(v) {
    const item = isObject(v) ? v : {};
    const id = str(item.id);
    switch (item.type) {
        case 'agent_message':
        case 'reasoning':
            return { type: item.type, id, text: str(item.text) };
        case 'command_execution':
            return {
                type: 'command_execution',
                id,
                command: str(item.command),
                aggregated_output: str(item.aggregated_output),
                exit_code: typeof item.exit_code === 'number' ? item.exit_code : null,
                status: str(item.status, 'in_progress'),
            };
        case 'file_change': {
            const changes = Array.isArray(item.changes) ? item.changes.filter(isObject) : [];
            return {
                type: 'file_change',
                id,
                status: str(item.status, 'completed'),
                changes: changes.map((c) => ({
                    path: str(c.path),
                    kind: c.kind === 'add' || c.kind === 'delete' ? c.kind : 'update',
                })),
            };
        }
        case 'mcp_tool_call':
            return { type: 'mcp_tool_call', id, server: str(item.server), tool: str(item.tool), status: str(item.status) };
        case 'web_search':
            return { type: 'web_search', id, query: str(item.query) };
        case 'todo_list': {
            const items = Array.isArray(item.items) ? item.items.filter(isObject) : [];
            return { type: 'todo_list', id, items: items.map((t) => ({ text: str(t.text), completed: t.completed === true })) };
        }
        case 'error':
            return { type: 'error', id, message: str(item.message) };
        default:
            return { type: 'unknown', id, originalType: str(item.type, 'missing') };
    }
}
function errorMessage(v) {
    if (isObject(v))
        return str(v.message, JSON.stringify(v));
    return str(v, 'unknown error');
}
/** Parses one stdout line. Returns null for blank or non-JSON lines (codex may print those). */
export function parseEventLine(line) {
    const raw = parseJsonLine(line);
    if (!raw)
        return null;
    switch (raw.type) {
        case 'thread.started':
            return { type: 'thread.started', thread_id: str(raw.thread_id) };
        case 'turn.started':
            return { type: 'turn.started' };
        case 'turn.completed':
            return { type: 'turn.completed', usage: parseUsage(raw.usage) };
        case 'turn.failed':
            return { type: 'turn.failed', message: errorMessage(raw.error) };
        case 'error':
            return { type: 'error', message: str(raw.message, errorMessage(raw.error)) };
        case 'item.started':
        case 'item.updated':
        case 'item.completed':
            return { type: raw.type, item: parseItem(raw.item) };
        default:
            return { type: 'unknown', originalType: str(raw.type, 'missing') };
    }
}
//# sourceMappingURL=events.js.map