import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ToolError } from '../errors.js';
import { binEnvOf } from './agent.js';
import { agentOf } from './registry.js';
const run = promisify(execFile);
function isExecutableFile(file) {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
    }
    catch {
        return false;
    }
}
/**
 * An executable by absolute path or by name on `searchPath`. Only absolute PATH entries count: a
 * relative one would be looked up in each job's cwd, letting a repository pick the binary.
 */
export function findExecutable(name, searchPath) {
    if (path.isAbsolute(name))
        return isExecutableFile(name) ? name : null;
    for (const dir of searchPath.split(path.delimiter)) {
        if (!path.isAbsolute(dir))
            continue;
        const candidate = path.join(dir, name);
        if (isExecutableFile(candidate))
            return candidate;
    }
    return null;
}
/** What identifies one installed binary: a reinstall or an upgrade changes at least one of these. */
function stampOf(file) {
    try {
        const real = fs.realpathSync(file);
        const st = fs.statSync(real);
        return { real, stamp: `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}` };
    }
    catch {
        return null;
    }
}
function readVersionCache(file) {
    try {
        const parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
        return parsed && typeof parsed === 'object' ? parsed : {};
    }
    catch {
        return {};
    }
}
/** Best effort: a cache that cannot be written costs the next process one `codex --version`. */
function writeVersionCache(file, cache) {
    const tmp = `${file}.${process.pid}.tmp`;
    try {
        fs.writeFileSync(tmp, JSON.stringify(cache), { mode: 0o600 });
        fs.renameSync(tmp, file);
    }
    catch {
        fs.rmSync(tmp, { force: true });
    }
}
/**
 * Finds an agent's binary once and remembers it. A failure is not remembered, so installing the
 * agent while the server runs fixes the next call without a restart. With `versionCache` (a file in
 * the state directory), the version of a binary already seen — same file, size and mtime — is read
 * from there: `codex --version` starts a whole Node process (~200 ms of CPU), which every server
 * start would otherwise pay, and which a codex_start arriving right after start-up would wait for.
 */
/** How long a failed lookup is believed by available(). */
const RETRY_FAILED_MS = 30_000;
export class AgentLocator {
    agent;
    configured;
    searchPath;
    versionCache;
    found = null;
    failedAt = null;
    constructor(agent, configured, searchPath, versionCache) {
        this.agent = agent;
        this.configured = configured;
        this.searchPath = searchPath;
        this.versionCache = versionCache;
    }
    locate() {
        this.found ??= this.probe().then((found) => {
            this.failedAt = null;
            return found;
        }, (err) => {
            this.found = null;
            this.failedAt = Date.now();
            throw err;
        });
        return this.found;
    }
    /**
     * The binary's path, or null when it cannot be found; a failure is believed for a while, so
     * that every dispatch round does not look again (a broken install's `--version` may take 15 s).
     */
    async available() {
        if (this.failedAt !== null && Date.now() - this.failedAt < RETRY_FAILED_MS)
            return null;
        return this.locate().then((found) => found.path, () => null);
    }
    async probe() {
        const { agent } = this;
        // Clients switch on codex_unavailable since before there were other agents.
        const kind = agent.name === 'codex' ? 'codex_unavailable' : 'agent_unavailable';
        const howToFix = `Install ${agent.title} (\`${agent.install}\`) or set ${binEnvOf(agent.name)} to the full path of its executable in the MCP server configuration.`;
        const name = this.configured ?? agent.command;
        const found = path.isAbsolute(name) ? name : findExecutable(name, this.searchPath);
        if (!found)
            throw new ToolError(kind, `"${name}" was not found on PATH. ${howToFix}`);
        if (!isExecutableFile(found)) {
            throw new ToolError(kind, `${binEnvOf(agent.name)} "${found}" is not an executable file. ${howToFix}`);
        }
        const file = agent.binaryBehind?.(found) ?? found;
        const id = this.versionCache ? stampOf(file) : null;
        const cached = id && readVersionCache(this.versionCache)[id.real];
        if (cached && cached.stamp === id.stamp)
            return { path: file, version: cached.version };
        const installed = agent.installedVersion?.(file);
        if (installed)
            return { path: file, version: installed };
        try {
            const { stdout } = await run(file, ['--version'], { timeout: 15_000 });
            const version = agent.parseVersion(stdout);
            if (id)
                writeVersionCache(this.versionCache, { ...readVersionCache(this.versionCache), [id.real]: { stamp: id.stamp, version } });
            return { path: file, version };
        }
        catch (err) {
            const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
            throw new ToolError(kind, `"${file} --version" failed (${reason}). ${howToFix}`);
        }
    }
}
/** One locator per agent, made when first asked for: a server finds only the agents its jobs use. */
export class AgentLocators {
    bins;
    searchPath;
    versionCache;
    made = new Map();
    constructor(bins, searchPath, versionCache) {
        this.bins = bins;
        this.searchPath = searchPath;
        this.versionCache = versionCache;
    }
    of(name) {
        let locator = this.made.get(name);
        if (!locator) {
            locator = new AgentLocator(agentOf(name), this.bins[name], this.searchPath, this.versionCache);
            this.made.set(name, locator);
        }
        return locator;
    }
}
//# sourceMappingURL=binary.js.map