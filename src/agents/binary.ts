import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ToolError } from '../errors.js';
import { binEnvOf, type Agent, type AgentName } from './agent.js';
import { agentOf } from './registry.js';
import { isOlder } from './version.js';

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

/** What identifies one installed binary: a reinstall or an upgrade changes at least one of these. */
function stampOf(file: string): { real: string; stamp: string } | null {
  try {
    const real = fs.realpathSync(file);
    const st = fs.statSync(real);
    return { real, stamp: `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}` };
  } catch {
    return null;
  }
}

type VersionCache = Record<string, { stamp: string; version: string }>;

function readVersionCache(file: string): VersionCache {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as VersionCache) : {};
  } catch {
    return {};
  }
}

/** Best effort: a cache that cannot be written costs the next process one `codex --version`. */
function writeVersionCache(file: string, cache: VersionCache): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, JSON.stringify(cache), { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch {
    fs.rmSync(tmp, { force: true });
  }
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
  private found: Promise<AgentBinary> | null = null;
  private failedAt: number | null = null;

  constructor(
    private readonly agent: Agent,
    private readonly configured: string | undefined,
    private readonly searchPath: string,
    private readonly versionCache?: string,
  ) {}

  /** The binary, if its release is one the adapter supports (see belowFloor). */
  locate(): Promise<AgentBinary> {
    const supported = async () => {
      const found = await this.find();
      const old = belowFloor(this.agent, found);
      if (old) throw new ToolError(unavailable(this.agent), old);
      return found;
    };
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
    const id = this.versionCache ? stampOf(file) : null;
    const cached = id && readVersionCache(this.versionCache!)[id.real];
    if (cached && cached.stamp === id.stamp) return { path: file, version: cached.version };
    const installed = agent.installedVersion?.(file);
    if (installed) return { path: file, version: installed };
    try {
      const { stdout } = await run(file, ['--version'], { timeout: 15_000 });
      const version = agent.parseVersion(stdout);
      if (id) writeVersionCache(this.versionCache!, { ...readVersionCache(this.versionCache!), [id.real]: { stamp: id.stamp, version } });
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
    private readonly versionCache?: string,
  ) {}

  of(name: AgentName): AgentLocator {
    let locator = this.made.get(name);
    if (!locator) {
      locator = new AgentLocator(agentOf(name), this.bins[name], this.searchPath, this.versionCache);
      this.made.set(name, locator);
    }
    return locator;
  }
}
