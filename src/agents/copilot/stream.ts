import type { EventStream } from '../agent.js';
import { renderCopilotEvent } from './activity.js';
import { parseCopilotLine } from './events.js';
import { applyCopilotEvent } from './progress.js';

/** `copilot --output-format json`'s event stream, as the job store reads it. */
export const copilotStream: EventStream = {
  fold(line, progress) {
    const event = parseCopilotLine(line);
    if (event) applyCopilotEvent(progress, event);
  },
  render(line) {
    const event = parseCopilotLine(line);
    const text = event && renderCopilotEvent(event);
    return text ? { text, item: null } : null;
  },
};
