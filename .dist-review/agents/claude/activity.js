import { clip, oneLine } from '../progress.js';
/**
 * Renders events as the lines a person reads in a job's `output`: what Claude said, the tools it
 * called and what came back, refusals, and how the turn ended. A tool's result is its own line
 * under the call: the result does not repeat the command, so it cannot stand in for it.
 */
export function renderEvent(event) {
    switch (event.type) {
        case 'init':
            return `session ${event.session_id} (${event.model}, permission mode ${event.permission_mode})`;
        case 'api_retry':
            return `model API unavailable (${event.error}), retry ${event.attempt} of ${event.max_retries}`;
        case 'permission_denied':
            return `refused ${event.tool}: ${oneLine(event.message, 300)}`;
        case 'assistant': {
            const lines = event.blocks.map((b) => {
                if (b.kind === 'text')
                    return b.text.trim() ? `claude: ${clip(b.text.trim(), 2000)}` : null;
                if (b.command !== null)
                    return `$ ${oneLine(b.command, 300)}`;
                if (b.file !== null)
                    return `${b.name} ${b.file}`;
                return `${b.name}`;
            });
            const shown = lines.filter((l) => l !== null);
            return shown.length > 0 ? shown.join('\n') : null;
        }
        case 'tool_results': {
            const lines = event.results.map((r) => {
                const output = r.text.trim();
                const lastLines = output ? ` ${clip(output.split('\n').slice(-3).join('\n    '), 400)}` : '';
                return `  ↳ ${r.isError ? 'error' : 'ok'}${lastLines}`;
            });
            return lines.join('\n');
        }
        case 'result': {
            const u = event.usage;
            if (event.completed)
                return `turn completed (${u.input_tokens} input tokens, ${u.output_tokens} output tokens)`;
            return `turn failed: ${oneLine(event.text || event.subtype, 500)}`;
        }
        case 'unknown':
            return null;
    }
}
//# sourceMappingURL=activity.js.map