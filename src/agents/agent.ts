import type { Progress } from './progress.js';

/**
 * How the job store reads an agent's output: one event per line, folded into the agent-neutral
 * progress and rendered for people. Each agent's adapter (agents/<name>/) provides one; a line it
 * does not understand changes nothing and renders as nothing, so a newer CLI cannot break a job.
 */
export interface EventStream {
  /** Folds one line of the agent's output into `progress`, in place. */
  fold(line: string, progress: Progress): void;
  /** The readable activity for one line of output, or null when it shows nothing. */
  render(line: string): ActivityLine | null;
}

export interface ActivityLine {
  text: string;
  /** The item (a command, an edit) it is about: a finished item's line replaces its "started" one. */
  item: { id: string; done: boolean } | null;
}
