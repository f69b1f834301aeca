import path from 'node:path';
/**
 * The MCP clients `install` knows: where each keeps its servers, the entry it documents, and its
 * own command for adding one, if it has one. Nothing here touches the disk.
 */
export const CLIENT_NAMES = ['claude-code', 'codex', 'cursor', 'vscode', 'claude-desktop', 'windsurf', 'gemini'];
export const SCOPES = ['user', 'project', 'local'];
const withEnv = (launch) => Object.keys(launch.env).length > 0 ? { command: launch.command, args: launch.args, env: launch.env } : { command: launch.command, args: launch.args };
const stdio = (launch) => ({ type: 'stdio', ...withEnv(launch) });
/** Where Electron apps (VS Code, Claude Desktop) keep their settings. */
function appConfigDir(at) {
    if (at.platform === 'win32')
        return at.appData ?? path.join(at.home, 'AppData', 'Roaming');
    if (at.platform === 'darwin')
        return path.join(at.home, 'Library', 'Application Support');
    return at.xdgConfigHome || path.join(at.home, '.config');
}
const envFlags = (flag, env) => Object.entries(env).flatMap(([k, v]) => [flag, `${k}=${v}`]);
const CLIENTS = {
    'claude-code': {
        name: 'claude-code',
        title: 'Claude Code',
        format: 'json',
        scopes: ['user', 'project', 'local'],
        // user and local servers live in ~/.claude.json (in CLAUDE_CONFIG_DIR when set), local ones
        // under the project's directory; project servers in .mcp.json, meant to be committed.
        file: (scope, at) => (scope === 'project' ? path.join(at.cwd, '.mcp.json') : path.join(at.claudeConfigDir || at.home, '.claude.json')),
        // Claude Code keys its projects by the directory with forward slashes, on Windows too.
        serversAt: (scope, at) => (scope === 'local' ? ['projects', at.platform === 'win32' ? at.cwd.replace(/\\/g, '/') : at.cwd, 'mcpServers'] : ['mcpServers']),
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
export function clientNamed(name) {
    return CLIENT_NAMES.includes(name) ? CLIENTS[name] : undefined;
}
//# sourceMappingURL=clients.js.map