import type { FileChangeKind, ThreadEvent, Usage } from './events.js';

/**
 * What a job has done so far, folded from its event stream. It is plain JSON so the job store can
 * keep it next to the byte offset it was read up to: a poll then only reads what is new.
 */
export interface Progress {
  thread_id: string | null;
  /** What codex is doing right now, in a few words. */
  current: string | null;
  commands_run: number;
  files_changed: Array<{ path: string; kind: FileChangeKind }>;
  todo: Array<{ text: string; completed: boolean }>;
  usage: Usage | null;
  /** How the turn ended according to the stream, if it has. */
  turn: 'completed' | 'failed' | null;
  turn_error: string | null;
  /** The last non-fatal `error` event; kept because it explains a later failure. */
  last_error: string | null;
  last_agent_message: string | null;
}

export const emptyProgress = (): Progress => ({
  thread_id: null,
  current: null,
  commands_run: 0,
  files_changed: [],
  todo: [],
  usage: null,
  turn: null,
  turn_error: null,
  last_error: null,
  last_agent_message: null,
});

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const oneLine = (text: string, max = 120) => clip(text.replace(/\s+/g, ' ').trim(), max);

/** Folds one event into the progress, in place. */
export function applyEvent(p: Progress, event: ThreadEvent): void {
  switch (event.type) {
    case 'thread.started':
      p.thread_id = event.thread_id || p.thread_id;
      return;
    case 'turn.started':
      p.current = 'thinking';
      return;
    case 'turn.completed':
      p.turn = 'completed';
      p.usage = event.usage;
      p.current = null;
      return;
    case 'turn.failed':
      p.turn = 'failed';
      p.turn_error = event.message;
      p.current = null;
      return;
    case 'error':
      p.last_error = event.message;
      return;
    case 'unknown':
      return;
    case 'item.started':
    case 'item.updated':
    case 'item.completed': {
      const item = event.item;
      const done = event.type === 'item.completed';
      switch (item.type) {
        case 'command_execution':
          if (done) {
            p.commands_run += 1;
            p.current = 'thinking';
          } else {
            p.current = `running \`${oneLine(item.command, 80)}\``;
          }
          return;
        case 'file_change':
          if (!done) return;
          for (const change of item.changes) {
            const known = p.files_changed.find((f) => f.path === change.path);
            if (known) known.kind = change.kind;
            else p.files_changed.push({ ...change });
          }
          return;
        case 'agent_message':
          if (done) p.last_agent_message = item.text;
          p.current = 'writing a reply';
          return;
        case 'reasoning':
          p.current = 'thinking';
          return;
        case 'todo_list':
          p.todo = item.items;
          return;
        case 'mcp_tool_call':
          p.current = done ? 'thinking' : `calling ${item.server}.${item.tool}`;
          return;
        case 'web_search':
          p.current = done ? 'thinking' : `searching the web for "${oneLine(item.query, 60)}"`;
          return;
        case 'error':
          p.last_error = item.message;
          return;
        case 'unknown':
          return;
      }
    }
  }
}

/** "running `npm test` — 4 commands, 2 files changed, 12k tokens": for progress notifications. */
export function describeProgress(p: Pick<Progress, 'current' | 'commands_run' | 'files_changed' | 'usage'>): string {
  const parts: string[] = [];
  parts.push(`${p.commands_run} command${p.commands_run === 1 ? '' : 's'}`);
  parts.push(`${p.files_changed.length} file${p.files_changed.length === 1 ? '' : 's'} changed`);
  if (p.usage) {
    const tokens = p.usage.input_tokens + p.usage.output_tokens;
    parts.push(tokens >= 1000 ? `${Math.round(tokens / 1000)}k tokens` : `${tokens} tokens`);
  }
  return p.current ? `${p.current} — ${parts.join(', ')}` : parts.join(', ');
}

export { oneLine, clip };
