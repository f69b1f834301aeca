import type { EventStream } from '../agent.js';
import { renderEvent } from './activity.js';
import { parseEventLine } from './events.js';
import { applyEvent } from './progress.js';

/** `gemini -o stream-json`'s event stream, as the job store reads it. */
export const geminiStream: EventStream = {
  fold(line, progress) {
    const event = parseEventLine(line);
    if (event) applyEvent(progress, event);
  },
  render(line) {
    const event = parseEventLine(line);
    const text = event && renderEvent(event);
    return text ? { text, item: null } : null;
  },
};
