import type { EventStream } from '../agent.js';
import { renderEvent, renderLiveEvent } from './activity.js';
import { parseEventLine } from './events.js';
import { applyEvent } from './progress.js';

/** `codex exec --json`'s event stream, as the job store reads it. */
export const codexStream: EventStream = {
  fold(line, progress) {
    const event = parseEventLine(line);
    if (event) applyEvent(progress, event);
  },
  render(line) {
    const event = parseEventLine(line);
    const text = event && renderEvent(event);
    if (!event || !text) return null;
    const item = 'item' in event && (event.type === 'item.started' || event.type === 'item.completed') ? { id: event.item.id, done: event.type === 'item.completed' } : null;
    return { text, item };
  },
  renderLive(line) {
    const event = parseEventLine(line);
    return event && renderLiveEvent(event);
  },
};
