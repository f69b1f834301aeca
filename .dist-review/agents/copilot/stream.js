import { eventStream } from '../agent.js';
import { renderCopilotEvent } from './activity.js';
import { parseCopilotLine } from './events.js';
import { applyCopilotEvent } from './progress.js';
/** `copilot --output-format json`'s event stream, as the job store reads it. */
export const copilotStream = eventStream({ parse: parseCopilotLine, apply: applyCopilotEvent, render: renderCopilotEvent });
//# sourceMappingURL=stream.js.map