import { isServerSetting } from '../config.js';
/**
 * The environment a job's codex, and so every command it runs, starts with: the server's own,
 * minus every CODEX_ASYNC_* variable. Codex's own shell policy hides names containing TOKEN or
 * KEY from the commands it runs, but codex itself and its MCP servers see everything, and a prompt
 * can make codex read its own environment; so the server's settings never leave the server.
 * What codex needs (PATH, HOME, CODEX_HOME, OPENAI_API_KEY and other provider keys, proxies, locale)
 * passes through untouched; CODEX_BIN too, a path rather than a secret.
 */
export function jobEnvironment(base) {
    const env = {};
    for (const [name, value] of Object.entries(base)) {
        if (value !== undefined && !isServerSetting(name))
            env[name] = value;
    }
    return env;
}
//# sourceMappingURL=env.js.map