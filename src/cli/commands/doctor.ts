import type { Command } from 'commander';
import { checkHealth, type Level } from '../../engine/health.js';
import { EXIT } from '../exit.js';
import { outFor } from '../render.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check codex, its login, the state directory, the database, stuck jobs and free disk')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nEach line is OK, WARN or FAIL with what to do; the exit code is 1 if anything FAILs.\n\nExample:\n  codex-async-mcp doctor\n')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const out = outFor(cmd, opts);
      const checks = await checkHealth();
      const failed = checks.some((c) => c.level === 'fail');
      process.exitCode = failed ? EXIT.unhealthy : EXIT.ok;
      if (out.json) return out.data({ ok: !failed, checks });
      const label: Record<Level, string> = { ok: out.c.green('OK  '), warn: out.c.yellow('WARN'), fail: out.c.red('FAIL') };
      const width = Math.max(...checks.map((c) => c.name.length));
      for (const c of checks) {
        out.line(`${label[c.level]}  ${c.name.padEnd(width)}  ${c.detail}`);
        if (c.fix && c.level !== 'ok') out.line(`      ${' '.repeat(width)}  ${out.c.dim(`→ ${c.fix}`)}`);
      }
    });
}
