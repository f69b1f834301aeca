import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { AGENT_NAMES, binEnvOf } from './agents/agent.js';
const flag = z
    .enum(['', '0', '1', 'true', 'false', 'yes', 'no'])
    .default('')
    .transform((v) => v === '1' || v === 'true' || v === 'yes');
const positiveInt = (fallback) => z.coerce.number().int().positive().default(fallback);
const positiveNumber = (fallback) => z.coerce.number().positive().default(fallback);
const EnvSchema = z.object({
    CODEX_ASYNC_HOME: z.string().min(1).optional(),
    CODEX_BIN: z.string().min(1).optional(),
    CODEX_ASYNC_MAX_CONCURRENT: positiveInt(3),
    CODEX_ASYNC_DEFAULT_TIMEOUT: positiveNumber(3600).refine((v) => v <= 7 * 24 * 3600, 'at most 604800 (7 days)'),
    CODEX_ASYNC_ALLOW_DANGEROUS: flag,
    CODEX_ASYNC_KILL_GRACE: positiveNumber(5),
    CODEX_ASYNC_COMPLETION_GRACE: positiveNumber(5),
    CODEX_ASYNC_SWEEP_MS: positiveInt(1000),
    CODEX_ASYNC_ALLOWED_ROOTS: z.string().optional(),
    CODEX_ASYNC_MAX_LOG_MB: positiveNumber(256),
    CODEX_ASYNC_RESERVE_KB: z.coerce.number().int().min(0).default(1024),
    CODEX_ASYNC_TOKEN: z.string().min(16, 'use at least 16 characters').optional(),
    CODEX_ASYNC_RETENTION_DAYS: z.coerce.number().min(0).default(30),
    // Fault injection for the test suite only: the server stops itself (SIGSTOP) holding a claim.
    CODEX_ASYNC_TEST_PAUSE: z.enum(['after-claim', 'before-spawn', 'worktree-made', 'fleet-take']).optional(),
    CODEX_ASYNC_JOB_NICE: z.coerce.number().int().min(0).max(19).default(10),
    CODEX_ASYNC_ISOLATION: z.enum(['none', 'worktree']).default('none'),
    CODEX_ASYNC_REDIS_URL: z
        .string()
        .regex(/^rediss?:\/\/./, 'a redis:// or rediss:// (TLS) URL, e.g. redis://:password@host:6379/0')
        .optional()
        .or(z.literal('').transform(() => undefined)),
    CODEX_ASYNC_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, _ and -, up to 32').default('cam'),
    CODEX_ASYNC_FLEET_MAX: z.coerce.number().int().positive().optional(),
    CODEX_ASYNC_FLEET_LOCK_MS: z.coerce.number().int().min(1000).default(30_000),
});
/** The server's own settings: every CODEX_ASYNC_* variable (CODEX_ASYNC_TOKEN is the HTTP credential). */
export const isServerSetting = (name) => name.startsWith('CODEX_ASYNC_');
export class ConfigError extends Error {
    name = 'ConfigError';
}
/** Reads the environment once; everything else receives the resulting Config. */
export function loadConfig(env = process.env) {
    const parsed = EnvSchema.safeParse(env);
    if (!parsed.success) {
        const problems = parsed.error.issues
            .map((issue) => `${issue.path.join('.')}: ${issue.message}`)
            .join('; ');
        throw new ConfigError(`invalid environment: ${problems}`);
    }
    const e = parsed.data;
    const home = e.CODEX_ASYNC_HOME ?? path.join(os.homedir(), '.codex-async');
    if (!path.isAbsolute(home)) {
        throw new ConfigError(`CODEX_ASYNC_HOME must be an absolute path, got "${home}"`);
    }
    const bins = Object.fromEntries(AGENT_NAMES.map((name) => [name, env[binEnvOf(name)] || undefined]));
    for (const name of AGENT_NAMES) {
        const bin = bins[name];
        // A relative path would be resolved against each job's cwd, letting a repository pick the binary.
        if (bin !== undefined && bin.includes('/') && !path.isAbsolute(bin)) {
            throw new ConfigError(`${binEnvOf(name)} must be an absolute path or a command name found on PATH, got "${bin}"`);
        }
    }
    let allowedRoots = null;
    if (e.CODEX_ASYNC_ALLOWED_ROOTS !== undefined && e.CODEX_ASYNC_ALLOWED_ROOTS.trim() !== '') {
        allowedRoots = e.CODEX_ASYNC_ALLOWED_ROOTS.split(path.delimiter)
            .filter(Boolean)
            .map((root) => {
            if (!path.isAbsolute(root))
                throw new ConfigError(`CODEX_ASYNC_ALLOWED_ROOTS entries must be absolute paths, got "${root}"`);
            try {
                return fs.realpathSync(root);
            }
            catch {
                throw new ConfigError(`CODEX_ASYNC_ALLOWED_ROOTS entry "${root}" does not exist`);
            }
        });
    }
    const callbackSettings = {};
    for (const [key, value] of Object.entries(env)) {
        // Secrets never go to a callback's argv, where ps shows them; a callback needs only the local engine.
        if (value === undefined || key === 'CODEX_ASYNC_TOKEN' || key === 'CODEX_ASYNC_TEST_PAUSE' || key === 'CODEX_ASYNC_REDIS_URL')
            continue;
        if (isServerSetting(key) || AGENT_NAMES.some((name) => binEnvOf(name) === key))
            callbackSettings[key] = value;
    }
    callbackSettings.CODEX_ASYNC_HOME = home;
    return {
        home,
        bins,
        callbackSettings,
        allowedRoots,
        maxLogBytes: Math.round(e.CODEX_ASYNC_MAX_LOG_MB * 1024 * 1024),
        reserveBytes: e.CODEX_ASYNC_RESERVE_KB * 1024,
        httpToken: e.CODEX_ASYNC_TOKEN,
        retentionMs: e.CODEX_ASYNC_RETENTION_DAYS > 0 ? e.CODEX_ASYNC_RETENTION_DAYS * 86_400_000 : null,
        maxConcurrent: e.CODEX_ASYNC_MAX_CONCURRENT,
        defaultTimeoutSeconds: e.CODEX_ASYNC_DEFAULT_TIMEOUT,
        allowDangerous: e.CODEX_ASYNC_ALLOW_DANGEROUS,
        killGraceSeconds: e.CODEX_ASYNC_KILL_GRACE,
        completionGraceSeconds: e.CODEX_ASYNC_COMPLETION_GRACE,
        sweepIntervalMs: e.CODEX_ASYNC_SWEEP_MS,
        testPause: e.CODEX_ASYNC_TEST_PAUSE,
        searchPath: env.PATH ?? '',
        jobNice: e.CODEX_ASYNC_JOB_NICE,
        defaultIsolation: e.CODEX_ASYNC_ISOLATION,
        fleet: e.CODEX_ASYNC_REDIS_URL
            ? { url: e.CODEX_ASYNC_REDIS_URL, prefix: e.CODEX_ASYNC_REDIS_PREFIX, max: e.CODEX_ASYNC_FLEET_MAX, lockMs: e.CODEX_ASYNC_FLEET_LOCK_MS }
            : null,
    };
}
//# sourceMappingURL=config.js.map