import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
/** $CLAUDE_CONFIG_DIR, else ~/.claude: Claude Code's settings, login and sessions (projects/<cwd>/<id>.jsonl). */
export function claudeConfigDir(env) {
    return env.CLAUDE_CONFIG_DIR || path.join(env.HOME || os.homedir(), '.claude');
}
function readJson(file) {
    try {
        const parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
        return typeof parsed === 'object' && parsed !== null ? parsed : null;
    }
    catch {
        return null;
    }
}
const CLOUD = [
    ['CLAUDE_CODE_USE_BEDROCK', 'Amazon Bedrock'],
    ['CLAUDE_CODE_USE_VERTEX', 'Google Vertex AI'],
    ['CLAUDE_CODE_USE_FOUNDRY', 'Microsoft Foundry'],
];
/**
 * Where Claude Code will get its credentials, in the order it looks: a cloud provider switched on
 * by environment, an API key or token in the environment, an apiKeyHelper in settings, then the
 * login of `claude /login` (.credentials.json on Linux; on macOS the keychain, which we cannot
 * read, so the account recorded in .claude.json stands for it).
 */
export function readClaudeProvider(env) {
    const where = env.ANTHROPIC_BASE_URL ? ` at ${env.ANTHROPIC_BASE_URL}` : '';
    for (const [name, title] of CLOUD) {
        if (env[name] && env[name] !== '0')
            return { ok: true, detail: `${title} (${name}), with that provider's own credentials` };
    }
    for (const name of ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_OAUTH_TOKEN']) {
        if (env[name])
            return { ok: true, detail: `Anthropic API${where}, credentials from ${name}` };
    }
    const dir = claudeConfigDir(env);
    const settings = readJson(path.join(dir, 'settings.json'));
    if (typeof settings?.apiKeyHelper === 'string')
        return { ok: true, detail: `Anthropic API${where}, key from apiKeyHelper in ${path.join(dir, 'settings.json')}` };
    if (fs.existsSync(path.join(dir, '.credentials.json')))
        return { ok: true, detail: `Anthropic API${where}, logged in (${path.join(dir, '.credentials.json')})` };
    const state = env.CLAUDE_CONFIG_DIR ? path.join(dir, '.claude.json') : path.join(env.HOME || os.homedir(), '.claude.json');
    if (readJson(state)?.oauthAccount)
        return { ok: true, detail: `Anthropic API${where}, logged in (account in ${state})` };
    return {
        ok: false,
        detail: `no Claude Code credentials: no ANTHROPIC_API_KEY, no login in ${dir}`,
        fix: 'run `claude` once and log in with /login, or set ANTHROPIC_API_KEY in the MCP server environment',
    };
}
//# sourceMappingURL=provider.js.map