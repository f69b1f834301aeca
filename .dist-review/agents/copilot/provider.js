import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
const TOKEN_VARS = ['COPILOT_GITHUB_TOKEN', 'GH_TOKEN', 'GITHUB_TOKEN'];
/** $COPILOT_HOME, else ~/.copilot: where Copilot CLI keeps its config, login and sessions. */
export function copilotHome(env) {
    return env.COPILOT_HOME || path.join(env.HOME || os.homedir(), '.copilot');
}
const truthy = (v) => v !== undefined && /^\s*(true|1|yes|on|y)\s*$/i.test(v);
function readText(file) {
    try {
        return fs.readFileSync(file, 'utf8');
    }
    catch {
        return null;
    }
}
/**
 * Whether Copilot CLI looks able to reach a model, in the order it looks itself: a custom
 * provider (BYOK: COPILOT_PROVIDER_BASE_URL, which also needs a model), a token in the
 * environment, a `copilot login` (recorded in its config.json; the token itself may sit in the
 * system keychain), then GitHub CLI's login. Only files and variables are read.
 */
export function readCopilotProvider(env) {
    const base = env.COPILOT_PROVIDER_BASE_URL?.trim();
    if (base) {
        const type = env.COPILOT_PROVIDER_TYPE?.trim() || 'openai';
        const model = env.COPILOT_MODEL?.trim() || env.COPILOT_PROVIDER_MODEL_ID?.trim();
        if (!model) {
            return {
                ok: false,
                detail: `custom provider (${type}) at ${base} without a model`,
                fix: 'set COPILOT_MODEL (or COPILOT_PROVIDER_MODEL_ID) in the server environment, or give every job a model',
            };
        }
        return { ok: true, detail: `custom provider (${type}) at ${base}, model ${model}` };
    }
    if (truthy(env.COPILOT_OFFLINE)) {
        return { ok: false, detail: 'COPILOT_OFFLINE is set without a custom provider', fix: 'set COPILOT_PROVIDER_BASE_URL (and COPILOT_MODEL), or unset COPILOT_OFFLINE' };
    }
    const tokenVar = TOKEN_VARS.find((v) => env[v]?.trim());
    if (tokenVar)
        return { ok: true, detail: `GitHub token in ${tokenVar}` };
    const config = path.join(copilotHome(env), 'config.json');
    if (/"(last_logged_in_user|logged_in_users)"/.test(readText(config) ?? ''))
        return { ok: true, detail: `signed in (${config})` };
    const ghDir = env.GH_CONFIG_DIR || path.join(env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config'), 'gh');
    if (/(oauth_token|user):/.test(readText(path.join(ghDir, 'hosts.yml')) ?? ''))
        return { ok: true, detail: `GitHub CLI login (${ghDir})` };
    return {
        ok: false,
        detail: 'no GitHub login or custom model provider found',
        fix: 'run `copilot login`, set COPILOT_GITHUB_TOKEN, or configure a custom provider (COPILOT_PROVIDER_BASE_URL and COPILOT_MODEL)',
    };
}
//# sourceMappingURL=provider.js.map