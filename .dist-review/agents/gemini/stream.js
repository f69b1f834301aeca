import { eventStream } from '../agent.js';
import { renderEvent } from './activity.js';
import { parseEventLine } from './events.js';
import { applyEvent } from './progress.js';
/** `gemini -o stream-json`'s event stream, as the job store reads it. */
export const geminiStream = eventStream({ parse: parseEventLine, apply: applyEvent, render: renderEvent });
//# sourceMappingURL=stream.js.map