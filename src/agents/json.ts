/** Reading agents' JSON tolerantly: a field of the wrong type reads as a neutral value, never throws. */

export type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
export const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);
export const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/**
 * One line of an agent's output as a JSON object; null for blank, non-JSON or non-object lines (CLIs
 * print those too). Zeros before it are what a write lost to the portable log cap left behind the
 * line that follows (jobs/logcap.ts): that line is still read.
 */
export function parseJsonLine(line: string): Json | null {
  const trimmed = (line.charCodeAt(0) === 0 ? line.replace(/^\0+/, '') : line).trim();
  if (!trimmed.startsWith('{')) return null;
  try {
    const raw: unknown = JSON.parse(trimmed);
    return isObject(raw) ? raw : null;
  } catch {
    return null;
  }
}
