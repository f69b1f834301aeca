import { oneLine } from '../progress.js';
/** Folds one event into the progress, in place. */
export function applyEvent(p, event) {
    switch (event.type) {
        case 'init':
            p.thread_id = event.session_id || p.thread_id;
            p.current = 'thinking';
            return;
        case 'api_retry':
            p.last_error = `model API unavailable (${event.error}), retry ${event.attempt} of ${event.max_retries}`;
            p.current = 'waiting for the model API';
            return;
        case 'permission_denied':
            // Claude Code goes on without the tool: the refusal explains a result that lacks its effect.
            p.last_error = `${event.tool} refused: ${event.message}`;
            return;
        case 'assistant':
            for (const block of event.blocks) {
                if (block.kind === 'text') {
                    if (block.text.trim())
                        p.last_agent_message = block.text;
                    p.current = 'writing a reply';
                }
                else if (block.command !== null) {
                    p.current = `running \`${oneLine(block.command, 80)}\``;
                }
                else if (block.file !== null) {
                    p.current = `editing ${oneLine(block.file, 80)}`;
                }
                else {
                    p.current = `using ${block.name}`;
                }
            }
            return;
        case 'tool_results':
            for (const result of event.results) {
                if (result.commandRan)
                    p.commands_run += 1;
                if (result.file) {
                    const { path, kind } = result.file;
                    const known = p.files_changed.find((f) => f.path === path);
                    // A file created in this job stays "add" however often it is edited after.
                    if (known)
                        known.kind = known.kind === 'add' ? 'add' : kind;
                    else
                        p.files_changed.push({ path, kind });
                }
            }
            p.current = 'thinking';
            return;
        case 'result':
            p.thread_id = event.session_id || p.thread_id;
            p.usage = event.usage;
            p.current = null;
            if (event.completed) {
                p.turn = 'completed';
                if (event.text !== null)
                    p.last_agent_message = event.text;
            }
            else {
                p.turn = 'failed';
                const why = `${event.subtype}${event.terminal_reason ? ` (${event.terminal_reason})` : ''}${event.errors ? `: ${event.errors}` : ''}`;
                p.turn_error = event.text || why;
            }
            return;
        case 'unknown':
            return;
    }
}
//# sourceMappingURL=progress.js.map