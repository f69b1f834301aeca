/** The agent-neutral shape of a job's progress: every agent's adapter folds its stream into it. */

/** Tokens used, as every agent's adapter reports them. */
export interface Usage {
  input_tokens: number;
  cached_input_tokens: number;
  output_tokens: number;
  reasoning_output_tokens: number;
}

export type FileChangeKind = 'add' | 'delete' | 'update';

/**
 * What a job has done so far, folded from its event stream. It is plain JSON so the job store can
 * keep it next to the byte offset it was read up to: a poll then only reads what is new.
 */
export interface Progress {
  thread_id: string | null;
  /** What the agent is doing right now, in a few words. */
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

export const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
export const oneLine = (text: string, max = 120) => clip(text.replace(/\s+/g, ' ').trim(), max);

/**
 * "running `npm test` — 4 commands, 2 files changed, 12k tokens": for progress notifications.
 * `measuredFiles`: the files git found changed in the job's worktree, when measured. The agent
 * reports only the files its edit tool wrote, not those a shell command wrote, so once git's count
 * is known it is the one shown, and a job never reads as "0 files changed" beside "+1 in 1 file".
 */
export function describeProgress(p: Pick<Progress, 'current' | 'commands_run' | 'files_changed' | 'usage'>, measuredFiles?: number | null): string {
  const parts: string[] = [];
  const files = measuredFiles ?? p.files_changed.length;
  parts.push(`${p.commands_run} command${p.commands_run === 1 ? '' : 's'}`);
  parts.push(`${files} file${files === 1 ? '' : 's'} changed`);
  if (p.usage) {
    const tokens = p.usage.input_tokens + p.usage.output_tokens;
    parts.push(tokens >= 1000 ? `${Math.round(tokens / 1000)}k tokens` : `${tokens} tokens`);
  }
  return p.current ? `${p.current} — ${parts.join(', ')}` : parts.join(', ');
}
