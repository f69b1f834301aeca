import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'jsonc-parser';
import { isObject } from '../json.js';
/**
 * How a headless gemini run will authenticate, read the way gemini 0.61 decides it
 * (validateNonInteractiveAuth): `security.auth.selectedType` from its settings (the system file
 * wins over the user's), else one guessed from the environment; then what that type needs.
 * Never a network call; a key gemini keeps in the system keychain cannot be seen from here.
 */
/** $GEMINI_CLI_HOME, else the home directory: gemini keeps .gemini/ there. */
export function geminiHome(env) {
    return env.GEMINI_CLI_HOME || env.HOME || os.homedir();
}
function systemSettingsPath(env) {
    if (env.GEMINI_CLI_SYSTEM_SETTINGS_PATH)
        return env.GEMINI_CLI_SYSTEM_SETTINGS_PATH;
    if (process.platform === 'darwin')
        return '/Library/Application Support/GeminiCli/settings.json';
    if (process.platform === 'win32')
        return 'C:\\ProgramData\\gemini-cli\\settings.json';
    return '/etc/gemini-cli/settings.json';
}
function readAuthSettings(file) {
    let text;
    try {
        text = fs.readFileSync(file, 'utf8');
    }
    catch {
        return null;
    }
    // Gemini's settings are JSON with comments.
    const errors = [];
    const parsed = parse(text, errors, { allowTrailingComma: true });
    if (errors.length > 0)
        return { file, broken: true };
    const security = isObject(parsed) && isObject(parsed.security) ? parsed.security : {};
    return { file, auth: isObject(security.auth) ? security.auth : {} };
}
/** The variables gemini also reads from ~/.gemini/.env (or ~/.env) when they are not set. */
function dotEnvHas(home, name) {
    for (const file of [path.join(home, '.gemini', '.env'), path.join(home, '.env')]) {
        try {
            if (new RegExp(`^\\s*(?:export\\s+)?${name}\\s*=\\s*\\S`, 'm').test(fs.readFileSync(file, 'utf8')))
                return file;
        }
        catch {
            // No such file: the next one, if any.
        }
    }
    return null;
}
function authFromEnv(env) {
    if (env.GOOGLE_GENAI_USE_GCA === 'true')
        return 'oauth-personal';
    if (env.GOOGLE_GENAI_USE_VERTEXAI === 'true')
        return 'vertex-ai';
    if (env.GOOGLE_GEMINI_BASE_URL)
        return 'gateway';
    if (env.GEMINI_API_KEY)
        return 'gemini-api-key';
    if (env.CLOUD_SHELL === 'true' || env.GEMINI_CLI_USE_COMPUTE_ADC === 'true')
        return 'compute-default-credentials';
    return null;
}
const SELECT = 'set security.auth.selectedType in ~/.gemini/settings.json (run `gemini` once and choose how to sign in)';
export function readGeminiProvider(env) {
    const home = geminiHome(env);
    const userFile = path.join(home, '.gemini', 'settings.json');
    const files = [readAuthSettings(systemSettingsPath(env)), readAuthSettings(userFile)].filter((s) => s !== null);
    const broken = files.find((s) => 'broken' in s);
    if (broken)
        return { ok: false, detail: `${broken.file} is not valid JSON`, fix: 'fix it: gemini cannot load it either, so every job fails' };
    const auths = files.map((s) => s.auth);
    const pick = (key) => auths.map((a) => a[key]).find((v) => typeof v === 'string' && v !== '') ?? null;
    const selected = pick('selectedType');
    const type = selected ?? authFromEnv(env);
    const source = selected ? 'settings' : 'environment';
    const enforced = pick('enforcedType');
    if (enforced && type !== enforced) {
        return { ok: false, detail: `gemini's settings enforce auth "${enforced}" but ${type ? `"${type}" is selected` : 'none is configured'}`, fix: `sign in with "${enforced}"` };
    }
    switch (type) {
        case null:
            return { ok: false, detail: 'gemini has no sign-in method configured', fix: `${SELECT}, or set GEMINI_API_KEY` };
        case 'gemini-api-key': {
            const where = env.GEMINI_API_KEY ? 'GEMINI_API_KEY' : dotEnvHas(home, 'GEMINI_API_KEY');
            if (where)
                return { ok: true, detail: `Gemini API key (${where}), selected by ${source}` };
            return { ok: false, detail: 'gemini is set to use a Gemini API key but GEMINI_API_KEY is not set', fix: 'set GEMINI_API_KEY in the MCP server environment or in ~/.gemini/.env' };
        }
        case 'oauth-personal': {
            const creds = path.join(home, '.gemini', 'oauth_creds.json');
            return { ok: true, detail: fs.existsSync(creds) ? `signed in with Google (${creds})` : 'sign in with Google selected (its credentials are not in ~/.gemini/oauth_creds.json: maybe in the system keychain)' };
        }
        case 'vertex-ai': {
            const project = (env.GOOGLE_CLOUD_PROJECT && env.GOOGLE_CLOUD_LOCATION) || dotEnvHas(home, 'GOOGLE_CLOUD_PROJECT');
            if (project || env.GOOGLE_API_KEY)
                return { ok: true, detail: `Vertex AI, selected by ${source}` };
            return { ok: false, detail: 'gemini is set to use Vertex AI without a project or key', fix: 'set GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_LOCATION, or GOOGLE_API_KEY' };
        }
        case 'compute-default-credentials':
            return { ok: true, detail: 'Google Cloud application default credentials' };
        case 'gateway':
            // GOOGLE_GEMINI_BASE_URL alone selects "gateway", which a headless gemini 0.61 refuses.
            return { ok: false, detail: 'GOOGLE_GEMINI_BASE_URL is set and no sign-in method is selected: headless gemini refuses that ("Invalid auth method selected")', fix: `${SELECT}; "gemini-api-key" with GEMINI_API_KEY works with a custom base URL` };
        default:
            return { ok: false, detail: `gemini's auth type "${type}" is not one a headless run accepts`, fix: SELECT };
    }
}
//# sourceMappingURL=provider.js.map