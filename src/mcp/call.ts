import { ToolError } from '../errors.js';
import type { Logger } from '../log.js';

export type ToolResult = {
  content: Array<{ type: 'text'; text: string }>;
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
};

/**
 * Runs one tool call: engine errors become tool results with `isError: true` and a message that
 * says what to do; the server itself never fails a call.
 */
export async function call<T extends object>(log: Logger, work: () => T | Promise<T>, summary: (r: T) => string): Promise<ToolResult> {
  try {
    const result = await work();
    return { content: [{ type: 'text', text: summary(result) }], structuredContent: result as Record<string, unknown> };
  } catch (err) {
    if (err instanceof ToolError) return { isError: true, content: [{ type: 'text', text: `${err.kind}: ${err.message}` }] };
    log('error', `unexpected failure: ${(err as Error).stack ?? String(err)}`);
    return { isError: true, content: [{ type: 'text', text: `internal error: ${(err as Error).message}` }] };
  }
}
