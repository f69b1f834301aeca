import { clip, oneLine } from '../progress.js';
/**
 * Renders events as the lines a person reads in a job's `output`: what codex said, which commands
 * it ran with their exit codes, which files it changed. Returns no line for events that only add
 * noise (reasoning deltas, item updates, unknown types).
 */
export function renderEvent(event) {
    switch (event.type) {
        case 'thread.started':
            return `thread ${event.thread_id}`;
        case 'turn.completed': {
            const u = event.usage;
            return `turn completed (${u.input_tokens} input tokens, ${u.output_tokens} output tokens)`;
        }
        case 'turn.failed':
            return `turn failed: ${oneLine(event.message, 500)}`;
        case 'error':
            return `error: ${oneLine(event.message, 500)}`;
        case 'item.started': {
            const item = event.item;
            if (item.type === 'command_execution')
                return `$ ${oneLine(item.command, 300)}`;
            return null;
        }
        case 'item.completed': {
            const item = event.item;
            switch (item.type) {
                case 'agent_message':
                    return `codex: ${clip(item.text.trim(), 2000)}`;
                case 'command_execution': {
                    const result = item.exit_code === null ? item.status : `exit ${item.exit_code}`;
                    const output = item.aggregated_output.trim();
                    const lastLines = output ? `\n  ${clip(output.split('\n').slice(-3).join('\n  '), 400)}` : '';
                    return `$ ${oneLine(item.command, 300)} → ${result}${lastLines}`;
                }
                case 'file_change':
                    return `files ${item.status}: ${item.changes.map((c) => `${c.kind} ${c.path}`).join(', ')}`;
                case 'todo_list':
                    return `plan: ${item.items.map((t) => `[${t.completed ? 'x' : ' '}] ${oneLine(t.text, 80)}`).join(' ')}`;
                case 'mcp_tool_call':
                    return `mcp ${item.server}.${item.tool} → ${item.status}`;
                case 'web_search':
                    return `web search: ${oneLine(item.query, 200)}`;
                case 'error':
                    return `error: ${oneLine(item.message, 500)}`;
                case 'reasoning':
                case 'unknown':
                    return null;
            }
            return null;
        }
        case 'turn.started':
        case 'item.updated':
        case 'unknown':
            return null;
    }
}
/**
 * For a log followed live, where the command was shown when it started: a finished command reads
 * as its result under it ("  ↳ exit 0" and its last output lines); everything else as in `output`.
 */
export function renderLiveEvent(event) {
    if (event.type === 'item.completed' && event.item.type === 'command_execution') {
        const item = event.item;
        const output = item.aggregated_output.trim();
        const lastLines = output ? `\n    ${clip(output.split('\n').slice(-3).join('\n    '), 400)}` : '';
        return `  ↳ ${item.exit_code === null ? item.status : `exit ${item.exit_code}`}${lastLines}`;
    }
    return renderEvent(event);
}
//# sourceMappingURL=activity.js.map