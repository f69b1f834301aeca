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
  | 'storage'
  | 'config';

export class ToolError extends Error {
  override name = 'ToolError';
  constructor(
    readonly kind: ToolErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export const invalid = (message: string) => new ToolError('invalid_input', message);
