import { classifyTool, isEditTool, isShellTool, toolOfCallId } from './tools.js';
import { oneLine } from '../progress.js';
const WRITING = 'writing a reply';
/**
 * Gemini's shell tool refuses, in every mode, a command with $(...), backticks, <(...) or >(...),
 * and reports that as a successful result with this output: the command never ran.
 */
const SUBSTITUTION_BLOCKED = 'Blocked: command substitution detected';
/** The edit in progress, with its full path: its result names neither tool nor file. */
const EDITING = /^editing `([\s\S]*)`$/;
/**
 * Folds one event into the progress, in place. A `tool_result` carries only its call's id, which
 * names the tool (`<tool>__<id>`) but not its arguments: the file an edit wrote is the one
 * `current` names since its `tool_use`. When the model asks for several edits at once, only the
 * last asked-for is known by the time the results come: the earlier ones go uncounted rather
 * than miscounted. A command counts once it ran (one that exits non-zero still "succeeds"); an
 * edit once it was written — a refused one (no edit tool under read-only) does not.
 */
export function applyEvent(p, event) {
    switch (event.type) {
        case 'init':
            p.thread_id = event.session_id || p.thread_id;
            p.current = 'thinking';
            return;
        case 'message':
            if (event.role !== 'assistant') {
                p.current = 'thinking';
                return;
            }
            // A reply streams in chunks: a chunk continues the reply being written, else starts one.
            p.last_agent_message = event.delta && p.current === WRITING ? (p.last_agent_message ?? '') + event.content : event.content;
            p.current = WRITING;
            return;
        case 'tool_use': {
            const call = classifyTool(event.tool_name, event.parameters);
            if (call.kind === 'shell')
                p.current = `running \`${oneLine(call.command, 80)}\``;
            else if (call.kind === 'edit')
                p.current = `editing \`${call.path}\``;
            else
                p.current = `calling ${call.name}`;
            return;
        }
        case 'tool_result': {
            const current = p.current ?? '';
            const tool = toolOfCallId(event.tool_id);
            p.current = 'thinking';
            if (event.status !== 'success') {
                if (event.error)
                    p.last_error = event.error;
                return;
            }
            if (isShellTool(tool) && event.output.startsWith(SUBSTITUTION_BLOCKED)) {
                p.last_error = event.output;
                return;
            }
            if (isShellTool(tool))
                p.commands_run += 1;
            const edited = isEditTool(tool) ? EDITING.exec(current) : null;
            // write_file may have created the file or replaced it: the stream does not say which.
            if (edited && !p.files_changed.some((f) => f.path === edited[1]))
                p.files_changed.push({ path: edited[1], kind: 'update' });
            return;
        }
        case 'error':
            p.last_error = event.message;
            return;
        case 'result':
            if (event.usage)
                p.usage = event.usage;
            p.current = null;
            if (event.status === 'success') {
                p.turn = 'completed';
            }
            else {
                p.turn = 'failed';
                p.turn_error = event.error ?? p.last_error ?? `gemini ended with status "${event.status || 'unknown'}"`;
            }
            return;
        case 'unknown':
            return;
    }
}
//# sourceMappingURL=progress.js.map