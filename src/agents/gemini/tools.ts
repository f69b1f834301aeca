/**
 * What a Gemini CLI tool call does, from its name and arguments: a shell command, a file edit or
 * anything else (reading, searching, fetching). Built-in names as of gemini 0.61; a tool we do not
 * know is "other", never an error.
 */
export type ToolCall = { kind: 'shell'; command: string } | { kind: 'edit'; path: string } | { kind: 'other'; name: string; target: string | null };

const SHELL_TOOLS = new Set(['run_shell_command']);
/** write_file creates or overwrites a file; replace edits one in place (`edit` in older releases). */
const EDIT_TOOLS = new Set(['write_file', 'replace', 'edit']);

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

export function classifyTool(name: string, parameters: Record<string, unknown>): ToolCall {
  if (SHELL_TOOLS.has(name)) return { kind: 'shell', command: str(parameters.command) ?? '' };
  const path = str(parameters.file_path) ?? str(parameters.absolute_path) ?? str(parameters.path);
  if (EDIT_TOOLS.has(name) && path) return { kind: 'edit', path };
  return { kind: 'other', name: name || 'a tool', target: path ?? str(parameters.pattern) ?? str(parameters.query) ?? str(parameters.url) };
}

/**
 * The tool a result answers: gemini names every call `<tool>__<id>` (0.61's Turn), and the result
 * carries only that id. Null when an id does not follow the pattern.
 */
export function toolOfCallId(toolId: string): string | null {
  const at = toolId.indexOf('__');
  return at > 0 ? toolId.slice(0, at) : null;
}

export const isShellTool = (name: string | null) => name !== null && SHELL_TOOLS.has(name);
export const isEditTool = (name: string | null) => name !== null && EDIT_TOOLS.has(name);
