import os from 'node:os';
import type { Access } from './access.js';
import type { Progress, Usage } from './progress.js';

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

/** How one agent's events are read: the pieces an EventStream is made of (see eventStream). */
export interface StreamReader<E> {
  /** One line as an event; null for a line that is not one (blank, not JSON). */
  parse(line: string): E | null;
  apply(progress: Progress, event: E): void;
  render(event: E): string | null;
  /** The item (command, edit) an event starts or ends, so the end's line can replace the start's. */
  item?(event: E): ActivityLine['item'];
  renderLive?(event: E): string | null;
}

/** An EventStream from an agent's parser, folder and renderer: each line parsed once per use. */
export function eventStream<E>(reader: StreamReader<E>): EventStream {
  const { parse, apply, render, item, renderLive } = reader;
  return {
    fold(line, progress) {
      const event = parse(line);
      if (event) apply(progress, event);
    },
    render(line) {
      const event = parse(line);
      const text = event && render(event);
      return event && text ? { text, item: item?.(event) ?? null } : null;
    },
    ...(renderLive && {
      renderLive(line: string) {
        const event = parse(line);
        return event && renderLive(event);
      },
    }),
  };
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

/**
 * Paths a CLI writes: directories, and single files it writes in place (bound on their own, so
 * created empty when missing; a file replaced by a rename cannot be one), and environment that
 * points its writes there.
 */
export interface AgentWrites {
  dirs: string[];
  files: string[];
  env?: Record<string, string>;
  /**
   * Settings files inside those directories that stay read-only: the ones that make the CLI run
   * commands (hooks, MCP servers, a key helper), which a job must not plant for the user's next run of
   * that CLI, outside any sandbox. One missing is made as `{}`, so that a job cannot create it either.
   */
  settings?: string[];
  /**
   * Inside those directories, what the CLI later loads code from (plugins, extensions, hooks, its own
   * unpacked program) or reads settings from that make it run commands: read-only, so that a job
   * cannot plant code for the user's next, unsandboxed run. Made (empty) when missing, like settings.
   */
  lockedDirs?: string[];
  lockedFiles?: string[];
}

/**
 * Whether a job of this agent with this access runs inside our OS sandbox: every agent without a
 * sandbox of its own, except under danger-full-access (the operator's explicit choice).
 */
export const runsInOurSandbox = (agent: Agent, access: Access): boolean =>
  agent.sandboxWrites !== undefined && !access.bypass && access.sandbox !== 'danger-full-access';

/** The user's home in the job's environment. */
export const homeOf = (env: NodeJS.ProcessEnv): string => env.HOME || os.homedir();

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
  /**
   * The program to run for the executable found (on PATH or in its <NAME>_BIN), when an install
   * puts a launcher there that would only start it. Without it, the executable found runs.
   */
  binaryBehind?(found: string): string;
  /** How to install it (or update it to the newest release), for error messages and doctor. */
  readonly install: string;
  /**
   * The oldest release of its CLI this adapter supports: at least every release of the last three
   * months, as users update at their own pace. An older one is refused (codex_start, doctor) with how
   * to update; the tests run the agent contract against this release too (test/cli-floors).
   */
  readonly floor: string;
  /** The version from `<binary> --version`'s output. */
  parseVersion(stdout: string): string;
  /** The version read from the install beside the binary, without running it; null: run --version. */
  installedVersion?(binary: string): string | null;
  readonly stream: EventStream;
  /** The argv after the binary. Never the prompt: it goes on stdin. */
  argv(spec: RunSpec): string[];
  /** Environment the CLI needs on top of the job's (its own switches, never secrets). */
  env(spec: RunSpec): Record<string, string>;
  /**
   * What the CLI itself writes (its config and session state, a report in the job's directory), for
   * the OS sandbox we run it in (supervise/sandbox.ts) to leave writable, and what it must be told
   * to write there; `env` is the job's environment (HOME, the CLI's own home variables). Called at
   * each launch in the sandbox, so it may make what it names, and prepare, outside the sandbox, what
   * must then stay read-only (`binary`: the program the job runs). Absent: the CLI has an OS sandbox
   * of its own (codex) and runs outside ours.
   */
  sandboxWrites?(spec: RunSpec, env: NodeJS.ProcessEnv, binary: string): AgentWrites | Promise<AgentWrites>;
  readonly unsupported: readonly Feature[];
  /** Why this CLI cannot be given a directory (cwd, an add_dirs entry), if it cannot: codex_start says so. */
  pathProblem?(dir: string): string | null;
  /** Whether it resumes a session only from the directory it began in: a reply then never gets a worktree of its own. */
  readonly resumesInPlaceOnly?: boolean;
  /**
   * Whether an exit status of 0 is a success only with a completed turn in the stream: some CLIs
   * exit 0 when interrupted (Gemini CLI, Copilot CLI) or after a signal ended only their tool
   * (Claude Code), and that must not read as completed.
   */
  readonly exitZeroNeedsTurn: boolean;
  /**
   * A fixed string whose presence in the last lines of the stream means the turn completed: what
   * the wrapper runs the check on when exit 0 does not say so (exitZeroNeedsTurn), and after an
   * agent ended because it lingered past its completed turn. Null: exit 0 alone says so.
   */
  readonly turnCompletedMark: string | null;
  /** A fixed string whose presence in the last lines means the turn was interrupted, whatever else they say. */
  readonly interruptedMark?: string;
  /**
   * Tokens used, read from a report the CLI writes in the job's directory when it ends, for a CLI
   * whose stream has no token counts (Copilot CLI). Asked only when the stream gave none.
   */
  usageAtEnd?(jobDir: string): Usage | null;
  /**
   * Whether the model provider and credentials look configured: for doctor, never a network call.
   * Loaded when asked, so that a server does not load config parsers at start.
   */
  provider(env: NodeJS.ProcessEnv): Promise<ProviderReading>;
}

/** `codexLogin`: the provider takes OpenAI's credentials, so whether codex is logged in matters too. */
export type ProviderReading = { ok: true; detail: string; codexLogin?: boolean } | { ok: false; detail: string; fix: string };
