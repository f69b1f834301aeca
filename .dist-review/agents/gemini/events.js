/**
 * The JSONL stream of `gemini -p "" -o stream-json`, as a discriminated union on `type`.
 *
 * Gemini CLI writes one event per line: `init` (the session id and model), `message` (the user's
 * prompt, then the model's reply in `delta` chunks), `tool_use` / `tool_result` (paired by
 * `tool_id`; the result names neither the tool nor its arguments), `error` (a warning or error
 * that does not end the run) and `result` (the run's status and token counts). Anything else, and
 * any field of an unexpected type, becomes something harmless: a newer gemini can never break a job.
 */
import { isObject, str, num, parseJsonLine } from '../json.js';
/**
 * The run's tokens from `result.stats`. `input_tokens` counts cached ones too (`cached` of them);
 * gemini reports no thinking tokens of their own, but its total includes them, so they are what
 * the total holds beyond input and output.
 */
export function parseStats(v) {
    if (!isObject(v))
        return null;
    const input = num(v.input_tokens);
    const output = num(v.output_tokens);
    return {
        input_tokens: input,
        cached_input_tokens: num(v.cached),
        output_tokens: output,
        reasoning_output_tokens: Math.max(0, num(v.total_tokens) - input - output),
    };
}
/**
 * An API failure reads `[API Error: {"error":{"code":400,"message":"...","status":"..."}}]`: the
 * API's own message is the reason; anything else is kept as it is.
 */
export function readableError(message) {
    const wrapped = /^\[API Error: ([\s\S]*)\]$/.exec(message.trim());
    if (!wrapped)
        return message;
    try {
        const body = JSON.parse(wrapped[1]);
        const err = isObject(body) && isObject(body.error) ? body.error : null;
        if (err && typeof err.message === 'string') {
            const status = [err.code, err.status].filter((p) => typeof p === 'number' || typeof p === 'string').join(' ');
            return `API error${status ? ` ${status}` : ''}: ${err.message}`;
        }
    }
    catch {
        // Not JSON (a network failure reads "[API Error: fetch failed]"): the text says enough.
    }
    return `API error: ${wrapped[1]}`;
}
function errorText(v) {
    if (isObject(v))
        return str(v.message) || str(v.type) || null;
    return typeof v === 'string' && v !== '' ? v : null;
}
/** Parses one stdout line. Returns null for blank or non-JSON lines. */
export function parseEventLine(line) {
    const raw = parseJsonLine(line);
    if (!raw)
        return null;
    switch (raw.type) {
        case 'init':
            return { type: 'init', session_id: str(raw.session_id), model: str(raw.model) };
        case 'message':
            return { type: 'message', role: str(raw.role), content: str(raw.content), delta: raw.delta === true };
        case 'tool_use':
            return {
                type: 'tool_use',
                tool_name: str(raw.tool_name),
                tool_id: str(raw.tool_id),
                parameters: isObject(raw.parameters) ? raw.parameters : {},
            };
        case 'tool_result':
            return { type: 'tool_result', tool_id: str(raw.tool_id), status: str(raw.status), output: str(raw.output), error: errorText(raw.error) };
        case 'error':
            return { type: 'error', severity: str(raw.severity, 'error'), message: str(raw.message, 'unknown error') };
        case 'result': {
            const error = errorText(raw.error);
            return { type: 'result', status: str(raw.status), error: error === null ? null : readableError(error), usage: parseStats(raw.stats) };
        }
        default:
            return { type: 'unknown', originalType: str(raw.type, 'missing') };
    }
}
//# sourceMappingURL=events.js.map