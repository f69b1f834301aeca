/**
 * Errors a caller can act on. `kind` is for code to switch on, `message` is for a person and says
 * what to do next. The MCP layer turns these into tool results with `isError: true`.
 */
export type ToolErrorKind =
  | 'invalid_input'
  | 'not_found'
  | 'not_finished'
  | 'conflict'
  | 'dangerous_disabled'
  | 'codex_unavailable'
  | 'agent_unavailable'
  | 'sandbox_unavailable'
  | 'runner_unavailable'
  | 'storage'
  | 'config';

/** What an error may tell the caller to do next; each surface names them its own way. */
export type Operation = 'start' | 'poll' | 'wait' | 'result' | 'list' | 'cancel' | 'reply' | 'diff' | 'apply' | 'discard' | 'land';
export type Namer = (operation: Operation) => string;

/** How the MCP tools are named: the default wording of every message. */
export const toolName: Namer = (operation) => `codex_${operation}`;

/** A message that names the next step through `name`: `codex_wait` for a client, `codex-async-mcp wait` for a person. */
export type Phrase = (name: Namer) => string;

export class ToolError extends Error {
  override name = 'ToolError';
  constructor(
    readonly kind: ToolErrorKind,
    private readonly phrase: string | Phrase,
  ) {
    super(typeof phrase === 'string' ? phrase : phrase(toolName));
  }

  /** The message, with the operations it points to named by `name`. */
  say(name: Namer): string {
    return typeof this.phrase === 'string' ? this.phrase : this.phrase(name);
  }
}

export const invalid = (message: string | Phrase) => new ToolError('invalid_input', message);
