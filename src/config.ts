import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { AGENT_NAMES, binEnvOf, type AgentName } from './agents/agent.js';
import { PORT_BLOCK, type PortRange } from './jobs/ports.js';
import { hasProc } from './supervise/platform/index.js';
import type { SandboxKind } from './supervise/sandbox.js';

const flag = z
  .enum(['', '0', '1', 'true', 'false', 'yes', 'no'])
  .default('')
  .transform((v) => v === '1' || v === 'true' || v === 'yes');

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const positiveNumber = (fallback: number) => z.coerce.number().positive().default(fallback);

/** Below Linux's ephemeral range (32768+), from which the kernel picks outgoing connections' ports. */
const DEFAULT_PORTS = '20000-31999';

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
  CODEX_ASYNC_TEST_PAUSE: z.enum(['after-claim', 'before-spawn', 'worktree-made', 'fleet-take', 'fleet-claimed', 'land-delivering']).optional(),
  CODEX_ASYNC_BWRAP: z.string().min(1).default('bwrap'),
  CODEX_ASYNC_SEATBELT: z.string().min(1).default('/usr/bin/sandbox-exec'),
  CODEX_ASYNC_SANDBOX_KIND: z.enum(['bubblewrap', 'seatbelt']).optional(),
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
  CODEX_ASYNC_FLEET_LOST_AFTER: positiveNumber(600),
  CODEX_ASYNC_PORTS: z.string().default(DEFAULT_PORTS),
  // How jobs are supervised (supervise/platform/): read there, checked here so a typo stops the start.
  CODEX_ASYNC_PLATFORM: z
    .enum(['linux', 'posix'])
    .optional()
    .refine((v) => v !== 'linux' || hasProc(), 'linux needs /proc, which this system lacks: leave it unset or use posix'),
});

export interface Config {
  /** State directory: jobs.db plus one directory per job. */
  home: string;
  /** Each agent's explicit executable (CODEX_BIN, CLAUDE_BIN, …); an agent without one is looked up on PATH. */
  bins: Record<AgentName, string | undefined>;
  maxConcurrent: number;
  defaultTimeoutSeconds: number;
  allowDangerous: boolean;
  /** Seconds between SIGINT and SIGKILL when stopping a job. */
  killGraceSeconds: number;
  /** Seconds codex may linger after turn.completed before it is ended (openai/codex#7622). */
  completionGraceSeconds: number;
  /** How often a server checks running jobs for deadlines and vanished processes. */
  sweepIntervalMs: number;
  /** PATH used to find codex when codexBin is not set. */
  searchPath: string;
  /**
   * bubblewrap, by name on searchPath or by absolute path (CODEX_ASYNC_BWRAP): the OS sandbox on Linux of the
   * agents without one of their own (supervise/sandbox.ts).
   */
  bwrap: string;
  /** sandbox-exec, likewise (CODEX_ASYNC_SEATBELT): the OS sandbox on macOS (supervise/seatbelt.ts). */
  seatbelt: string;
  /**
   * Which of the two confines those agents: the platform's own (Seatbelt on macOS, bubblewrap
   * elsewhere) unless CODEX_ASYNC_SANDBOX_KIND says, as the tests do to run the macOS one on Linux.
   */
  sandboxKind: SandboxKind;
  /** Directories (real paths) that cwd, add_dirs and images must lie in; null: any directory the user owns. */
  allowedRoots: string[] | null;
  /** Disk a running job's event log (and, apart, its stderr) may use; older output is dropped. */
  maxLogBytes: number;
  /** Disk space kept aside so job outcomes can be recorded on a full disk. */
  reserveBytes: number;
  /** Bearer token for Streamable HTTP (`serve --http`). */
  httpToken: string | undefined;
  /** Finished jobs older than this are deleted automatically; null keeps them forever. */
  retentionMs: number | null;
  /**
   * The settings a job's wrapper hands back to the bin when it calls back (supervise/launch.ts):
   * this configuration's CODEX_ASYNC_* variables and the agents' *_BIN, never the token or test faults.
   */
  callbackSettings: Record<string, string>;
  /** Tests only: where the server SIGSTOPs itself while holding a claim. */
  testPause: 'after-claim' | 'before-spawn' | 'worktree-made' | 'fleet-take' | 'fleet-claimed' | 'land-delivering' | undefined;
  /**
   * Niceness jobs run at: codex's start-up and output compete with the server for the CPU, and on
   * a small machine they made tool calls wait (codex_poll p99 ~85 ms beside 2 jobs, ~45 ms niced).
   */
  jobNice: number;
  /** Where jobs work unless codex_start says: in the user's checkout, or a git worktree each. */
  defaultIsolation: 'none' | 'worktree';
  /** The ports worktree jobs get their blocks of PORT_BLOCK from (CODEX_ASYNC_PORTS), both ends included. */
  ports: PortRange;
  /** Set (CODEX_ASYNC_REDIS_URL): front ends enqueue into the fleet and runners take the jobs (docs/SCALING.md). */
  fleet: FleetConfig | null;
}

export interface FleetConfig {
  /** redis:// or rediss:// with the password or ACL user in it. */
  url: string;
  /** Every key and channel of this fleet starts with it, so one Redis can serve several. */
  prefix: string;
  /** Jobs running at once across all runners (per label set); undefined leaves BullMQ's setting as it is. */
  max: number | undefined;
  /** How long a runner's hold on a job lasts unrenewed: a runner gone this long has its jobs looked at by others. */
  lockMs: number;
  /**
   * How long after its runner's last heartbeat a job not yet final is given up as lost, for good. Until
   * then it reads as it was (running) with the runner's absence shown: a paused or restarting runner
   * must not turn a job failed that then completes.
   */
  lostAfterMs: number;
}

/** The server's own settings: every CODEX_ASYNC_* variable (CODEX_ASYNC_TOKEN is the HTTP credential). */
export const isServerSetting = (name: string) => name.startsWith('CODEX_ASYNC_');

/**
 * Settings never handed on to another process of ours: the HTTP token (a credential, and stdio needs
 * none) and test faults (for the one process a test means).
 */
const KEPT_TO_ITSELF = new Set(['CODEX_ASYNC_TOKEN', 'CODEX_ASYNC_TEST_PAUSE']);

/** A variable this configuration reads: the server's own settings and each agent's *_BIN. */
const isSetting = (name: string) => isServerSetting(name) || AGENT_NAMES.some((agent) => binEnvOf(agent) === name);

/**
 * The settings this environment sets that a server started by an MCP client would not see: clients
 * start their servers with an environment of their own (a few variables such as PATH and HOME, and
 * what their configuration's `env` gives), never the shell's. Not the HTTP token (stdio needs none)
 * nor test faults.
 */
export function settingsSetIn(env: NodeJS.ProcessEnv): string[] {
  return Object.keys(env)
    .filter((key) => env[key] && isSetting(key) && !KEPT_TO_ITSELF.has(key))
    .sort();
}

/** The platform's own sandbox for the agents without one: Seatbelt on macOS, bubblewrap elsewhere (Linux, and WSL). */
export const defaultSandboxKind = (platform: NodeJS.Platform = process.platform): SandboxKind => (platform === 'darwin' ? 'seatbelt' : 'bubblewrap');

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * CODEX_ASYNC_PORTS, "FIRST-LAST": whole blocks, none below 1024 (they need privileges to listen on).
 * FIRST on a multiple of the block: servers on one home with different ranges then still cut the
 * same blocks, and the table's primary key keeps them apart.
 */
function portRange(text: string): PortRange {
  const m = /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(text);
  const first = Number(m?.[1]);
  const last = Number(m?.[2]);
  const size = last - first + 1;
  if (!m || first < 1024 || last > 65535 || first % PORT_BLOCK !== 0 || size < PORT_BLOCK || size % PORT_BLOCK !== 0) {
    throw new ConfigError(
      `CODEX_ASYNC_PORTS must be a range FIRST-LAST between 1024 and 65535 of whole blocks of ${PORT_BLOCK} ports (FIRST a multiple of ${PORT_BLOCK}; one block per running worktree job), e.g. ${DEFAULT_PORTS}; got "${text}"`,
    );
  }
  return { first, last };
}

/** Reads the environment once; everything else receives the resulting Config. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
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
  const bins = Object.fromEntries(AGENT_NAMES.map((name) => [name, env[binEnvOf(name)] || undefined])) as Config['bins'];
  for (const name of AGENT_NAMES) {
    const bin = bins[name];
    // A relative path would be resolved against each job's cwd, letting a repository pick the binary.
    if (bin !== undefined && bin.includes('/') && !path.isAbsolute(bin)) {
      throw new ConfigError(`${binEnvOf(name)} must be an absolute path or a command name found on PATH, got "${bin}"`);
    }
  }
  let allowedRoots: string[] | null = null;
  if (e.CODEX_ASYNC_ALLOWED_ROOTS !== undefined && e.CODEX_ASYNC_ALLOWED_ROOTS.trim() !== '') {
    allowedRoots = e.CODEX_ASYNC_ALLOWED_ROOTS.split(path.delimiter)
      .filter(Boolean)
      .map((root) => {
        if (!path.isAbsolute(root)) throw new ConfigError(`CODEX_ASYNC_ALLOWED_ROOTS entries must be absolute paths, got "${root}"`);
        try {
          return fs.realpathSync(root);
        } catch {
          throw new ConfigError(`CODEX_ASYNC_ALLOWED_ROOTS entry "${root}" does not exist`);
        }
      });
  }
  // A runner is only missed once its heartbeat has lapsed: giving its jobs up sooner would mean nothing.
  if (e.CODEX_ASYNC_REDIS_URL && e.CODEX_ASYNC_FLEET_LOST_AFTER * 1000 <= e.CODEX_ASYNC_FLEET_LOCK_MS) {
    throw new ConfigError(`CODEX_ASYNC_FLEET_LOST_AFTER (${e.CODEX_ASYNC_FLEET_LOST_AFTER} s) must be longer than CODEX_ASYNC_FLEET_LOCK_MS (${e.CODEX_ASYNC_FLEET_LOCK_MS} ms), how long a heartbeat lasts`);
  }
  const ports = portRange(e.CODEX_ASYNC_PORTS);
  const callbackSettings: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    // Secrets never go to a callback's argv, where ps shows them; a callback needs only the local engine.
    if (value === undefined || KEPT_TO_ITSELF.has(key) || key === 'CODEX_ASYNC_REDIS_URL') continue;
    if (isSetting(key)) callbackSettings[key] = value;
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
    bwrap: e.CODEX_ASYNC_BWRAP,
    seatbelt: e.CODEX_ASYNC_SEATBELT,
    sandboxKind: e.CODEX_ASYNC_SANDBOX_KIND ?? defaultSandboxKind(),
    jobNice: e.CODEX_ASYNC_JOB_NICE,
    defaultIsolation: e.CODEX_ASYNC_ISOLATION,
    ports,
    fleet: e.CODEX_ASYNC_REDIS_URL
      ? {
          url: e.CODEX_ASYNC_REDIS_URL,
          prefix: e.CODEX_ASYNC_REDIS_PREFIX,
          max: e.CODEX_ASYNC_FLEET_MAX,
          lockMs: e.CODEX_ASYNC_FLEET_LOCK_MS,
          lostAfterMs: Math.round(e.CODEX_ASYNC_FLEET_LOST_AFTER * 1000),
        }
      : null,
  };
}
