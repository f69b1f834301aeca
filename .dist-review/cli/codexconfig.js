import { isDeepStrictEqual } from 'node:util';
import { parse, TomlError } from 'smol-toml';
import { CliError } from './exit.js';
/**
 * Codex's config.toml. Read with a TOML parser (so every way of writing a table is understood);
 * changed as text, only in our own `[mcp_servers.NAME]` table, so comments and everything else stay
 * as they were; and every change is parsed again before it is written, so a file codex cannot load
 * is never the result.
 */
/**
 * Settings our table needs that `codex mcp add` cannot set (and drops when it rewrites the table).
 * Without the approval mode, `codex exec` refuses every call to our tools: "MCP tool call requires
 * approval, but approval policy is never" (codex-cli 0.169). Codex gives a tool call 60 s by
 * default; 300 lets `codex_wait` wait for minutes. A timeout the user has set is kept.
 */
const CODEX_SETTINGS = [
    { key: 'default_tools_approval_mode', value: '"approve"', keepExisting: false },
    { key: 'tool_timeout_sec', value: '300', keepExisting: true },
];
export const codexSettingLines = () => CODEX_SETTINGS.map((s) => `${s.key} = ${s.value}`);
/** A TOML basic string: JSON's escapes are TOML's, except that TOML also wants DEL escaped. */
const tomlString = (s) => JSON.stringify(s).replace(/\x7f/g, '\\u007f');
/** The table's dotted name, or null if the line is no table header. */
function headerOf(line) {
    if (/^\s*\[\[/.test(line))
        return ['[['];
    const m = /^\s*\[([^[\]]+)\]\s*(?:#.*)?$/.exec(line);
    return m ? m[1].split('.').map((part) => part.trim().replace(/^"(.*)"$|^'(.*)'$/, '$1$2')) : null;
}
const isOurs = (h, name) => h !== null && h[0] === 'mcp_servers' && h[1] === name;
/** The lines of `[mcp_servers.NAME]` and the sub-tables (`.env`, …) that follow it. */
function findTable(lines, name) {
    const start = lines.findIndex((line) => {
        const h = headerOf(line);
        return isOurs(h, name) && h.length === 2;
    });
    if (start < 0)
        return null;
    let end = start + 1;
    while (end < lines.length && (headerOf(lines[end]) === null || isOurs(headerOf(lines[end]), name)))
        end++;
    while (end > start + 1 && /^\s*(#.*)?$/.test(lines[end - 1]))
        end--;
    return { start, end };
}
const splitLines = (text) => (text === '' ? [] : text.replace(/\r?\n$/, '').split(/\r?\n/));
const joinLines = (lines, like) => (lines.length ? `${lines.join(like.includes('\r\n') ? '\r\n' : '\n')}${like.includes('\r\n') ? '\r\n' : '\n'}` : '');
function parsed(text, file) {
    try {
        return parse(text);
    }
    catch (err) {
        const where = err instanceof TomlError ? ` (line ${err.line}, column ${err.column})` : '';
        throw new CliError(`${file} is not valid TOML${where}: fix it (codex cannot load it either) and run again; it was not changed`);
    }
}
/** What `mcp_servers.NAME` launches, however it is written; null if there is none. */
export function readCodexServer(text, name, file) {
    const entry = parsed(text, file).mcp_servers?.[name];
    if (entry === undefined)
        return null;
    const lines = splitLines(text);
    const table = findTable(lines, name);
    // A sub-table elsewhere (after another table) would be left behind by an edit of the block.
    const outside = lines.some((line, i) => isOurs(headerOf(line), name) && (!table || i < table.start || i >= table.end));
    return {
        command: typeof entry.command === 'string' ? entry.command : '',
        args: Array.isArray(entry.args) ? entry.args.map(String) : [],
        env: typeof entry.env === 'object' && entry.env !== null ? Object.fromEntries(Object.entries(entry.env).map(([k, v]) => [k, String(v)])) : {},
        editable: table !== null && !outside,
    };
}
/**
 * The text with `[mcp_servers.NAME]` launching `launch`: appended if there is no such table; else
 * its `command`, `args` and `env` replaced and every other key, comment and sub-table of it kept.
 */
export function withCodexTable(text, name, launch) {
    const lines = splitLines(text);
    const env = Object.entries(launch.env).map(([k, v]) => `${k} = ${tomlString(v)}`);
    const envTable = env.length ? ['', `[mcp_servers.${name}.env]`, ...env] : [];
    const launchLines = [`command = ${tomlString(launch.command)}`, `args = [${launch.args.map(tomlString).join(', ')}]`];
    const table = findTable(lines, name);
    if (!table) {
        lines.push(...(lines.length && lines.at(-1).trim() !== '' ? [''] : []), `[mcp_servers.${name}]`, ...launchLines, ...envTable);
        return joinLines(lines, text);
    }
    const block = [lines[table.start], ...launchLines];
    let inEnv = false;
    for (const line of lines.slice(table.start + 1, table.end)) {
        const h = headerOf(line);
        if (h)
            inEnv = h.length === 3 && h[2] === 'env';
        else if (!inEnv && /^\s*(command|args|env)\s*=/.test(line))
            continue;
        if (!inEnv)
            block.push(line);
    }
    while (block.length > 1 && block.at(-1).trim() === '')
        block.pop();
    lines.splice(table.start, table.end - table.start, ...block, ...envTable);
    return joinLines(lines, text);
}
/** The text without `[mcp_servers.NAME]` and its sub-tables. */
export function withoutCodexTable(text, name) {
    const lines = splitLines(text);
    const table = findTable(lines, name);
    if (!table)
        return text;
    lines.splice(table.start, table.end - table.start);
    // No double blank line where the table was, and none at the top.
    if (table.start > 0 && lines[table.start - 1].trim() === '' && (lines[table.start] ?? '').trim() === '')
        lines.splice(table.start - 1, 1);
    while (lines.length && lines[0].trim() === '')
        lines.shift();
    while (lines.length && lines.at(-1).trim() === '')
        lines.pop();
    return joinLines(lines, text);
}
/** The text with our settings in `[mcp_servers.NAME]`, right after its header; null if there is no such table. */
export function withCodexSettings(text, name) {
    const lines = splitLines(text);
    const table = findTable(lines, name);
    if (!table)
        return null;
    let mainEnd = table.start + 1;
    while (mainEnd < table.end && headerOf(lines[mainEnd]) === null)
        mainEnd++;
    const missing = [];
    let changed = false;
    for (const s of CODEX_SETTINGS) {
        const at = lines.findIndex((line, i) => i > table.start && i < mainEnd && new RegExp(`^\\s*${s.key}\\s*=`).test(line));
        if (at < 0)
            missing.push(`${s.key} = ${s.value}`);
        else if (!s.keepExisting && lines[at].replace(/\s+/g, '') !== `${s.key}=${s.value}`) {
            lines[at] = `${s.key} = ${s.value}`;
            changed = true;
        }
    }
    if (!missing.length && !changed)
        return text;
    lines.splice(table.start + 1, 0, ...missing);
    return joinLines(lines, text);
}
/**
 * Refuses a change that would not load as codex reads it, or that would not say what was meant:
 * `launch` for an install, null for an uninstall.
 */
export function checkCodexEdit(after, name, launch, file) {
    let entry;
    try {
        // As plain JSON: the parser's tables are not plain objects, which deep equality would count.
        const table = parse(after).mcp_servers?.[name];
        entry = table === undefined ? undefined : JSON.parse(JSON.stringify(table));
    }
    catch {
        entry = { unreadable: true };
    }
    const right = launch === null
        ? entry === undefined
        : entry !== undefined &&
            entry.command === launch.command &&
            isDeepStrictEqual(entry.args, launch.args) &&
            isDeepStrictEqual(entry.env ?? {}, launch.env) &&
            CODEX_SETTINGS.every((s) => entry[s.key] !== undefined);
    if (!right) {
        throw new CliError(`${file}: the [mcp_servers.${name}] table is written in a way this command cannot change safely; edit it by hand (nothing was changed)`);
    }
}
//# sourceMappingURL=codexconfig.js.map