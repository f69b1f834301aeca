import type { Command } from 'commander';
import { discardGroup, type LandingView, type LandInput } from '../../engine/api.js';
import type { ApplyResult } from '../../engine/workspaces.js';
import type { FileChange } from '../../workspace/types.js';
import { withEngine } from '../engine.js';
import { CliError, EXIT } from '../exit.js';
import { page } from '../pager.js';
import { diffStat, outFor, paintDiff, plusMinus, type Out } from '../render.js';
import { safeText, safeValue } from '../safe-text.js';
import { onJobsOrGroup, withExamples } from './jobs.js';

/** What is said beside a diff goes to stderr, so stdout stays a patch `git apply` takes. */
const aside = (out: Out, text: string) => void process.stderr.write(`${out.c.dim(`codex-async-mcp: ${text}`)}\n`);

function fileLine(out: Out, f: FileChange): string {
  const colour = f.status === 'added' ? out.c.green : f.status === 'deleted' ? out.c.red : out.c.yellow;
  const name = f.old_path && f.old_path !== f.path ? `${f.old_path} → ${f.path}` : f.path;
  return `  ${colour(f.status.padEnd(8))} ${name}  ${f.binary ? out.c.dim('binary') : plusMinus(out, f.additions, f.deletions)}`;
}

/** Whether the apply went through (or, dry, would). */
const wentThrough = (r: ApplyResult) => r.conflicts.length === 0 && r.refused === null;

function printApply(out: Out, r: ApplyResult): void {
  out.line(r.message);
  for (const f of r.files) out.line(fileLine(out, f));
  if (r.conflicts.length) {
    out.line(out.c.red('conflicts:'));
    for (const c of r.conflicts) out.line(`  ${out.c.red(c.path)}  ${c.reason}`);
  }
}

/** One round of `land`'s wait; its steps are printed as they come. */
const LAND_TICK_MS = 30_000;

function printLanding(out: Out, r: LandingView): void {
  out.line(`${r.dry_run ? 'dry run' : `landing ${r.landing_id}`}: ${r.status === 'done' ? out.c.green(r.status) : out.c.red(r.status)}: ${r.message}`);
  for (const a of r.set_aside) {
    out.line(`  ${out.c.yellow('set aside')} ${a.job_id} (${a.reason}): ${a.message}`);
    if (a.check) for (const l of a.check.output_tail.trimEnd().split('\n').slice(-10)) out.line(`    ${out.c.dim(l)}`);
  }
  for (const c of r.resolving) out.line(`  ${out.c.cyan('continuing')} ${c.job_id} as ${c.continuation_job_id}`);
  for (const c of r.conflicts ?? []) out.line(`  ${out.c.red('conflict')} ${c.a} × ${c.b}: ${c.files.join(', ')}`);
  for (const f of r.files) out.line(fileLine(out, f));
}

export function registerReviewCommands(program: Command): void {
  withExamples(
    program
      .command('diff')
      .description("what a job changed, against the commit it started from (coloured, through your pager, on a terminal; a plain patch otherwise)")
      .argument('<job_id>')
      .argument('[paths...]', "only these files or directories (relative to the job's cwd)")
      .option('--stat', 'only the files changed, with counts of lines added and removed')
      .option('--json', 'print JSON: the files, their counts and the patch')
      .option('--raw', 'on a terminal too, the patch byte for byte (control characters included), uncoloured, as a pipe gets it'),
    `  codex-async-mcp diff 3f9c0a1b2c3d
  codex-async-mcp diff 3f9c0a1b2c3d --stat
  codex-async-mcp diff 3f9c0a1b2c3d src/ | git apply --check

The pager is GIT_PAGER, else PAGER, else less -FRX; set it to cat (or "") for none.`,
  ).action(async (jobId: string, paths: string[], opts: { stat?: boolean; json?: boolean; raw?: boolean }, cmd: Command) => {
    const out = outFor(cmd, opts);
    await withEngine(async (engine) => {
      // Whole, unlike the tool's answer: a person's pager and `| git apply` need every line.
      const d = await engine.diff(jobId, { statOnly: opts.stat === true, paths: paths.length ? paths : undefined, maxBytes: Number.MAX_SAFE_INTEGER });
      if (out.json) return out.data(d);
      if (d.note) aside(out, d.note);
      if (d.files.length === 0) return aside(out, `job ${d.job_id} changed nothing${paths.length ? ' in those paths' : ''}`);
      if (opts.stat) {
        for (const line of diffStat(out, safeValue(d.files))) out.line(line);
        return;
      }
      if (d.truncated) aside(out, `the diff is cut short at its size limit: see the files with --stat, or narrow it to some paths`);
      const patch = d.patch ?? '';
      // A pipe gets the patch as it is, for `git apply`; a terminal (through `less -R`, which passes
      // escapes on), the job's lines made safe, then coloured.
      await page(out, out.tty && !opts.raw ? paintDiff(out, safeText(patch)) : patch);
    });
  });

  withExamples(
    program
      .command('apply')
      .description("bring a job's changes into the checkout it was started from, as uncommitted changes (all or nothing)")
      .argument('<job_id>')
      .option('--dry-run', 'only check that they apply cleanly; change nothing')
      .option('--json', 'print JSON'),
    `  codex-async-mcp apply 3f9c0a1b2c3d --dry-run
  codex-async-mcp apply 3f9c0a1b2c3d && git status && git diff

Conflicts, or uncommitted changes of yours to the same files, leave your checkout untouched and
exit 1 with the files listed.`,
  ).action(async (jobId: string, opts: { dryRun?: boolean; json?: boolean }, cmd: Command) => {
    const out = outFor(cmd, opts);
    await withEngine(async (engine) => {
      const r = await engine.apply(jobId, { dryRun: opts.dryRun === true });
      if (out.json) out.data(r);
      else printApply(out, safeValue(r));
      if (!wentThrough(r)) process.exitCode = EXIT.failed;
    });
  });

  withExamples(
    program
      .command('land')
      .description('bring several finished worktree jobs into the checkout (or onto a branch) as one change: in order, each checked, conflicts set aside')
      .argument('[job_ids...]', 'the jobs, in the order to land them')
      .option('--group <group_id>', 'the attempts of a group, best-ranked first')
      .option('--check <command>', 'run after each clean merge in the integration worktree; a job that fails it is set aside')
      .option('--branch <name>', 'one commit per landed job on this branch (made from HEAD, or added to), the checkout untouched')
      .option('--resolve', 'start a continuation for each job set aside, in a worktree holding what landed')
      .option('--dry-run', 'only say which jobs conflict with which and with the checkout; change nothing')
      .option('--landing <landing_id>', 'wait for a landing started earlier')
      .option('--cancel', 'with --landing: stop it (before it writes anything)')
      .option('--json', 'print JSON'),
    `  codex-async-mcp land 3f9c0a1b2c3d 8e7d6c5b4a39 --check "npm test"
  codex-async-mcp land 3f9c0a1b2c3d 8e7d6c5b4a39 --dry-run
  codex-async-mcp land 3f9c0a1b2c3d 8e7d6c5b4a39 --branch feature/search --resolve

Waits until the landing ends (it goes on if this command is stopped: wait again with --landing).
Exits 1 when a job was (or, with --dry-run, would be) set aside, or nothing could land.`,
  ).action(
    async (
      jobIds: string[],
      opts: { group?: string; check?: string; branch?: string; resolve?: boolean; dryRun?: boolean; landing?: string; cancel?: boolean; json?: boolean },
      cmd: Command,
    ) => {
      const out = outFor(cmd, opts);
      if (opts.landing === undefined && opts.cancel) throw new CliError('--cancel goes with --landing: the landing to stop');
      if (opts.landing === undefined) onJobsOrGroup(jobIds, opts.group, false);
      else if (jobIds.length || opts.group !== undefined || opts.check !== undefined || opts.branch !== undefined || opts.resolve || opts.dryRun) {
        throw new CliError('--landing waits for a landing already started: give it alone (with --cancel to stop it, --json if you like)');
      }
      await withEngine(async (engine) => {
        const input: LandInput =
          opts.landing !== undefined
            ? { landing_id: opts.landing, cancel: opts.cancel }
            : {
                ...(opts.group !== undefined ? { group_id: opts.group } : { job_ids: jobIds }),
                check_command: opts.check,
                into: opts.branch !== undefined ? 'branch' : undefined,
                branch: opts.branch,
                resolve: opts.resolve,
                dry_run: opts.dryRun,
              };
        // Waited for in rounds, as a person may stop the command at any time (the landing goes on).
        let said = 0;
        const onProgress = (step: string, index: number) => {
          if (!out.json && index >= said) aside(out, step);
          said = Math.max(said, index + 1);
        };
        let r = await engine.land(input, LAND_TICK_MS, { onProgress });
        while (r.status === 'running') r = await engine.land({ landing_id: r.landing_id! }, LAND_TICK_MS, { onProgress });
        if (out.json) out.data(r);
        else printLanding(out, safeValue(r));
        if (r.status !== 'done' || r.set_aside.length > 0) process.exitCode = EXIT.failed;
      });
    },
  );

  withExamples(
    program
      .command('discard')
      .description("remove a job's worktree and its branch (its record and logs stay)")
      .argument('[job_id]')
      .option('--group <group_id>', "every attempt's worktree and branch of a group (run --attempts), once none is running")
      .option('--json', 'print JSON'),
    '  codex-async-mcp discard 3f9c0a1b2c3d\n  codex-async-mcp discard --group 7e6d5c4b3a29',
  ).action(async (jobId: string | undefined, opts: { json?: boolean; group?: string }, cmd: Command) => {
    const out = outFor(cmd, opts);
    if (onJobsOrGroup(jobId === undefined ? [] : [jobId], opts.group, true) === 'group') {
      return withEngine(async (engine) => {
        const { group, attempts } = await discardGroup(engine, opts.group!);
        if (out.json) return out.data({ group_id: group.group_id, attempts });
        for (const r of attempts) out.line(`job ${r.job_id}: ${r.message}`);
      });
    }
    await withEngine(async (engine) => {
      const r = await engine.discard(jobId!);
      if (out.json) out.data(r);
      else out.line(r.message);
    });
  });
}
