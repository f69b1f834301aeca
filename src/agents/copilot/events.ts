/**
 * The JSONL stream of `copilot --output-format json`, as a discriminated union on `type`.
 *
 * Copilot CLI prints its session events (`{ type, data, id, timestamp, parentId, ephemeral? }`)
 * and, last, a `result` line with the session id and the exit code. It leaves token usage out
 * (`assistant.usage` is on its own list of events it does not print) and prints the session id
 * only in `result`. Only the events we use are typed; every other type, and any we do not know
 * yet, becomes `unknown`, so a newer CLI cannot break a job.
 */

import type { FileChangeKind } from '../progress.js';
import { isObject, str, parseJsonLine, type Json } from '../json.js';

export interface ToolRequest {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
}

export type CopilotEvent =
  | { type: 'assistant.turn_start' }
  | { type: 'assistant.reasoning' }
  | { type: 'assistant.message_delta' }
  | { type: 'assistant.message'; content: string; toolRequests: ToolRequest[] }
  | { type: 'tool.execution_start'; toolCallId: string; toolName: string; arguments: Record<string, unknown> }
  | {
      type: 'tool.execution_complete';
      toolCallId: string;
      success: boolean;
      /** Set when the tool was a shell command that ran (a refused one has none). */
      shellExitCode: number | null;
      ranShell: boolean;
      output: string;
      error: string | null;
      fileEdits: Array<{ path: string; kind: FileChangeKind }>;
    }
  | { type: 'session.error'; message: string }
  | { type: 'abort'; reason: string }
  | { type: 'result'; sessionId: string; exitCode: number | null }
  | { type: 'unknown'; originalType: string };

const int = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) ? v : null);

/** Copilot's edit kinds ("create", "edit", "delete", ...) in ours. */
function editKind(kind: unknown): FileChangeKind {
  if (kind === 'create' || kind === 'add') return 'add';
  if (kind === 'delete' || kind === 'remove') return 'delete';
  return 'update';
}

function toolRequests(v: unknown): ToolRequest[] {
  if (!Array.isArray(v)) return [];
  return v.filter(isObject).map((r) => ({ id: str(r.toolCallId), name: str(r.name), arguments: isObject(r.arguments) ? r.arguments : {} }));
}

function resultText(v: unknown): string {
  if (!isObject(v)) return str(v);
  return str(v.content, str(v.detailedContent));
}

/** What the shell tool appends to a command's output once it ran: its exit code. */
const SHELL_END = /<shellId: [^>]*completed with exit code (-?\d+)>\s*$/;

/**
 * The files an edit tool changed, from the diff it reports (`diff --git a/PATH b/PATH`, the absolute
 * path without its leading slash), for releases that print no `fileEdits` (1.0.83 does not, 1.0.102 does).
 * Only a result that is a diff from its first line: a command's output or a file read may hold one.
 */
function editsInDiff(detailed: string): Array<{ path: string; kind: FileChangeKind }> {
  if (!/^\s*diff --git /.test(detailed) || SHELL_END.test(detailed)) return [];
  const edits: Array<{ path: string; kind: FileChangeKind }> = [];
  for (const file of detailed.split(/^diff --git /m).slice(1)) {
    const header = /^a\/.* b\/(.+)$/m.exec(file);
    if (!header) continue;
    const kind = /^(?:new|create) file mode/m.test(file) ? 'add' : /^delete(?:d)? file mode/m.test(file) ? 'delete' : 'update';
    edits.push({ path: `/${header[1]}`, kind });
  }
  return edits;
}

function parseComplete(data: Json): CopilotEvent {
  const result = isObject(data.result) ? data.result : {};
  // Older releases (1.0.83) have neither shellExecution nor fileEdits: the exit code is then
  // read from the shell tool's own ending, the edits from the diff an edit tool returns.
  const ended = SHELL_END.exec(str(result.content));
  const ranShell = isObject(data.shellExecution) || ended !== null;
  const shellExitCode = isObject(data.shellExecution) ? int(data.shellExecution.exitCode) : ended ? Number(ended[1]) : null;
  const edits = Array.isArray(data.fileEdits)
    ? data.fileEdits.filter(isObject).map((e) => ({ path: str(e.path), kind: editKind(e.kind) }))
    : data.success === true
      ? editsInDiff(str(result.detailedContent))
      : [];
  const error = isObject(data.error) ? str(data.error.message, JSON.stringify(data.error)) : typeof data.error === 'string' ? data.error : null;
  return {
    type: 'tool.execution_complete',
    toolCallId: str(data.toolCallId),
    success: data.success === true,
    ranShell,
    shellExitCode,
    output: resultText(data.result),
    error,
    fileEdits: edits.filter((e) => e.path !== ''),
  };
}

/** Parses one stdout line. Returns null for blank or non-JSON lines. */
export function parseCopilotLine(line: string): CopilotEvent | null {
  const raw = parseJsonLine(line);
  if (!raw) return null;
  const data = isObject(raw.data) ? raw.data : {};
  switch (raw.type) {
    case 'assistant.turn_start':
      return { type: 'assistant.turn_start' };
    case 'assistant.reasoning':
    case 'assistant.reasoning_delta':
      return { type: 'assistant.reasoning' };
    case 'assistant.message_delta':
      return { type: 'assistant.message_delta' };
    case 'assistant.message':
      return { type: 'assistant.message', content: str(data.content), toolRequests: toolRequests(data.toolRequests) };
    case 'tool.execution_start':
      return {
        type: 'tool.execution_start',
        toolCallId: str(data.toolCallId),
        toolName: str(data.toolName),
        arguments: isObject(data.arguments) ? data.arguments : {},
      };
    case 'tool.execution_complete':
      return parseComplete(data);
    case 'session.error':
      return { type: 'session.error', message: str(data.message, 'unknown error') };
    case 'abort':
      return { type: 'abort', reason: str(data.reason, 'unknown') };
    case 'result':
      // Not a session event: its fields sit at the top level.
      return { type: 'result', sessionId: str(raw.sessionId), exitCode: int(raw.exitCode) };
    default:
      return { type: 'unknown', originalType: str(raw.type, 'missing') };
  }
}

/** The shell tools: `bash` on Linux and macOS, `powershell` on Windows. */
export const isShellTool = (name: string): boolean => name === 'bash' || name === 'powershell';

/** The command a shell tool runs, or the file another tool works on, for people. */
export function toolTarget(name: string, args: Record<string, unknown>): string {
  if (isShellTool(name)) return str(args.command);
  return str(args.path, str(args.pattern, str(args.description)));
}

/** The shell tool appends `<shellId: 0 completed with exit code 0>` to the output: not the command's. */
export const commandOutput = (text: string): string => text.replace(/\n?<shellId: [^>]*>\s*$/, '');
