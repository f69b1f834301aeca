import { eventStream } from '../agent.js';
import { renderEvent } from './activity.js';
import { parseClaudeLine } from './events.js';
import { applyEvent } from './progress.js';
/** `claude -p --output-format stream-json`'s stream, as the job store reads it. */
export const claudeStream = eventStream({ parse: parseClaudeLine, apply: applyEvent, render: renderEvent });
//# sourceMappingURL=stream.js.map