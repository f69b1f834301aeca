import { ToolError } from '../errors.js';
/**
 * Runs one tool call: engine errors become tool results with `isError: true` and a message that
 * says what to do; the server itself never fails a call.
 */
export async function call(log, work, summary) {
    try {
        const result = await work();
        return { content: [{ type: 'text', text: summary(result) }], structuredContent: result };
    }
    catch (err) {
        if (err instanceof ToolError)
            return { isError: true, content: [{ type: 'text', text: `${err.kind}: ${err.message}` }] };
        log('error', `unexpected failure: ${err.stack ?? String(err)}`);
        return { isError: true, content: [{ type: 'text', text: `internal error: ${err.message}` }] };
    }
}
//# sourceMappingURL=call.js.map