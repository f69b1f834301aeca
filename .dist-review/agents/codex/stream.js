import { eventStream } from '../agent.js';
import { renderEvent, renderLiveEvent } from './activity.js';
import { parseEventLine } from './events.js';
import { applyEvent } from './progress.js';
/** `codex exec --json`'s event stream, as the job store reads it. */
export const codexStream = eventStream({
    parse: parseEventLine,
    apply: applyEvent,
    render: renderEvent,
    item: (event) => 'item' in event && (event.type === 'item.started' || event.type === 'item.completed') ? { id: event.item.id, done: event.type === 'item.completed' } : null,
    renderLive: renderLiveEvent,
});
//# sourceMappingURL=stream.js.map