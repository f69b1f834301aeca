import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ToolError } from '../errors.js';
import { binEnvOf, type Agent, type AgentName } from './agent.js';
import { agentOf } from './registry.js';
import { isOlder } from './version.js';
import { binaryId, cachedVersion, rememberVersion, versionCacheFile } from './versioncache.js';

const run = promisify(execFile);

export interface AgentBinary {
  path: string;
  version: string;
}

function isExecutableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * An executable by absolute path or by name on `searchPath`. Only absolute PATH entries count: a
 * relative one would be looked up in each job's cwd, letting a repository pick the binary.
 */
export function findExecutable(name: string, searchPath: string): string | null {
  if (path.isAbsolute(name)) return isExecutableFile(name) ? name : null;
  for (const dir of searchPath.split(path.delimiter)) {
    if (!path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return null;
}

/** Clients switch on codex_unavailable since before there were other agents. */
const unavailable = (agent: Agent) => (agent.name === 'codex' ? 'codex_unavailable' : 'agent_unavailable');

/**
 * Why a CLI found cannot run jobs: a release older than its adapter's floor, which lacks options the
 * adapter passes (Claude Code 2.1.197 stops every job at `--permission-prompts`). Null: it can.
 */
export function belowFloor(agent: Agent, found: AgentBinary): string | null {
  if (isOlder(found.version, agent.floor) !== true) return null;
  return `${agent.title} ${found.version} (${found.path}) is older than ${agent.floor}, the oldest release this server supports. Update it (\`${agent.install}\`) or set ${binEnvOf(agent.name)} to the full path of a newer one in the MCP server configuration.`;
}

/** How long a failed lookup is believed by available(). */
const RETRY_FAILED_MS = 30_000;

/**
 * Finds an agent's binary and remembers it while the file found stays the same: an update or a
 * reinstall (a new stamp) is looked at again, with no restart. A failure is not remembered, so
 * installing the agent while the server runs fixes the next call. The version is read from the
 * user's cache (versioncache.ts) when this binary, as it is now, was seen before on this machine;
 * `legacyCache` is the state home's own file from before there was one, read but never written.
 */
export class AgentLocator {
  private found: Promise<AgentBinary> | null = null;
  /** The file found and its stamp once found: what `found` is believed for. */
  private foundAs: { path: string; stamp: string | undefined } | null = null;
  private failedAt: number | null = null;

  constructor(
    private readonly agent: Agent,
    private readonly configured: string | undefined,
    private readonly searchPath: string,
    private readonly legacyCache?: string,
  ) {}

  /** The binary, if its release is one the adapter supports (see belowFloor). */
  locate(): Promise<AgentBinary> {
    const supported = async () => {
      const found = await this.find();
      const old = belowFloor(this.agent, found);
      if (old) throw new ToolError(unavailable(this.agent), old);
      this.foundAs = { path: found.path, stamp: binaryId(found.path)?.stamp };
      return found;
    };
    // One stat per call: the binary found is believed only while it is the same file.
    if (this.found && this.foundAs && binaryId(this.foundAs.path)?.stamp !== this.foundAs.stamp) {
      this.found = null;
      this.foundAs = null;
    }
    // An old release is a failure like any other: not remembered, so an update needs no restart.
    this.found ??= supported().then(
      (found) => {
        this.failedAt = null;
        return found;
      },
      (err: unknown) => {
        this.found = null;
        this.failedAt = Date.now();
        throw err;
      },
    );
    return this.found;
  }

  /**
   * The binary's path, or null when it cannot be found; a failure is believed for a while, so
   * that every dispatch round does not look again (a broken install's `--version` may take 15 s).
   */
  async available(): Promise<string | null> {
    if (this.failedAt !== null && Date.now() - this.failedAt < RETRY_FAILED_MS) return null;
    return this.locate().then(
      (found) => found.path,
      () => null,
    );
  }

  /** The binary and its version, whatever release it is: for doctor, which reports an old one itself. */
  async find(): Promise<AgentBinary> {
    const { agent } = this;
    const kind = unavailable(agent);
    const howToFix = `Install ${agent.title} (\`${agent.install}\`) or set ${binEnvOf(agent.name)} to the full path of its executable in the MCP server configuration.`;
    const name = this.configured ?? agent.command;
    const found = path.isAbsolute(name) ? name : findExecutable(name, this.searchPath);
    if (!found) throw new ToolError(kind, `"${name}" was not found on PATH. ${howToFix}`);
    if (!isExecutableFile(found)) {
      throw new ToolError(kind, `${binEnvOf(agent.name)} "${found}" is not an executable file. ${howToFix}`);
    }
    const file = agent.binaryBehind?.(found) ?? found;
    const id = binaryId(file);
    const userCache = versionCacheFile(process.env);
    const cached = id && (cachedVersion(userCache, id) ?? (this.legacyCache ? cachedVersion(this.legacyCache, id) : null));
    if (cached) return { path: file, version: cached };
    const installed = agent.installedVersion?.(file);
    if (installed) return { path: file, version: installed };
    try {
      const { stdout } = await run(file, ['--version'], { timeout: 15_000 });
      const version = agent.parseVersion(stdout);
      if (id) rememberVersion(userCache, id, version);
      return { path: file, version };
    } catch (err) {
      const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
      throw new ToolError(kind, `"${file} --version" failed (${reason}). ${howToFix}`);
    }
  }
}

/** One locator per agent, made when first asked for: a server finds only the agents its jobs use. */
export class AgentLocators {
  private readonly made = new Map<AgentName, AgentLocator>();

  constructor(
    private readonly bins: Record<AgentName, string | undefined>,
    private readonly searchPath: string,
    /** The state home's version file from before the user's cache (AgentLocator's legacyCache). */
    private readonly legacyCache?: string,
  ) {}

  of(name: AgentName): AgentLocator {
    let locator = this.made.get(name);
    if (!locator) {
      locator = new AgentLocator(agentOf(name), this.bins[name], this.searchPath, this.legacyCache);
      this.made.set(name, locator);
    }
    return locator;
  }
}
