import { isShellTool, toolTarget } from './events.js';
import { oneLine } from '../progress.js';
/** Folds one event into the progress, in place. */
export function applyCopilotEvent(p, event) {
    switch (event.type) {
        case 'assistant.turn_start':
        case 'assistant.reasoning':
            p.current = 'thinking';
            return;
        case 'assistant.message_delta':
            p.current = 'writing a reply';
            return;
        case 'assistant.message':
            if (event.content.trim() !== '')
                p.last_agent_message = event.content;
            p.current = event.toolRequests.length > 0 ? 'thinking' : 'writing a reply';
            return;
        case 'tool.execution_start': {
            const target = oneLine(toolTarget(event.toolName, event.arguments), 80);
            if (isShellTool(event.toolName))
                p.current = `running \`${target}\``;
            else
                p.current = target ? `${event.toolName} ${target}` : `using ${event.toolName}`;
            return;
        }
        case 'tool.execution_complete':
            // A command the CLI refused (no permission) never ran: it is not counted.
            if (event.ranShell)
                p.commands_run += 1;
            for (const change of event.fileEdits) {
                const known = p.files_changed.find((f) => f.path === change.path);
                if (known)
                    known.kind = change.kind;
                else
                    p.files_changed.push({ ...change });
            }
            p.current = 'thinking';
            return;
        case 'session.error':
            p.last_error = event.message;
            return;
        case 'abort':
            // Copilot exits 0 when interrupted: the abort is what tells this run did not complete.
            p.turn = 'failed';
            p.turn_error = `copilot was interrupted (${event.reason})`;
            p.current = null;
            return;
        case 'result':
            p.thread_id = event.sessionId || p.thread_id;
            p.current = null;
            if (event.exitCode === 0) {
                // After an abort the CLI may still report exit code 0: the abort stands.
                if (p.turn !== 'failed')
                    p.turn = 'completed';
            }
            else {
                p.turn = 'failed';
                p.turn_error = p.last_error ?? `copilot ended with exit code ${event.exitCode ?? 'unknown'}`;
            }
            return;
        case 'unknown':
            return;
    }
}
//# sourceMappingURL=progress.js.map