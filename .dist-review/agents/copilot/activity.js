import { commandOutput, isShellTool, toolTarget } from './events.js';
import { clip, oneLine } from '../progress.js';
const lastLines = (text) => {
    const out = text.trim();
    return out ? `\n    ${clip(out.split('\n').slice(-3).join('\n    '), 400)}` : '';
};
/**
 * Renders events as the lines a person reads in a job's `output`: what Copilot said, the commands
 * it ran and how they ended, the files it changed. A tool's end names neither the tool nor its
 * command, so it reads as a result under the line its start printed ("  ↳ exit 0").
 */
export function renderCopilotEvent(event) {
    switch (event.type) {
        case 'assistant.message':
            return event.content.trim() ? `copilot: ${clip(event.content.trim(), 2000)}` : null;
        case 'tool.execution_start': {
            const target = toolTarget(event.toolName, event.arguments);
            if (isShellTool(event.toolName))
                return `$ ${oneLine(target, 300)}`;
            return `${event.toolName}${target ? ` ${oneLine(target, 200)}` : ''}`;
        }
        case 'tool.execution_complete': {
            if (!event.success && !event.ranShell)
                return `  ↳ refused: ${oneLine(event.error ?? 'failed', 300)}`;
            if (event.ranShell)
                return `  ↳ ${event.shellExitCode === null ? 'ended' : `exit ${event.shellExitCode}`}${lastLines(commandOutput(event.output))}`;
            if (event.fileEdits.length > 0)
                return `  ↳ files changed: ${event.fileEdits.map((e) => `${e.kind} ${e.path}`).join(', ')}`;
            return null;
        }
        case 'session.error':
            return `error: ${oneLine(event.message, 500)}`;
        case 'abort':
            return `interrupted (${event.reason})`;
        case 'result':
            return `session ${event.sessionId} ended (exit ${event.exitCode ?? 'unknown'})`;
        case 'assistant.turn_start':
        case 'assistant.reasoning':
        case 'assistant.message_delta':
        case 'unknown':
            return null;
    }
}
//# sourceMappingURL=activity.js.map