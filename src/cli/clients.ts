import path from 'node:path';

/**
 * The MCP clients `install` knows: where each keeps its servers, the entry it documents, and its
 * own command for adding one, if it has one. Nothing here touches the disk.
 */

export const CLIENT_NAMES = ['claude-code', 'codex', 'cursor', 'vscode', 'claude-desktop', 'windsurf', 'gemini'] as const;
export type ClientName = (typeof CLIENT_NAMES)[number];
export const SCOPES = ['user', 'project', 'local'] as const;
export type Scope = (typeof SCOPES)[number];

/** How a client launches this server. */
export interface Launch {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** The machine and the user's environment, read from the process once by the command. */
export interface Places {
  home: string;
  cwd: string;
  platform: NodeJS.Platform;
  /** PATH, where the clients' own commands are looked for. */
  searchPath: string;
  appData: string | undefined;
  xdgConfigHome: string | undefined;
  codexHome: string | undefined;
  codexBin: string | undefined;
  claudeConfigDir: string | undefined;
}

/** A client's own command line for adding and removing a server. */
export interface ClientCli {
  /** The executable's name (or, for codex, CODEX_BIN). */
  bin(at: Places): string;
  add(scope: Scope, name: string, launch: Launch): string[];
  remove(scope: Scope, name: string): string[];
}

interface Common {
  name: ClientName;
  title: string;
  /** The scopes it has; the first is the default. */
  scopes: readonly Scope[];
  /** The file it reads its servers from. */
  file(scope: Scope, at: Places): string;
  cli?: ClientCli;
}

/** A client whose configuration is JSON (with comments, for some). */
export interface JsonClient extends Common {
  format: 'json';
  /** The JSON path of the object that holds the servers by name. */
  serversAt(scope: Scope, at: Places): string[];
  /** The entry, as the client documents it. */
  entry(launch: Launch): Record<string, unknown>;
}

/** Codex: TOML, `[mcp_servers.NAME]`. */
export interface TomlClient extends Common {
  format: 'toml';
}

export type Client = JsonClient | TomlClient;

const withEnv = (launch: Launch) =>
  Object.keys(launch.env).length > 0 ? { command: launch.command, args: launch.args, env: launch.env } : { command: launch.command, args: launch.args };
const stdio = (launch: Launch) => ({ type: 'stdio', ...withEnv(launch) });

/** Where Electron apps (VS Code, Claude Desktop) keep their settings. */
function appConfigDir(at: Places): string {
  if (at.platform === 'win32') return at.appData ?? path.join(at.home, 'AppData', 'Roaming');
  if (at.platform === 'darwin') return path.join(at.home, 'Library', 'Application Support');
  return at.xdgConfigHome || path.join(at.home, '.config');
}

const envFlags = (flag: string, env: Record<string, string>) => Object.entries(env).flatMap(([k, v]) => [flag, `${k}=${v}`]);

const CLIENTS: Record<ClientName, Client> = {
  'claude-code': {
    name: 'claude-code',
    title: 'Claude Code',
    format: 'json',
    scopes: ['user', 'project', 'local'],
    // user and local servers live in ~/.claude.json (in CLAUDE_CONFIG_DIR when set), local ones
    // under the project's directory; project servers in .mcp.json, meant to be committed.
    file: (scope, at) => (scope === 'project' ? path.join(at.cwd, '.mcp.json') : path.join(at.claudeConfigDir || at.home, '.claude.json')),
    serversAt: (scope, at) => (scope === 'local' ? ['projects', at.cwd, 'mcpServers'] : ['mcpServers']),
    entry: stdio,
    cli: {
      bin: () => 'claude',
      // The name goes before -e: -e takes several values and would swallow it.
      add: (scope, name, launch) => ['mcp', 'add', '--scope', scope, name, ...envFlags('-e', launch.env), '--', launch.command, ...launch.args],
      remove: (scope, name) => ['mcp', 'remove', '--scope', scope, name],
    },
  },
  codex: {
    name: 'codex',
    title: 'Codex CLI',
    format: 'toml',
    scopes: ['user'],
    file: (_scope, at) => path.join(at.codexHome || path.join(at.home, '.codex'), 'config.toml'),
    cli: {
      bin: (at) => at.codexBin || 'codex',
      add: (_scope, name, launch) => ['mcp', 'add', name, ...envFlags('--env', launch.env), '--', launch.command, ...launch.args],
      remove: (_scope, name) => ['mcp', 'remove', name],
    },
  },
  cursor: {
    name: 'cursor',
    title: 'Cursor',
    format: 'json',
    scopes: ['user', 'project'],
    file: (scope, at) => path.join(scope === 'project' ? at.cwd : at.home, '.cursor', 'mcp.json'),
    serversAt: () => ['mcpServers'],
    entry: withEnv,
  },
  vscode: {
    name: 'vscode',
    title: 'VS Code',
    format: 'json',
    scopes: ['user', 'project'],
    file: (scope, at) => (scope === 'project' ? path.join(at.cwd, '.vscode', 'mcp.json') : path.join(appConfigDir(at), 'Code', 'User', 'mcp.json')),
    serversAt: () => ['servers'],
    entry: stdio,
  },
  'claude-desktop': {
    name: 'claude-desktop',
    title: 'Claude Desktop',
    format: 'json',
    scopes: ['user'],
    file: (_scope, at) => path.join(appConfigDir(at), 'Claude', 'claude_desktop_config.json'),
    serversAt: () => ['mcpServers'],
    entry: withEnv,
  },
  windsurf: {
    name: 'windsurf',
    title: 'Windsurf',
    format: 'json',
    scopes: ['user'],
    file: (_scope, at) => path.join(at.home, '.codeium', 'windsurf', 'mcp_config.json'),
    serversAt: () => ['mcpServers'],
    entry: withEnv,
  },
  // `gemini mcp add` exists, but its flags have changed between releases: the file is documented.
  gemini: {
    name: 'gemini',
    title: 'Gemini CLI',
    format: 'json',
    scopes: ['user', 'project'],
    file: (scope, at) => path.join(scope === 'project' ? at.cwd : at.home, '.gemini', 'settings.json'),
    serversAt: () => ['mcpServers'],
    entry: withEnv,
  },
};

export function clientNamed(name: string): Client | undefined {
  return (CLIENT_NAMES as readonly string[]).includes(name) ? CLIENTS[name as ClientName] : undefined;
}

// ---- Codex's config.toml, edited as text so every comment and other table stays as it was ----

/**
 * Settings our table needs that `codex mcp add` cannot set (and drops when it rewrites the table).
 * Without the approval mode, `codex exec` refuses every call to our tools: "MCP tool call requires
 * approval, but approval policy is never" (codex-cli 0.169). Codex gives a tool call 60 s by
 * default; 300 lets `codex_wait` wait for minutes. A timeout the user has set is kept.
 */
const CODEX_SETTINGS: { key: string; value: string; keepExisting: boolean }[] = [
  { key: 'default_tools_approval_mode', value: '"approve"', keepExisting: false },
  { key: 'tool_timeout_sec', value: '300', keepExisting: true },
];

export const codexSettingLines = () => CODEX_SETTINGS.map((s) => `${s.key} = ${s.value}`);

/** A TOML basic string: JSON's escapes are TOML's, except that TOML also wants DEL escaped. */
const tomlString = (s: string) => JSON.stringify(s).replace(/\x7f/g, '\\u007f');

/** The table's dotted name, or null if the line is no table header. */
function headerOf(line: string): string[] | null {
  if (/^\s*\[\[/.test(line)) return ['[['];
  const m = /^\s*\[([^[\]]+)\]\s*(?:#.*)?$/.exec(line);
  return m ? m[1]!.split('.').map((part) => part.trim().replace(/^"(.*)"$|^'(.*)'$/, '$1$2')) : null;
}

interface Block {
  start: number;
  /** One past its last line, trailing blank and comment lines left to whatever follows. */
  end: number;
}

/** The lines of `[mcp_servers.NAME]` and its sub-tables (`.env`, …). */
function findTable(lines: string[], name: string): Block | null {
  const ours = (h: string[] | null) => h !== null && h[0] === 'mcp_servers' && h[1] === name;
  const start = lines.findIndex((line) => {
    const h = headerOf(line);
    return ours(h) && h!.length === 2;
  });
  if (start < 0) return null;
  let end = start + 1;
  while (end < lines.length && (headerOf(lines[end]!) === null || ours(headerOf(lines[end]!)))) end++;
  while (end > start + 1 && /^\s*(#.*)?$/.test(lines[end - 1]!)) end--;
  return { start, end };
}

/** `key = value` lines up to the next header, values as written. */
function keysOf(lines: string[], from: number, to: number): Map<string, { line: number; raw: string }> {
  const keys = new Map<string, { line: number; raw: string }>();
  for (let i = from; i < to && headerOf(lines[i]!) === null; i++) {
    const m = /^\s*([A-Za-z0-9_-]+|"[^"]*")\s*=\s*(.*?)\s*$/.exec(lines[i]!);
    if (m) keys.set(m[1]!.replace(/^"(.*)"$/, '$1'), { line: i, raw: m[2]! });
  }
  return keys;
}

/** A TOML string or array of strings as JSON reads it (their common ground); undefined otherwise. */
function valueOf(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  for (const text of [raw, raw.replace(/\s+#.*$/, '')]) {
    try {
      return JSON.parse(text);
    } catch {
      // Not JSON-shaped: a literal string, a multi-line array, a comment…
    }
  }
  return undefined;
}

const splitLines = (text: string) => (text === '' ? [] : text.replace(/\r?\n$/, '').split(/\r?\n/));
const joinLines = (lines: string[], like: string) => (lines.length ? `${lines.join(like.includes('\r\n') ? '\r\n' : '\n')}${like.includes('\r\n') ? '\r\n' : '\n'}` : '');

/**
 * What `[mcp_servers.NAME]` launches, as far as it can be read: a form this reader does not follow
 * (inline env table, literal strings) reads as different, which costs only a rewrite.
 */
export function readCodexServer(text: string, name: string): Partial<Launch> | null {
  const lines = splitLines(text);
  const table = findTable(lines, name);
  if (!table) return null;
  const main = keysOf(lines, table.start + 1, table.end);
  const found: Partial<Launch> = {};
  const command = valueOf(main.get('command')?.raw);
  const args = valueOf(main.get('args')?.raw) ?? [];
  if (typeof command === 'string') found.command = command;
  if (Array.isArray(args) && args.every((a) => typeof a === 'string')) found.args = args;
  if (main.has('env')) return found;
  const envAt = lines.findIndex((line, i) => i > table.start && i < table.end && headerOf(line)?.join('.') === `mcp_servers.${name}.env`);
  const env: Record<string, string> = {};
  if (envAt >= 0) {
    for (const [key, { raw }] of keysOf(lines, envAt + 1, table.end)) {
      const value = valueOf(raw);
      if (typeof value !== 'string') return found;
      env[key] = value;
    }
  }
  found.env = env;
  return found;
}

/** The table as `codex mcp add` writes it. */
function codexTable(name: string, launch: Launch): string[] {
  const lines = [`[mcp_servers.${name}]`, `command = ${tomlString(launch.command)}`, `args = [${launch.args.map(tomlString).join(', ')}]`];
  const env = Object.entries(launch.env);
  if (env.length) lines.push('', `[mcp_servers.${name}.env]`, ...env.map(([k, v]) => `${k} = ${tomlString(v)}`));
  return lines;
}

/** The text with `[mcp_servers.NAME]` (and its sub-tables) replaced by ours, or ours appended. */
export function withCodexTable(text: string, name: string, launch: Launch): string {
  const lines = splitLines(text);
  const table = findTable(lines, name);
  if (table) lines.splice(table.start, table.end - table.start, ...codexTable(name, launch));
  else lines.push(...(lines.length && lines.at(-1)!.trim() !== '' ? [''] : []), ...codexTable(name, launch));
  return joinLines(lines, text);
}

/** The text without `[mcp_servers.NAME]` and its sub-tables. */
export function withoutCodexTable(text: string, name: string): string {
  const lines = splitLines(text);
  const table = findTable(lines, name);
  if (!table) return text;
  lines.splice(table.start, table.end - table.start);
  // No double blank line where the table was.
  if (table.start > 0 && lines[table.start - 1]!.trim() === '' && (lines[table.start] ?? '').trim() === '') lines.splice(table.start - 1, 1);
  while (lines.length && lines.at(-1)!.trim() === '') lines.pop();
  return joinLines(lines, text);
}

/** The text with our settings in `[mcp_servers.NAME]`, right after its header; null if there is no such table. */
export function withCodexSettings(text: string, name: string): string | null {
  const lines = splitLines(text);
  const table = findTable(lines, name);
  if (!table) return null;
  const main = keysOf(lines, table.start + 1, table.end);
  const missing: string[] = [];
  let changed = false;
  for (const s of CODEX_SETTINGS) {
    const has = main.get(s.key);
    if (!has) missing.push(`${s.key} = ${s.value}`);
    else if (!s.keepExisting && valueOf(has.raw) !== valueOf(s.value)) {
      lines[has.line] = `${s.key} = ${s.value}`;
      changed = true;
    }
  }
  if (!missing.length && !changed) return text;
  lines.splice(table.start + 1, 0, ...missing);
  return joinLines(lines, text);
}
