import type { EventStream } from '../agent.js';
import { renderEvent } from './activity.js';
import { parseClaudeLine } from './events.js';
import { applyEvent } from './progress.js';

/** `claude -p --output-format stream-json`'s stream, as the job store reads it. */
export const claudeStream: EventStream = {
  fold(line, progress) {
    const event = parseClaudeLine(line);
    if (event) applyEvent(progress, event);
  },
  render(line) {
    const event = parseClaudeLine(line);
    const text = event && renderEvent(event);
    return text ? { text, item: null } : null;
  },
};
