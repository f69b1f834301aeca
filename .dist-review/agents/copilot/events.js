/**
 * The JSONL stream of `copilot --output-format json`, as a discriminated union on `type`.
 *
 * Copilot CLI prints its session events (`{ type, data, id, timestamp, parentId, ephemeral? }`)
 * and, last, a `result` line with the session id and the exit code. It leaves token usage out
 * (`assistant.usage` is on its own list of events it does not print) and prints the session id
 * only in `result`. Only the events we use are typed; every other type, and any we do not know
 * yet, becomes `unknown`, so a newer CLI cannot break a job.
 */
import { isObject, str, parseJsonLine } from '../json.js';
const int = (v) => (typeof v === 'number' && Number.isInteger(v) ? v : null);
/** Copilot's edit kinds ("create", "edit", "delete", ...) in ours. */
function editKind(kind) {
    if (kind === 'create' || kind === 'add')
        return 'add';
    if (kind === 'delete' || kind === 'remove')
        return 'delete';
    return 'update';
}
function toolRequests(v) {
    if (!Array.isArray(v))
        return [];
    return v.filter(isObject).map((r) => ({ id: str(r.toolCallId), name: str(r.name), arguments: isObject(r.arguments) ? r.arguments : {} }));
}
function resultText(v) {
    if (!isObject(v))
        return str(v);
    return str(v.content, str(v.detailedContent));
}
function parseComplete(data) {
    const shell = isObject(data.shellExecution) ? data.shellExecution : null;
    const edits = Array.isArray(data.fileEdits) ? data.fileEdits.filter(isObject) : [];
    const error = isObject(data.error) ? str(data.error.message, JSON.stringify(data.error)) : typeof data.error === 'string' ? data.error : null;
    return {
        type: 'tool.execution_complete',
        toolCallId: str(data.toolCallId),
        success: data.success === true,
        ranShell: shell !== null,
        shellExitCode: shell ? int(shell.exitCode) : null,
        output: resultText(data.result),
        error,
        fileEdits: edits.map((e) => ({ path: str(e.path), kind: editKind(e.kind) })).filter((e) => e.path !== ''),
    };
}
/** Parses one stdout line. Returns null for blank or non-JSON lines. */
export function parseCopilotLine(line) {
    const raw = parseJsonLine(line);
    if (!raw)
        return null;
    const data = isObject(raw.data) ? raw.data : {};
    switch (raw.type) {
        case 'assistant.turn_start':
            return { type: 'assistant.turn_start' };
        case 'assistant.reasoning':
        case 'assistant.reasoning_delta':
            return { type: 'assistant.reasoning' };
        case 'assistant.message_delta':
            return { type: 'assistant.message_delta' };
        case 'assistant.message':
            return { type: 'assistant.message', content: str(data.content), toolRequests: toolRequests(data.toolRequests) };
        case 'tool.execution_start':
            return {
                type: 'tool.execution_start',
                toolCallId: str(data.toolCallId),
                toolName: str(data.toolName),
                arguments: isObject(data.arguments) ? data.arguments : {},
            };
        case 'tool.execution_complete':
            return parseComplete(data);
        case 'session.error':
            return { type: 'session.error', message: str(data.message, 'unknown error') };
        case 'abort':
            return { type: 'abort', reason: str(data.reason, 'unknown') };
        case 'result':
            // Not a session event: its fields sit at the top level.
            return { type: 'result', sessionId: str(raw.sessionId), exitCode: int(raw.exitCode) };
        default:
            return { type: 'unknown', originalType: str(raw.type, 'missing') };
    }
}
/** The shell tools: `bash` on Linux and macOS, `powershell` on Windows. */
export const isShellTool = (name) => name === 'bash' || name === 'powershell';
/** The command a shell tool runs, or the file another tool works on, for people. */
export function toolTarget(name, args) {
    if (isShellTool(name))
        return str(args.command);
    return str(args.path, str(args.pattern, str(args.description)));
}
/** The shell tool appends `<shellId: 0 completed with exit code 0>` to the output: not the command's. */
export const commandOutput = (text) => text.replace(/\n?<shellId: [^>]*>\s*$/, '');
//# sourceMappingURL=events.js.map