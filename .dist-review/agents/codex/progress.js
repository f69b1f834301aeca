import { oneLine } from '../progress.js';
/** Folds one event into the progress, in place. */
export function applyEvent(p, event) {
    switch (event.type) {
        case 'thread.started':
            p.thread_id = event.thread_id || p.thread_id;
            return;
        case 'turn.started':
            p.current = 'thinking';
            return;
        case 'turn.completed':
            p.turn = 'completed';
            p.usage = event.usage;
            p.current = null;
            return;
        case 'turn.failed':
            p.turn = 'failed';
            p.turn_error = event.message;
            p.current = null;
            return;
        case 'error':
            p.last_error = event.message;
            return;
        case 'unknown':
            return;
        case 'item.started':
        case 'item.updated':
        case 'item.completed': {
            const item = event.item;
            const done = event.type === 'item.completed';
            switch (item.type) {
                case 'command_execution':
                    if (done) {
                        p.commands_run += 1;
                        p.current = 'thinking';
                    }
                    else {
                        p.current = `running \`${oneLine(item.command, 80)}\``;
                    }
                    return;
                case 'file_change':
                    if (!done)
                        return;
                    for (const change of item.changes) {
                        const known = p.files_changed.find((f) => f.path === change.path);
                        if (known)
                            known.kind = change.kind;
                        else
                            p.files_changed.push({ ...change });
                    }
                    return;
                case 'agent_message':
                    if (done)
                        p.last_agent_message = item.text;
                    p.current = 'writing a reply';
                    return;
                case 'reasoning':
                    p.current = 'thinking';
                    return;
                case 'todo_list':
                    p.todo = item.items;
                    return;
                case 'mcp_tool_call':
                    p.current = done ? 'thinking' : `calling ${item.server}.${item.tool}`;
                    return;
                case 'web_search':
                    p.current = done ? 'thinking' : `searching the web for "${oneLine(item.query, 60)}"`;
                    return;
                case 'error':
                    p.last_error = item.message;
                    return;
                case 'unknown':
                    return;
            }
        }
    }
}
//# sourceMappingURL=progress.js.map