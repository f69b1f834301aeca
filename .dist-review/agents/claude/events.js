/**
 * The JSONL stream of `claude -p --output-format stream-json --verbose`, as a discriminated union.
 *
 * Each line is one message of Claude Code's SDK protocol: `system` (init, api_retry,
 * permission_denied, task notices), `assistant` (text and tool_use blocks), `user` (tool_result
 * blocks, with the tool's own result beside them in `tool_use_result`) and the final `result`.
 * Anything else, and any field we do not know, becomes `unknown` or is ignored: a newer Claude Code
 * can never break a job.
 */
import { isObject, str, num, parseJsonLine } from '../json.js';
/**
 * In the stream's last line when, and only when, the turn completed: `terminal_reason` is written
 * on the result line alone, and a quote inside any text would be escaped.
 */
export const COMPLETED_MARK = '"terminal_reason":"completed"';
const SHELL_TOOLS = new Set(['Bash', 'PowerShell']);
const WRITE_TOOLS = new Set(['Write', 'Edit', 'MultiEdit', 'NotebookEdit']);
/** Anthropic counts cache reads and writes apart from `input_tokens`; ours counts them in, as codex does. */
export function parseUsage(v) {
    const u = isObject(v) ? v : {};
    const details = isObject(u.output_tokens_details) ? u.output_tokens_details : {};
    return {
        input_tokens: num(u.input_tokens) + num(u.cache_read_input_tokens) + num(u.cache_creation_input_tokens),
        cached_input_tokens: num(u.cache_read_input_tokens),
        output_tokens: num(u.output_tokens),
        reasoning_output_tokens: num(details.thinking_tokens),
    };
}
function contentBlocks(message) {
    const content = isObject(message) ? message.content : undefined;
    return Array.isArray(content) ? content.filter(isObject) : [];
}
function parseAssistant(raw) {
    const blocks = [];
    for (const b of contentBlocks(raw.message)) {
        if (b.type === 'text' && typeof b.text === 'string')
            blocks.push({ kind: 'text', text: b.text });
        else if (b.type === 'tool_use') {
            const name = str(b.name);
            const input = isObject(b.input) ? b.input : {};
            blocks.push({
                kind: 'tool_use',
                id: str(b.id),
                name,
                command: SHELL_TOOLS.has(name) ? str(input.command) : null,
                file: WRITE_TOOLS.has(name) ? str(input.file_path, str(input.notebook_path)) || null : null,
            });
        }
    }
    return { type: 'assistant', blocks };
}
function resultText(content) {
    if (typeof content === 'string')
        return content;
    if (!Array.isArray(content))
        return '';
    return content.map((c) => (isObject(c) && typeof c.text === 'string' ? c.text : '')).join('');
}
/**
 * The tool's own account (`tool_use_result`) tells what happened: a shell tool's has `stdout`
 * (or, for a non-zero exit, reads "Error: Exit code N"), a file tool's names `filePath`; a refused
 * call is marked `non_execution_kind` in `tool_result_meta`.
 */
function parseToolResults(raw) {
    const own = raw.tool_use_result;
    const meta = Array.isArray(raw.tool_result_meta) ? raw.tool_result_meta.filter(isObject) : [];
    const blocks = contentBlocks(raw.message).filter((b) => b.type === 'tool_result');
    const results = blocks.map((b) => {
        const id = str(b.tool_use_id);
        const refused = meta.some((m) => m.id === id && m.non_execution_kind !== undefined);
        // tool_use_result belongs to the line's one tool result; a line with several has no single one.
        const mine = blocks.length === 1 ? own : undefined;
        const ran = !refused && ((isObject(mine) && typeof mine.stdout === 'string') || /^Error: Exit code \d+/.test(str(mine)));
        const filePath = isObject(mine) ? str(mine.filePath) : '';
        return {
            id,
            commandRan: ran,
            file: !refused && filePath ? { path: filePath, kind: isObject(mine) && mine.type === 'create' ? 'add' : 'update' } : null,
            isError: b.is_error === true,
            text: resultText(b.content),
        };
    });
    return results.length > 0 ? { type: 'tool_results', results } : { type: 'unknown', originalType: 'user' };
}
function parseResult(raw) {
    const subtype = str(raw.subtype, 'missing');
    const errors = Array.isArray(raw.errors) ? raw.errors.filter((e) => typeof e === 'string').join('; ') : '';
    return {
        type: 'result',
        completed: subtype === 'success' && raw.is_error === false,
        subtype,
        text: typeof raw.result === 'string' ? raw.result : null,
        errors,
        usage: parseUsage(raw.usage),
        session_id: str(raw.session_id),
        denials: Array.isArray(raw.permission_denials) ? raw.permission_denials.length : 0,
        terminal_reason: str(raw.terminal_reason),
    };
}
/** Parses one stdout line. Returns null for blank or non-JSON lines. */
export function parseClaudeLine(line) {
    const raw = parseJsonLine(line);
    if (!raw)
        return null;
    switch (raw.type) {
        case 'system':
            switch (raw.subtype) {
                case 'init':
                    return { type: 'init', session_id: str(raw.session_id), model: str(raw.model), permission_mode: str(raw.permissionMode) };
                case 'api_retry':
                    return {
                        type: 'api_retry',
                        attempt: num(raw.attempt),
                        max_retries: num(raw.max_retries),
                        error: typeof raw.error_status === 'number' ? `HTTP ${raw.error_status}` : str(raw.error, 'unknown error'),
                    };
                case 'permission_denied':
                    return { type: 'permission_denied', tool: str(raw.tool_name), message: str(raw.message, str(raw.decision_reason)) };
                default:
                    return { type: 'unknown', originalType: `system/${str(raw.subtype, 'missing')}` };
            }
        case 'assistant':
            return parseAssistant(raw);
        case 'user':
            return parseToolResults(raw);
        case 'result':
            return parseResult(raw);
        default:
            return { type: 'unknown', originalType: str(raw.type, 'missing') };
    }
}
//# sourceMappingURL=events.js.map