import { classifyTool } from './tools.js';
import { clip, oneLine } from '../progress.js';
/**
 * Renders events as the lines a person reads in a job's `output`: what gemini said (chunk by
 * chunk, as it streams), the tools it called and how they ended. The prompt echo and unknown
 * events render as nothing.
 */
export function renderEvent(event) {
    switch (event.type) {
        case 'init':
            return `session ${event.session_id}${event.model ? ` (model ${event.model})` : ''}`;
        case 'message': {
            const text = event.content.trim();
            return event.role === 'assistant' && text ? `gemini: ${clip(text, 2000)}` : null;
        }
        case 'tool_use': {
            const call = classifyTool(event.tool_name, event.parameters);
            if (call.kind === 'shell')
                return `$ ${oneLine(call.command, 300)}`;
            if (call.kind === 'edit')
                return `edit ${call.path}`;
            return `${call.name}${call.target ? ` ${oneLine(call.target, 200)}` : ''}`;
        }
        case 'tool_result': {
            const output = event.output.trim();
            const lastLines = output ? `\n    ${clip(output.split('\n').slice(-3).join('\n    '), 400)}` : '';
            if (event.status === 'success')
                return `  ↳ ok${lastLines}`;
            return `  ↳ ${event.status || 'error'}: ${oneLine(event.error ?? (output || 'tool failed'), 300)}`;
        }
        case 'error':
            return `${event.severity === 'warning' ? 'warning' : 'error'}: ${oneLine(event.message, 500)}`;
        case 'result': {
            const u = event.usage;
            const tokens = u ? ` (${u.input_tokens} input tokens, ${u.output_tokens} output tokens)` : '';
            return event.status === 'success' ? `turn completed${tokens}` : `turn failed: ${oneLine(event.error ?? event.status, 500)}`;
        }
        case 'unknown':
            return null;
    }
}
//# sourceMappingURL=activity.js.map