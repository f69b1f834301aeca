/** Reading agents' JSON tolerantly: a field of the wrong type reads as a neutral value, never throws. */
export const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
export const str = (v, fallback = '') => (typeof v === 'string' ? v : fallback);
export const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
/** One line of an agent's output as a JSON object; null for blank, non-JSON or non-object lines (CLIs print those too). */
export function parseJsonLine(line) {
    const trimmed = line.trim();
    if (!trimmed.startsWith('{'))
        return null;
    try {
        const raw = JSON.parse(trimmed);
        return isObject(raw) ? raw : null;
    }
    catch {
        return null;
    }
}
//# sourceMappingURL=json.js.map