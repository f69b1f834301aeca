import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, TomlError } from 'smol-toml';
/** $CODEX_HOME, else ~/.codex: where codex keeps config.toml and its login. */
export function codexHome(env) {
    return env.CODEX_HOME || path.join(env.HOME || os.homedir(), '.codex');
}
function builtIn(id, env, top) {
    const oss = (port) => env.CODEX_OSS_BASE_URL || `http://localhost:${env.CODEX_OSS_PORT || port}/v1`;
    switch (id) {
        case 'openai': {
            const baseUrl = env.OPENAI_BASE_URL?.trim() || (typeof top.openai_base_url === 'string' ? top.openai_base_url : null);
            return { id, name: 'OpenAI', baseUrl, requiresOpenaiAuth: true, envKey: null, tokenInConfig: false };
        }
        case 'ollama':
            return { id, name: 'Ollama', baseUrl: oss(11434), requiresOpenaiAuth: false, envKey: null, tokenInConfig: false };
        case 'lmstudio':
            return { id, name: 'LM Studio', baseUrl: oss(1234), requiresOpenaiAuth: false, envKey: null, tokenInConfig: false };
        default:
            return null;
    }
}
const table = (v) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : null);
const text = (v) => (typeof v === 'string' && v !== '' ? v : null);
export function readCodexProvider(env) {
    const file = path.join(codexHome(env), 'config.toml');
    let top = {};
    let raw = null;
    try {
        raw = fs.readFileSync(file, 'utf8');
    }
    catch {
        // No config file: codex runs on its defaults, the OpenAI provider.
    }
    if (raw !== null) {
        try {
            top = parse(raw);
        }
        catch (err) {
            const where = err instanceof TomlError ? ` (line ${err.line}, column ${err.column})` : '';
            return { ok: false, file, problem: `${file} is not valid TOML${where}`, fix: 'fix it: codex cannot load it either, so every job fails' };
        }
    }
    const profile = text(top.profile);
    const selected = profile ? table(table(top.profiles)?.[profile]) : null;
    if (profile && !selected) {
        return { ok: false, file, problem: `${file} selects profile "${profile}", which has no [profiles.${profile}] table`, fix: 'add the table or remove `profile`' };
    }
    const id = text(selected?.model_provider) ?? text(top.model_provider) ?? 'openai';
    const known = builtIn(id, env, top);
    if (known)
        return { ok: true, provider: { ...known, file, profile } };
    const entry = table(table(top.model_providers)?.[id]);
    if (!entry) {
        return { ok: false, file, problem: `${file} selects model_provider "${id}", which has no [model_providers.${id}] table`, fix: `define [model_providers.${id}] with its base_url, or choose another provider` };
    }
    return {
        ok: true,
        provider: {
            id,
            name: text(entry.name) ?? id,
            baseUrl: text(entry.base_url),
            requiresOpenaiAuth: entry.requires_openai_auth === true,
            envKey: text(entry.env_key),
            tokenInConfig: text(entry.experimental_bearer_token) !== null,
            file,
            profile,
        },
    };
}
/** What doctor says of codex's provider and its key. */
export function codexProviderReading(env) {
    const reading = readCodexProvider(env);
    if (!reading.ok)
        return { ok: false, detail: reading.problem, fix: reading.fix };
    const p = reading.provider;
    const where = `${p.id} (${p.baseUrl ?? "OpenAI's API"})${p.profile ? `, profile ${p.profile}` : ''}`;
    if (p.envKey && !env[p.envKey]) {
        return {
            ok: false,
            detail: `provider ${where} needs ${p.envKey}, not set`,
            fix: `set ${p.envKey} where the server is started (the MCP client's server entry, or this shell)`,
        };
    }
    const key = p.envKey ? `key from ${p.envKey}` : p.tokenInConfig ? 'token from config.toml' : p.requiresOpenaiAuth ? 'needs an OpenAI login' : 'no key needed';
    return { ok: true, detail: `provider ${where}, ${key}`, codexLogin: p.requiresOpenaiAuth };
}
//# sourceMappingURL=provider.js.map