import type { Command } from 'commander';
import { ConfigError, loadConfig, settingsSetIn, type FleetConfig } from '../../config.js';
import { checkHealth, type Check, type Level } from '../../engine/health.js';
import { repairStore, type Repaired } from '../../engine/repair.js';
import { ToolError } from '../../errors.js';
import { CliError, EXIT } from '../exit.js';
import { outFor } from '../render.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check codex (and the other agents), their model providers and login, the state directory, the database, stuck jobs and free disk; in a fleet, Redis and the runners')
    .option('--json', 'print JSON')
    .option('--repair', 'rebuild a damaged job database from the job directories (the damaged file is kept aside)')
    .addHelpText(
      'after',
      '\nEach line is OK, WARN or FAIL with what to do; the exit code is 1 if anything FAILs.\n\n' +
        'With --repair, a damaged database (missing or empty beside job directories, not a database, damaged pages) is\n' +
        'moved aside as jobs.db.damaged-<time> (with its -wal and -shm), then rebuilt: every row SQLite can still read,\n' +
        'and every other job from its directory (prompt, settings, event stream, exit status, final message).\n' +
        'Close the MCP clients using the state directory first; the repair refuses while a process has the database open.\n\n' +
        'With CODEX_ASYNC_REDIS_URL set (a fleet), doctor also checks that Redis answers and takes the credentials (the\n' +
        'password is never printed), its version (BullMQ needs 6.2 or newer), persistence (appendonly yes, or queued jobs\n' +
        'vanish with a restart), maxmemory-policy noeviction, and every runner seen: connected (its jobs, labels, agents\n' +
        'and last heartbeat) or gone since when. The local checks still run: this machine may be a runner too.\n\n' +
        'Examples:\n  codex-async-mcp doctor\n  codex-async-mcp doctor --repair\n',
    )
    .action(async (opts: { json?: boolean; repair?: boolean }, cmd: Command) => {
      const out = outFor(cmd, opts);
      let repaired: Repaired | null = null;
      if (opts.repair && (await checkHealth()).some((c) => c.repairable)) {
        try {
          repaired = await repairStore(loadConfig());
        } catch (err) {
          if (err instanceof ToolError) throw new CliError(`cannot repair: ${err.message}`, EXIT.unhealthy);
          throw err;
        }
      }
      const fleet = fleetConfig();
      // Redis's client loads only for a fleet.
      const [local, remote] = await Promise.all([checkHealth(), fleet ? import('../../fleet/health.js').then((m) => m.checkFleet(fleet)) : []]);
      const checks = [...local, ...shellOnly(), ...remote];
      const failed = checks.some((c) => c.level === 'fail');
      process.exitCode = failed ? EXIT.unhealthy : EXIT.ok;
      if (out.json) return out.data({ ok: !failed, checks, ...(opts.repair ? { repaired } : {}) });
      if (opts.repair) out.line(repaired ? describeRepair(repaired) : 'nothing to repair: the job database is not damaged');
      printChecks(out, checks);
    });
}

/**
 * Doctor checks what this shell's settings give; a server an MCP client starts does not inherit
 * them, so a pass here can hide a server that finds no codex and another state directory.
 */
function shellOnly(): Check[] {
  const names = settingsSetIn(process.env);
  if (names.length === 0) return [];
  return [
    {
      name: 'environment',
      level: 'info',
      detail: `these checks used ${names.join(', ')} from this shell; a server an MCP client starts does not inherit your shell's environment`,
      fix: 'give them to it when registering: codex-async-mcp install <client> --env NAME=VALUE (install warns about each one missing)',
    },
  ];
}

/** The fleet's settings, or null: none set, or a bad environment, which checkHealth reports. */
function fleetConfig(): FleetConfig | null {
  try {
    return loadConfig().fleet;
  } catch (err) {
    if (err instanceof ConfigError) return null;
    throw err;
  }
}

function describeRepair(r: Repaired): string {
  const kept = r.keptAt ? `kept the damaged database as ${r.keptAt}; ` : '';
  return `${kept}rebuilt the job list: ${r.fromRows} jobs from the rows still readable, ${r.fromDirectories} from their directories`;
}

function printChecks(out: ReturnType<typeof outFor>, checks: Check[]): void {
  const label: Record<Level, string> = { ok: out.c.green('OK  '), info: out.c.dim('INFO'), warn: out.c.yellow('WARN'), fail: out.c.red('FAIL') };
  const width = Math.max(...checks.map((c) => c.name.length));
  for (const c of checks) {
    out.line(`${label[c.level]}  ${c.name.padEnd(width)}  ${c.detail}`);
    if (c.fix && c.level !== 'ok') out.line(`      ${' '.repeat(width)}  ${out.c.dim(`→ ${c.fix}`)}`);
  }
}
