import type { Access } from './access.js';
import type { Progress } from './progress.js';

/** The agents a job can run, by the name clients pass as `agent`. */
export const AGENT_NAMES = ['codex', 'claude', 'copilot', 'gemini'] as const;
export type AgentName = (typeof AGENT_NAMES)[number];

/** CODEX_BIN, CLAUDE_BIN, …: the full path (or command name) of an agent's binary, for the operator to set. */
export const binEnvOf = (name: AgentName) => `${name.toUpperCase()}_BIN`;

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
  /**
   * For a log followed live, where an item was shown when it started: its end may read as just its
   * result. Without it, a live log prints render(line).
   */
  renderLive?(line: string): string | null;
}

export interface ActivityLine {
  text: string;
  /** The item (a command, an edit) it is about: a finished item's line replaces its "started" one. */
  item: { id: string; done: boolean } | null;
}

/** One launch of an agent, in our terms: each adapter turns it into its CLI's argv and environment. */
export interface RunSpec {
  jobId: string;
  cwd: string;
  access: Access;
  /** A file the agent may write its final message to (codex's `-o`); others report it in their stream. */
  lastMessageFile: string;
  /** The job's own directory, for files an agent writes beside its stream (a usage report). */
  jobDir: string;
  model: string | null;
  reasoningEffort: string | null;
  outputSchemaFile: string | null;
  images: readonly string[];
  addDirs: readonly string[];
  /** The session to continue (a reply), or null for a new one. */
  resume: string | null;
  /** Keep /tmp out of the writable places (a job in a worktree): only agents with a sandbox can. */
  privateTmp: boolean;
}

/** The job options an agent may not support: codex_start refuses them for it, saying so. */
export type Feature = 'model' | 'reasoning_effort' | 'output_schema' | 'images' | 'add_dirs';

/**
 * Everything that knows one agent's CLI. The engine, the store and the tools know agents only
 * through this: a new agent is a new folder under agents/ and one line in agents/registry.ts.
 */
export interface Agent {
  readonly name: AgentName;
  /** For people: "Claude Code". */
  readonly title: string;
  /** The command looked up on PATH (the environment variable binEnvOf(name) names the binary instead). */
  readonly command: string;
  /** How to install it, for error messages and doctor. */
  readonly install: string;
  /** The version from `<binary> --version`'s output. */
  parseVersion(stdout: string): string;
  readonly stream: EventStream;
  /** The argv after the binary. Never the prompt: it goes on stdin. */
  argv(spec: RunSpec): string[];
  /** Environment the CLI needs on top of the job's (its own switches, never secrets). */
  env(spec: RunSpec): Record<string, string>;
  readonly unsupported: readonly Feature[];
  /**
   * Whether an exit status of 0 is a success only with a completed turn in the stream: some CLIs
   * exit 0 when interrupted (Gemini CLI, Copilot CLI) or after a signal ended only their tool
   * (Claude Code), and that must not read as completed.
   */
  readonly exitZeroNeedsTurn: boolean;
  /**
   * A fixed string whose presence in the tail of the stream means the turn completed: the check
   * still runs when the agent had to be ended after its turn because it lingered. Null: never.
   */
  readonly turnCompletedMark: string | null;
  /** Whether the model provider and credentials look configured: for doctor, never a network call. */
  provider(env: NodeJS.ProcessEnv): ProviderReading;
}

export type ProviderReading = { ok: true; detail: string } | { ok: false; detail: string; fix: string };
