/**
 * Text a job produced (its messages, the output of its commands, file names it chose) made safe to
 * print on a terminal. A terminal obeys control characters: a file the agent `cat`s could set the
 * window title (OSC 0), fill the clipboard (OSC 52), or move the cursor up and erase what was
 * printed before, e.g. to show a forged "all tests passed". So every control character other than
 * newline and tab is shown instead of obeyed: C0 as its Unicode control picture (ESC as ␛), DEL as
 * ␡, C1 (U+0080–U+009F, which some terminals take as ESC sequences: U+009B is CSI) as `\x9b`. An
 * escape sequence is thereby shown whole, as ␛ followed by its printable rest. The bidirectional
 * embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) are shown as `\u202e`: they
 * reorder what a terminal or a diff shows, so that code reads other than it runs ("Trojan Source",
 * CVE-2021-42574).
 *
 * Job text is made safe before the command line colours it, so our own colours still work.
 */

const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

function visible(ch: string): string {
  const code = ch.charCodeAt(0);
  if (code < 0x20) return String.fromCharCode(0x2400 + code);
  if (code === 0x7f) return '\u2421';
  if (code > 0xff) return `\\u${code.toString(16)}`;
  return `\\x${code.toString(16)}`;
}

/** `text` with every control character but newline and tab shown visibly (CRLF line ends become LF). */
export function safeText(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(CONTROLS, visible);
}

/** Every string in `value` (a job's snapshot, result, diff…) made safe as by safeText. */
export function safeValue<T>(value: T): T {
  if (typeof value === 'string') return safeText(value) as T;
  if (Array.isArray(value)) return value.map(safeValue) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, safeValue(v)])) as T;
  }
  return value;
}

/**
 * JSON for a terminal or a pipe alike: C0 characters are escaped by JSON itself; DEL, C1 and the
 * bidirectional controls, which JSON may carry raw, are written as \u escapes too (the same value to
 * any JSON reader).
 */
export function safeJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
