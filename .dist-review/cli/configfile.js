import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { applyEdits, findNodeAtLocation, getNodeValue, modify, parseTree, printParseErrorCode } from 'jsonc-parser';
import { CliError, EXIT } from './exit.js';
/**
 * Client config files (JSON, or JSONC with comments), read and edited with jsonc-parser so that
 * comments, layout and every key we do not own stay as they were.
 */
/** The file's text, or null if there is none. */
export function readText(file) {
    try {
        return fs.readFileSync(file, 'utf8');
    }
    catch (err) {
        if (err.code === 'ENOENT')
            return null;
        throw new CliError(`cannot read ${file}: ${err.message}`, EXIT.failed);
    }
}
const FIX = 'fix it (or move it away) and run again; it was not changed';
/** The file's text and our entry in it (undefined if absent); refuses a file it cannot edit safely. */
export function readJson(file, servers, name) {
    // A byte-order mark (Notepad, PowerShell) is no JSON: read without it, written back by writeText.
    const raw = (readText(file) ?? '').replace(/^\uFEFF/, '');
    if (raw.trim() === '')
        return { text: '', current: undefined };
    const errors = [];
    const root = parseTree(raw, errors, { allowTrailingComma: true });
    if (errors.length || !root) {
        const e = errors[0];
        const before = raw.slice(0, e?.offset ?? 0).split('\n');
        const where = e ? ` (${printParseErrorCode(e.error)} at line ${before.length}, column ${before.at(-1).length + 1})` : '';
        throw new CliError(`${file} is not valid JSON${where}: ${FIX}`);
    }
    if (root.type !== 'object')
        throw new CliError(`${file} does not hold a JSON object: ${FIX}`);
    for (let depth = 1; depth <= servers.length; depth++) {
        const node = findNodeAtLocation(root, servers.slice(0, depth));
        if (!node)
            return { text: raw, current: undefined };
        if (node.type !== 'object')
            throw new CliError(`"${servers.slice(0, depth).join('" → "')}" in ${file} is not an object: ${FIX}`);
    }
    const entry = findNodeAtLocation(root, [...servers, name]);
    // getNodeValue's objects have no prototype, which isDeepStrictEqual counts as a difference.
    return { text: raw, current: entry && JSON.parse(JSON.stringify(getNodeValue(entry))) };
}
const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A missing env and an empty one are the same (claude writes `"env": {}`). */
const sameField = (key, a, b) => (key === 'env' ? isDeepStrictEqual(a ?? {}, b ?? {}) : isDeepStrictEqual(a, b));
const ourKeys = (wanted) => [...new Set([...Object.keys(wanted), 'env'])];
/** Only the keys we write count: ones the user added to the entry are theirs. */
export function sameEntry(current, wanted) {
    return isObject(current) && ourKeys(wanted).every((k) => sameField(k, current[k], wanted[k]));
}
/** An entry for a remote server (a URL, or a transport other than stdio) under our name. */
const remote = (entry) => ['url', 'serverUrl', 'httpUrl'].some((k) => k in entry) || (typeof entry.type === 'string' && entry.type !== 'stdio');
/** Our entry set to `wanted`, keeping any other keys the user put in it (but not a remote server's). */
export function withEntry(text, at, current, wanted) {
    if (!isObject(current) || remote(current))
        return edited(text, at, wanted) + (text === '' ? '\n' : '');
    let out = text;
    for (const key of ourKeys(wanted))
        if (!sameField(key, current[key], wanted[key]))
            out = edited(out, [...at, key], wanted[key]);
    return out;
}
/**
 * One value set (or, undefined, removed). jsonc-parser reformats the lines its edit touches, so a
 * new entry goes first in its object, touching only the line that opens it rather than a sibling
 * written on one line; a removal takes whole lines itself where it can, for the same reason.
 */
export function edited(text, at, value) {
    if (value === undefined)
        return applyEdits(text, removal(text, at));
    return applyEdits(text, modify(text, at, value, { formattingOptions: formatOf(text), getInsertionIndex: () => 0 }));
}
function removal(text, at) {
    const property = findNodeAtLocation(parseTree(text), at)?.parent;
    const siblings = property?.parent?.children ?? [];
    if (!property)
        return [];
    if (siblings.length === 1)
        return modify(text, at.slice(0, -1), {}, { formattingOptions: formatOf(text) });
    if (siblings.at(-1) === property)
        return modify(text, at, undefined, {});
    const from = text.lastIndexOf('\n', property.offset - 1) + 1;
    const end = property.offset + property.length;
    const rest = /^[ \t]*,[ \t]*(\/\/[^\n]*)?\r?\n/.exec(text.slice(end));
    if (!rest || text.slice(from, property.offset).trim() !== '')
        return modify(text, at, undefined, {});
    return [{ offset: from, length: end + rest[0].length - from, content: '' }];
}
/** The file's own indentation and line ends, for the lines we add. */
function formatOf(text) {
    const indent = /^([ \t]+)\S/m.exec(text)?.[1] ?? '  ';
    const tabs = indent.startsWith('\t');
    return { insertSpaces: !tabs, tabSize: tabs ? 1 : indent.length, eol: text.includes('\r\n') ? '\r\n' : '\n' };
}
/** A copy next to the file, never overwriting an earlier one: the first backup is the user's original. */
export function backUp(file) {
    if (!fs.existsSync(file))
        return undefined;
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    for (let n = 0;; n++) {
        const copy = `${file}.${stamp}${n ? `-${n}` : ''}.bak`;
        try {
            fs.copyFileSync(file, copy, fs.constants.COPYFILE_EXCL);
            return copy;
        }
        catch (err) {
            if (err.code !== 'EEXIST')
                throw new CliError(`cannot back up ${file} (${err.message}): nothing was changed`, EXIT.failed);
        }
    }
}
const BOM = '\uFEFF';
/**
 * All or nothing: the text goes to a new file beside the real one (through a symlink, so a config
 * kept by a dotfile manager stays a link), which then replaces it; a failed write leaves the old
 * file whole. An existing file keeps its mode and byte-order mark; a new one is private to the
 * user, since --env values may be secrets.
 */
export function writeText(file, text) {
    let real = file;
    let mode = 0o600;
    let bom = false;
    if (fs.existsSync(file)) {
        real = fs.realpathSync(file);
        mode = fs.statSync(real).mode & 0o7777;
        bom = fs.readFileSync(real, 'utf8').startsWith(BOM);
    }
    else {
        fs.mkdirSync(path.dirname(file), { recursive: true });
    }
    const temp = path.join(path.dirname(real), `.${path.basename(real)}.${process.pid}.tmp`);
    try {
        const fd = fs.openSync(temp, 'wx', mode);
        try {
            fs.writeFileSync(fd, bom && !text.startsWith(BOM) ? BOM + text : text);
            fs.fsyncSync(fd);
        }
        finally {
            fs.closeSync(fd);
        }
        fs.chmodSync(temp, mode);
        fs.renameSync(temp, real);
    }
    catch (err) {
        fs.rmSync(temp, { force: true });
        throw err;
    }
}
//# sourceMappingURL=configfile.js.map