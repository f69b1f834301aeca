import { AGENT_NAMES } from '../../agents/agent.js';
import { SANDBOXES } from '../../agents/access.js';
import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { agentOf } from '../../agents/registry.js';
import { describeProgress } from '../../agents/progress.js';
import type { GroupView, JobApi, Started } from '../../engine/api.js';
import { describeGroup } from '../../engine/groups.js';
import { MAX_ATTEMPTS, REASONING_EFFORTS } from '../../engine/validate.js';
import { startWarnings } from '../../engine/warnings.js';
import { ISOLATIONS } from '../../workspace/types.js';
import type { JobSummary, Snapshot } from '../../engine/snapshot.js';
import { isFinal, STATUSES, type JobStatus } from '../../jobs/states.js';
import { forPeople, withEngine } from '../engine.js';
import { CliError, EXIT, exitCodeFor } from '../exit.js';
import { waitLive } from '../live.js';
import { age, bytes, changesCell, duration, outFor, paintChanges, plusMinus, runTime, statusColour, table, tildify, type Out } from '../render.js';
import { safeText, safeValue } from '../safe-text.js';


interface Common {
  json?: boolean;
}

/** The prompt from the argument, `--file`, or stdin ("-" or no argument with piped input). */
async function readPrompt(arg: string | undefined, file: string | undefined): Promise<string> {
  if (arg !== undefined && file !== undefined) throw new CliError('give the prompt as an argument or with --file, not both');
  if (file !== undefined) {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read --file ${file}: ${(err as Error).message}`);
    }
  }
  if (arg !== undefined && arg !== '-') return arg;
  if (process.stdin.isTTY) throw new CliError('no prompt: give it as an argument, with --file, or on stdin');
  // Read as a stream: loading log-update (its ansi-escapes) puts a piped stdin in non-blocking mode, where
  // a synchronous read fails with EAGAIN as soon as the writer is slower than us (`git diff | run -`).
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const seconds = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new CliError(`${name} takes a number of seconds, got "${value}"`);
  return n;
};

/** An option parser for a count: a whole number, at least `min`. */
const wholeNumber = (flag: string, min: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new CliError(`${flag} takes a whole number${min > 0 ? ` from ${min} up` : ''}, got "${value}"`);
  return n;
};

/** "30d", "12h", "90m", "45s" or plain seconds → milliseconds. */
export function parseAge(value: string): number {
  const m = /^(\d+(?:\.\d+)?)([smhdw]?)$/.exec(value.trim());
  if (!m) throw new CliError(`--older-than takes an age like 30d, 12h, 90m or 45s, got "${value}"`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as '' | 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit * 1000;
}

export function withExamples(cmd: Command, examples: string): Command {
  return cmd.addHelpText('after', `\nExamples:\n${examples}\n`);
}

function jobOptions(cmd: Command): Command {
  return cmd
    .option('-m, --model <model>', 'codex model (default: codex\'s own)')
    .addOption(new Option('--effort <level>', 'reasoning effort').choices([...REASONING_EFFORTS]))
    .option('--label <label>', 'a label to find the job by (ls --label)')
    .option('--timeout <seconds>', 'stop the job after this long', seconds('--timeout'))
    .option('-w, --wait', 'wait for the job, with live progress; the exit code mirrors its outcome')
    .option('--json', 'print JSON');
}

interface JobOpts extends Common {
  sandbox?: string;
  model?: string;
  effort?: string;
  label?: string;
  timeout?: number;
  wait?: boolean;
  file?: string;
}

/** The options `run` and `reply` share, as the engine names them. */
const settingsOf = (opts: JobOpts) => ({
  sandbox: opts.sandbox,
  model: opts.model,
  reasoning_effort: opts.effort,
  label: opts.label,
  timeout_seconds: opts.timeout,
});

/** After starting a job: wait for it, or say how to follow it. */
async function started(engine: JobApi, out: Out, s: Started, opts: JobOpts): Promise<void> {
  if (s.group_id !== null) return startedGroup(engine, out, s, s.group_id, opts);
  const jobId = s.job_id;
  if (opts.wait) return waitAndReport(engine, out, [jobId], undefined, true);
  const snap = await engine.poll(jobId, 0);
  if (out.json) return out.data({ job_id: jobId, status: snap.status, queue_position: snap.queue_position });
  if (!out.tty) return out.line(jobId);
  const where = snap.queue_position ? ` (queued, position ${snap.queue_position})` : ` (${snap.status})`;
  out.line(`Started job ${out.c.bold(jobId)}${where}.`);
  out.line(out.c.dim(`Follow it: codex-async-mcp logs -f ${jobId}    wait for it: codex-async-mcp wait ${jobId}`));
}

/** After starting attempts: wait for the group and rank them, or say how to. */
async function startedGroup(engine: JobApi, out: Out, s: Started, groupId: string, opts: JobOpts): Promise<void> {
  if (opts.wait) return finishGroup(engine, out, groupId);
  if (out.json) return out.data({ group_id: groupId, job_ids: s.job_ids });
  // Piped: the group id first, then one attempt's id a line, for `read` and `tail -n +2`.
  if (!out.tty) return out.line([groupId, ...s.job_ids].join('\n'));
  out.line(`Started ${s.job_ids.length} attempts as group ${out.c.bold(groupId)}: ${s.job_ids.join(', ')}.`);
  out.line(out.c.dim(`Wait for them, ranked: codex-async-mcp wait --group ${groupId}`));
}

/**
 * Waits for every attempt of a group (live, as for jobs), then prints them ranked, best first. The
 * exit code says whether there is an attempt to recommend: 0 when the group names a best one, 3
 * when every attempt was cancelled (as for a cancelled job), else 1.
 */
async function finishGroup(engine: JobApi, out: Out, groupId: string, timeoutMs?: number): Promise<void> {
  const ids = (await engine.group(groupId)).attempts.map((a) => a.job_id);
  const { snapshots, interrupted } = await waitLive(engine, out, ids, timeoutMs);
  const group = await engine.group(groupId);
  if (out.json) out.data(group);
  else printGroup(out, group);
  if (snapshots.some((r) => !isFinal(r.status))) {
    process.exitCode = interrupted ? EXIT.interrupted : EXIT.timeout;
    if (!out.json) process.stderr.write(`codex-async-mcp: ${group.total - group.finished} attempt(s) of group ${group.group_id} still going; they go on in the background\n${goOn(`--group ${group.group_id}`)}`);
    return;
  }
  const cancelled = group.attempts.every((a) => a.status === 'cancelled');
  process.exitCode = group.best_job_id ? EXIT.ok : cancelled ? EXIT.cancelled : EXIT.failed;
}

/** A group's attempts ranked: one line for the group, then a table, the best marked. */
function printGroup(out: Out, g: GroupView): void {
  out.line(describeGroup(g));
  const rows = g.attempts.map((a, i) => [
    a.job_id === g.best_job_id ? '★' : String(i + 1),
    a.job_id,
    a.status,
    a.check ? (a.check.passed ? 'passed' : a.check.exit_code === null ? 'not run' : `failed (exit ${a.check.exit_code})`) : '—',
    a.changes ? `+${a.changes.additions} -${a.changes.deletions}` : '—',
    a.changes ? String(a.changes.files) : '',
  ]);
  const lines = table(out, ['#', 'ID', 'STATUS', 'CHECK', 'CHANGES', 'FILES'], rows, (col, cell, padded) => {
    if (col === 2) return padded.replace(cell, statusColour(out, cell));
    if (col === 3) return padded.replace(cell, cell === 'passed' ? out.c.green(cell) : cell === '—' ? out.c.dim(cell) : out.c.red(cell));
    if (col === 4) return padded.replace(cell, paintChanges(out, cell));
    return col === 0 && cell === '★' ? out.c.yellow(padded) : padded;
  });
  for (const line of lines) out.line(line);
  if (g.best_job_id) out.line(out.c.dim(`Review the best: codex-async-mcp diff ${g.best_job_id}    bring it in: codex-async-mcp apply ${g.best_job_id}`));
}

/**
 * Waits for every job, then prints each result; the exit code is the first unsuccessful job's.
 * `--json` prints an array (`wait`), or the one job's object when `single` (`run`, `reply`).
 */
async function waitAndReport(engine: JobApi, out: Out, ids: string[], timeoutMs?: number, single = false): Promise<void> {
  const { snapshots: results, interrupted } = await waitLive(engine, out, ids, timeoutMs);
  const shown = await Promise.all(results.map((r) => (isFinal(r.status) ? engine.result(r.job_id) : r)));
  if (out.json) out.data(single ? shown[0] : shown);
  else for (const snap of results) printOutcome(out, safeValue(snap));
  const pending = results.find((r) => !isFinal(r.status));
  if (pending) {
    // Ctrl-C ends the waiting, not the job (exit 130, as for any interrupted command); --timeout, 124.
    process.exitCode = interrupted ? EXIT.interrupted : EXIT.timeout;
    if (!out.json) process.stderr.write(`codex-async-mcp: job ${pending.job_id} is still ${pending.status}; it goes on in the background\n${goOn(pending.job_id)}`);
    return;
  }
  process.exitCode = results.map(exitCodeFor).find((code) => code !== EXIT.ok) ?? EXIT.ok;
}

/** After a wait that ended early: how to pick the job (or group) up again, or stop it. */
const goOn = (what: string) => `codex-async-mcp: wait again: codex-async-mcp wait ${what}    stop it: codex-async-mcp cancel ${what}\n`;

function printOutcome(out: Out, snap: Snapshot): void {
  if (!isFinal(snap.status)) return;
  const ok = snap.status === 'completed';
  const mark = ok ? out.c.green('✔') : out.c.red('✖');
  const why = snap.error ? ` (${snap.error.kind}: ${snap.error.message})` : '';
  const took = runTime(snap) ? ` in ${runTime(snap)}` : '';
  out.line(`${mark} job ${out.c.bold(snap.job_id)} ${statusColour(out, snap.status)}${took}${why} — ${describeProgress(snap.progress, snap.changes?.files)}`);
  if (snap.last_message) out.line(snap.last_message.trimEnd());
}

/** `fleet`: a RUNNER column before the prompt, the runner's id without its host. */
function listRow(job: JobSummary, now: number, fleet: boolean): string[] {
  const row = [job.job_id, job.agent, job.status, age(job.created_at, now), runTime(job, now), changesCell(job), tildify(job.cwd), job.label ?? ''];
  const runner = `${job.runner?.split(' ')[0] ?? ''}${job.runner_unreachable_since ? ' (away)' : ''}`;
  return [...row, ...(fleet ? [runner] : []), job.prompt];
}

function printSnapshot(out: Out, s: Snapshot): void {
  const c = out.c;
  const when = s.finished_at ? `finished ${age(s.finished_at)}` : s.started_at ? `started ${age(s.started_at)}` : `queued ${age(s.created_at)}`;
  const took = runTime(s) ? `, ran ${runTime(s)}` : '';
  const field = (name: string, value: string | null | undefined) => {
    if (value) out.line(`${c.dim(name.padEnd(9))} ${value}`);
  };
  out.line(`${c.bold(`job ${s.job_id}`)}  ${statusColour(out, s.status)}  ${c.dim(`(${when}${took})`)}`);
  field('prompt', s.prompt.split('\n')[0]);
  field('runner', s.runner_unreachable_since ? `${s.runner}, not heard from since ${s.runner_unreachable_since}` : s.runner);
  field('cwd', tildify(s.cwd));
  field('agent', s.agent);
  field('sandbox', `${s.sandbox}${s.model ? `, model ${s.model}` : ''}`);
  field('label', s.label);
  field('parent', s.parent_job_id);
  field('group', s.group_id);
  const ws = s.workspace;
  if (ws.kind === 'worktree') {
    const base = ws.base_commit ? `, base ${ws.base_commit.slice(0, 12)}` : '';
    const state = ws.state === 'ready' ? '' : ` (${ws.state})`;
    field('worktree', `${ws.path ? tildify(ws.path) : ''}${state}`);
    field('branch', `${ws.branch ?? ''}${base}, from ${ws.repo ? tildify(ws.repo) : '?'}`);
    if (ws.brought_in) {
      const each = ws.brought_in.entries.map((e) =>
        e.how === 'skipped'
          ? `${e.path} (skipped: a virtualenv, make one with the setup)`
          : e.files === null
            ? `${e.path} (${e.how}, read-only)`
            : `${e.path} (${e.how}, ${e.files} file${e.files === 1 ? '' : 's'}, ${bytes(e.bytes ?? 0)})`,
      );
      field('included', each.length ? each.join(', ') : 'nothing matched .worktreeinclude');
    }
    if (ws.setup) {
      const took = ws.setup.duration_ms === null ? '' : ` in ${duration(ws.setup.duration_ms)}`;
      const outcome = ws.setup.exit_code === null ? c.yellow('running') : ws.setup.passed ? c.green('passed') : c.red(`failed (exit ${ws.setup.exit_code})`);
      field('setup', `${outcome}${took}: ${ws.setup.command}`);
    }
    field('ports', ws.ports && `${ws.ports.first}-${ws.ports.last} (PORT=${ws.ports.first})`);
  }
  const changed = s.changes && (s.changes.files ? `${plusMinus(out, s.changes.additions, s.changes.deletions)} in ${s.changes.files} file${s.changes.files === 1 ? '' : 's'}` : 'none');
  const fate = ws.landed ? ` (landed ${age(ws.landed.at)} by landing ${ws.landed.landing_id})` : ws.applied_at ? ` (applied ${age(ws.applied_at)})` : '';
  field('changes', changed && `${changed}${c.dim(fate)}`);
  if (s.check) {
    const took = s.check.duration_ms === null ? '' : ` in ${duration(s.check.duration_ms)}`;
    const outcome = s.check.passed ? c.green('passed') : c.red(s.check.exit_code === null ? 'did not run' : `failed (exit ${s.check.exit_code})`);
    field('check', `${outcome}${took}: ${s.check.command}`);
    if (!s.check.passed && s.check.output_tail) out.line(s.check.output_tail.trimEnd().split('\n').slice(-10).map((l) => `  ${c.dim(l)}`).join('\n'));
  }
  field('thread', s.thread_id);
  field('queue', s.queue_position ? `position ${s.queue_position}` : null);
  field('exit', s.exit_code === null ? null : String(s.exit_code));
  field('error', s.error ? `${s.error.kind}: ${s.error.message}` : null);
  const late = s.late_outcome;
  field('late', late && `${late.status}${late.finished_at ? ` at ${late.finished_at}` : ''}${late.error ? ` (${late.error.kind}: ${late.error.message})` : ''}, after the job was given up`);
  field('progress', describeProgress(s.progress, s.changes?.files));
  field('files', s.progress.files_changed.map((f) => `${f.kind} ${f.path}`).join(', '));
  field('todo', s.progress.todo.map((t) => `[${t.completed ? 'x' : ' '}] ${t.text}`).join('  '));
  if (s.last_message) {
    out.line(c.dim('last message:'));
    out.line(s.last_message.trimEnd().replace(/^/gm, '  '));
  }
  if (s.output) {
    out.line(c.dim('recent activity:'));
    for (const line of s.output.split('\n')) out.line(`  ${paintActivity(out, line)}`);
  }
}

/** Colours one rendered activity line by what it is, after making the job's text safe to print. */
export function paintActivity(out: Out, text: string): string {
  const c = out.c;
  const line = safeText(text);
  if (line.startsWith('$ ')) return c.cyan(line);
  if (line.startsWith('codex: ')) return `${c.bold('codex:')}${line.slice(6)}`;
  if (line.startsWith('files ')) return c.yellow(line);
  if (/^\s*↳ exit 0\b/.test(line)) return c.green(line);
  if (/^\s*↳ /.test(line)) return c.red(line);
  if (/^(error|turn failed)/.test(line)) return c.red(line);
  if (line.startsWith('plan: ')) return c.magenta(line);
  return c.dim(line);
}

/** `wait` and `cancel` take job ids or one --group, not both; `discard` (`one`) one job id or one --group. */
export function onJobsOrGroup(ids: string[], group: string | undefined, one = false): 'jobs' | 'group' {
  if (group !== undefined && ids.length) throw new CliError(`give ${one ? 'a job id' : 'job ids'} or --group, not both`);
  if (group === undefined && !ids.length) throw new CliError(`give ${one ? 'one job id' : 'at least one job id'}, or --group with a group id`);
  return group === undefined ? 'jobs' : 'group';
}

export function registerJobCommands(program: Command): void {
  withExamples(
    jobOptions(
      program
        .command('run')
        .description('start a Codex job (or Claude Code, Copilot, Gemini with --agent) in the background (the prompt as an argument, with --file, or on stdin)')
        .argument('[prompt]', 'the task for codex; "-" reads it from stdin')
        .addOption(new Option('--agent <name>', 'the coding agent that runs it (default codex)').choices([...AGENT_NAMES]))
        .option('-C, --cwd <dir>', 'the directory codex works in (default: this one)')
        .option('-f, --file <path>', 'read the prompt from a file')
        // Not on reply: a reply continues in its parent's sandbox (the engine refuses another).
        .addOption(new Option('-s, --sandbox <mode>', 'what codex may change').choices([...SANDBOXES]))
        .addOption(new Option('--isolation <kind>', 'worktree: work in a git worktree of its own, to review (diff) and apply; none: in cwd').choices([...ISOLATIONS]))
        .option('--attempts <n>', `run the task N ways at once (up to ${MAX_ATTEMPTS}), each in its own worktree, and rank them`, wholeNumber('--attempts', 1))
        .option('--agents <names>', 'one attempt per agent, e.g. codex,claude,gemini (best-of-N across agents)', (v: string) => v.split(',').map((n) => n.trim()).filter(Boolean))
        .option('--check <command>', 'after codex finishes, run this in the worktree (e.g. "npm test"); attempts that pass rank first')
        .option('--setup <command>', 'before the agent starts, run this in its worktree, with network (e.g. "npm ci"); default: .codex-async.toml\'s; "" for none')
        .option('--include <patterns>', 'also bring these ignored files into the worktree, e.g. node_modules,.env (besides .worktreeinclude)', (v: string) => v.split(',').map((n) => n.trim()).filter(Boolean))
        .option('--runner-labels <a,b>', 'with a fleet (CODEX_ASYNC_REDIS_URL): run only on a runner started with all these --labels', (v: string) => v.split(',').map((n) => n.trim()).filter(Boolean)),
    ),
    `  codex-async-mcp run "Add unit tests for src/parse.ts and run them" --sandbox workspace-write --wait
  codex-async-mcp run "Fix the flaky test" --isolation worktree --sandbox workspace-write --wait && codex-async-mcp diff <job_id>
  codex-async-mcp run "Make parse() faster" --attempts 3 --check "npm test" --sandbox workspace-write --wait
  codex-async-mcp run --agent claude "Review src/parse.ts for bugs" --wait
  codex-async-mcp run "Fix the failing test" --agents codex,claude --check "npm test" --sandbox workspace-write --wait
  { echo "Review this diff:"; git diff; } | codex-async-mcp run - --label review
  codex-async-mcp run --file task.md --cwd ~/app --json
  CODEX_ASYNC_REDIS_URL=redis://:secret@queue:6379 codex-async-mcp run "Train the model" --runner-labels gpu --wait`,
  ).action(async (prompt: string | undefined, opts: JobOpts & { cwd?: string; agent?: string; agents?: string[]; isolation?: string; attempts?: number; check?: string; setup?: string; include?: string[]; runnerLabels?: string[] }, cmd: Command) => {
    const out = outFor(cmd, opts);
    const text = await readPrompt(prompt, opts.file);
    await withEngine(async (engine) => {
      const job = await engine.start({
        prompt: text,
        cwd: path.resolve(opts.cwd ?? process.cwd()),
        agent: opts.agent,
        agents: opts.agents,
        ...settingsOf(opts),
        isolation: opts.isolation,
        attempts: opts.attempts,
        check_command: opts.check,
        setup_command: opts.setup,
        include: opts.include,
        runner_labels: opts.runnerLabels,
      });
      for (const warning of startWarnings(opts, job)) out.warn(warning);
      await started(engine, out, job, opts);
    });
  });

  withExamples(
    jobOptions(
      program
        .command('reply')
        .description("continue a job's Codex conversation as a new job, in the same directory or worktree and sandbox")
        .argument('<job_id>', 'the earlier job')
        .argument('[prompt]', 'the follow-up; "-" reads it from stdin')
        .option('-f, --file <path>', 'read the prompt from a file'),
    ),
    '  codex-async-mcp reply 3f9c0a1b2c3d "Now update the README too" --wait',
  ).action(async (jobId: string, prompt: string | undefined, opts: JobOpts, cmd: Command) => {
    const out = outFor(cmd, opts);
    const text = await readPrompt(prompt, opts.file);
    await withEngine(async (engine) => {
      const job = await engine.reply({
        job_id: jobId,
        prompt: text,
        ...settingsOf(opts),
      });
      await started(engine, out, job, opts);
    });
  });

  withExamples(
    program
      .command('ls')
      .alias('list')
      .description('list jobs, newest first')
      .addOption(new Option('--status <status>', 'only jobs in this state').choices([...STATUSES]))
      .option('-C, --cwd <dir>', 'only jobs that ran in this directory')
      .option('--label <label>', 'only jobs with this label')
      .option('-n, --limit <n>', 'at most this many (default 20)', wholeNumber('--limit', 1))
      .option('-a, --all', 'every job')
      .option('--json', 'print JSON'),
    '  codex-async-mcp ls\n  codex-async-mcp ls --status running\n  codex-async-mcp ls --all --json | jq \'.[].job_id\'',
  ).action(async (opts: Common & { status?: JobStatus; cwd?: string; label?: string; limit?: number; all?: boolean }, cmd: Command) => {
    const out = outFor(cmd, opts);
    await withEngine(async (engine) => {
      const wanted = opts.all ? Infinity : (opts.limit ?? 20);
      const jobs: JobSummary[] = [];
      let cursor: string | undefined;
      do {
        const page = await engine.list({ status: opts.status, cwd: opts.cwd && path.resolve(opts.cwd), label: opts.label, limit: Math.min(200, wanted - jobs.length), cursor });
        jobs.push(...page.jobs);
        cursor = page.next_cursor ?? undefined;
      } while (cursor && jobs.length < wanted);
      if (out.json) return out.data(jobs);
      if (jobs.length === 0) return out.line(out.c.dim('No jobs. Start one with: codex-async-mcp run "<task>"'));
      const now = Date.now();
      const fleet = jobs.some((j) => j.runner);
      const head = ['ID', 'AGENT', 'STATUS', 'AGE', 'RAN', 'CHANGES', 'CWD', 'LABEL', ...(fleet ? ['RUNNER'] : []), 'PROMPT'];
      const rows = table(out, head, jobs.map((j) => listRow(safeValue(j), now, fleet)), (col, cell, padded) =>
        col === 2 ? padded.replace(cell, statusColour(out, cell)) : col === 5 ? padded.replace(cell, paintChanges(out, cell)) : col === 0 ? out.c.bold(padded) : padded,
      );
      for (const row of rows) out.line(row);
    });
  });

  withExamples(
    program.command('show').description("a job's status, progress, last message and recent activity").argument('<job_id>').option('--json', 'print JSON'),
    '  codex-async-mcp show 3f9c0a1b2c3d',
  ).action(async (jobId: string, opts: Common, cmd: Command) => {
    const out = outFor(cmd, opts);
    await withEngine(async (engine) => {
      const snap = await engine.poll(jobId, 10);
      if (out.json) out.data(snap);
      else printSnapshot(out, safeValue(snap));
    });
  });

  withExamples(
    program
      .command('logs')
      .description("what a job did, readable: messages, commands with exit codes, file changes")
      .argument('<job_id>')
      .option('-f, --follow', 'keep printing as the job goes on, until it ends')
      .option('--raw', "codex's raw JSONL events instead")
      .option('-n, --tail <lines>', 'start with the last N lines (default: all, up to 2,000)', wholeNumber('--tail', 0)),
    '  codex-async-mcp logs 3f9c0a1b2c3d\n  codex-async-mcp logs -f 3f9c0a1b2c3d\n  codex-async-mcp logs --raw 3f9c0a1b2c3d | jq .type',
  ).action(async (typed: string, opts: { follow?: boolean; raw?: boolean; tail?: number }, cmd: Command) => {
    const out = outFor(cmd, {});
    await withEngine(async (engine) => {
      const jobId = await engine.resolve(typed);
      const { stream } = agentOf((await engine.poll(jobId, 0)).agent);
      const offset = await engine.eventLogSize(jobId);
      const lines = (opts.raw ? await engine.rawEvents(jobId) : await engine.activity(jobId)).split('\n').filter(Boolean);
      for (const line of opts.tail === undefined ? lines : lines.slice(lines.length - opts.tail)) out.line(opts.raw ? line : paintActivity(out, line));
      if (!opts.follow) return;
      const stop = new AbortController();
      const onInt = () => stop.abort();
      process.on('SIGINT', onInt);
      const last = await engine.follow(
        jobId,
        offset,
        (line) => {
          if (opts.raw) return out.line(line);
          const text = stream.renderLive ? stream.renderLive(line) : stream.render(line)?.text;
          if (text) for (const l of text.split('\n')) out.line(paintActivity(out, l));
        },
        { signal: stop.signal },
      ).finally(() => process.off('SIGINT', onInt));
      if (stop.signal.aborted) process.exitCode = EXIT.interrupted;
      if (!opts.raw && isFinal(last.status)) {
        out.line(out.c.dim(`— job ${last.job_id} ${last.status}${last.error ? ` (${last.error.kind}: ${safeText(last.error.message)})` : ''}`));
      }
    });
  });

  withExamples(
    program
      .command('wait')
      .description('wait for jobs to finish, with live progress; the exit code mirrors their outcome')
      .argument('[job_id...]')
      .option('--group <group_id>', 'every attempt of a group (run --attempts), then rank them; exit 0 when one is best')
      .option('--timeout <seconds>', 'give up waiting after this long (exit 124; the jobs go on)', seconds('--timeout'))
      .option('--json', 'print JSON'),
    '  codex-async-mcp wait 3f9c0a1b2c3d\n  codex-async-mcp wait 3f9c0a1b2c3d 9a8b7c6d5e4f --timeout 600\n  codex-async-mcp wait --group 7e6d5c4b3a29',
  ).action(async (ids: string[], opts: Common & { timeout?: number; group?: string }, cmd: Command) => {
    const out = outFor(cmd, opts);
    const timeoutMs = opts.timeout === undefined ? undefined : opts.timeout * 1000;
    if (onJobsOrGroup(ids, opts.group) === 'group') return withEngine((engine) => finishGroup(engine, out, opts.group!, timeoutMs));
    await withEngine((engine) => waitAndReport(engine, out, ids, timeoutMs));
  });

  withExamples(
    program
      .command('cancel')
      .description('stop jobs: codex and everything it started')
      .argument('[job_id...]')
      .option('--group <group_id>', 'every attempt of a group still queued or running')
      .option('--json', 'print JSON'),
    '  codex-async-mcp cancel 3f9c0a1b2c3d\n  codex-async-mcp cancel --group 7e6d5c4b3a29',
  ).action(async (ids: string[], opts: Common & { group?: string }, cmd: Command) => {
    const out = outFor(cmd, opts);
    if (onJobsOrGroup(ids, opts.group) === 'group') {
      return withEngine(async (engine) => {
        const group = await engine.cancelGroup(opts.group!);
        if (out.json) out.data(group);
        else printGroup(out, group);
      });
    }
    await withEngine(async (engine) => {
      // Every id gets its cancel: one unknown id must not leave the others running.
      const results: Snapshot[] = [];
      const failures: string[] = [];
      for (const id of ids) {
        try {
          results.push(await engine.cancel(id));
        } catch (err) {
          failures.push(`${id}: ${forPeople(err)}`);
        }
      }
      if (out.json) out.data(results);
      else for (const s of results) out.line(`job ${out.c.bold(s.job_id)} ${statusColour(out, s.status)}${s.error && s.status !== 'cancelled' ? ` (${s.error.kind})` : ''}`);
      if (failures.length) throw new CliError(failures.join('\n'), EXIT.usage);
    });
  });

  withExamples(
    program
      .command('result')
      .description("a finished job's final message (the exit code mirrors its outcome)")
      .argument('<job_id>')
      .option('--json', 'print the whole result as JSON')
      .option('--raw', "on a terminal too, the message byte for byte (control characters included), as a pipe gets it"),
    '  codex-async-mcp result 3f9c0a1b2c3d > answer.md',
  ).action(async (jobId: string, opts: Common & { raw?: boolean }, cmd: Command) => {
    const out = outFor(cmd, opts);
    await withEngine(async (engine) => {
      const snap = await engine.poll(jobId, 0);
      if (!isFinal(snap.status)) throw new CliError(`job ${snap.job_id} is still ${snap.status}: wait for it with \`codex-async-mcp wait ${snap.job_id}\``);
      const result = await engine.result(snap.job_id);
      if (out.json) out.data(result);
      // A pipe (`> answer.md`) gets the message as the job wrote it; a terminal, made safe to show.
      else if (result.final_message) out.line((out.tty && !opts.raw ? safeText(result.final_message) : result.final_message).trimEnd());
      else process.stderr.write(`codex-async-mcp: job ${snap.job_id} ${result.status} without a final message${result.error ? ` (${result.error.kind}: ${safeText(result.error.message)})` : ''}\n`);
      process.exitCode = exitCodeFor(result);
    });
  });

  withExamples(
    program
      .command('gc')
      .description('delete finished jobs and their files (never a queued or running one)')
      .option('--older-than <age>', 'only jobs finished longer ago than this, e.g. 30d, 12h (default 30d)', parseAge)
      .option('--keep <n>', 'keep the N most recent finished jobs whatever their age (default 0)', wholeNumber('--keep', 0))
      .option('--dry-run', 'show what would be deleted')
      .option('--json', 'print JSON'),
    `  codex-async-mcp gc --dry-run
  codex-async-mcp gc --older-than 7d --keep 50

Finished jobs are also deleted automatically CODEX_ASYNC_RETENTION_DAYS (default 30) days after
they finish, by any running server or command; 0 keeps them forever. The worktree of a job that
landed (codex_land) goes at the next gc (not with automatic retention) while it still holds what landed; the job's record stays.`,
  ).action(async (opts: Common & { olderThan?: number; keep?: number; dryRun?: boolean }, cmd: Command) => {
    const out = outFor(cmd, opts);
    await withEngine(async (engine) => {
      const { jobs, bytes, landed_worktrees: landed = [] } = await engine.gc({ olderThanMs: opts.olderThan ?? 30 * 86_400_000, keep: opts.keep ?? 0, dryRun: opts.dryRun === true });
      if (out.json) return out.data({ dry_run: opts.dryRun === true, deleted: jobs.map((j) => j.job_id), bytes, landed_worktrees_removed: landed });
      const verb = opts.dryRun ? 'would delete' : 'deleted';
      for (const job of jobs) out.line(`${verb} ${job.job_id}  ${job.status.padEnd(9)} ${job.finished_at ? age(job.finished_at) : ''}`);
      for (const id of landed) out.line(`${opts.dryRun ? 'would remove' : 'removed'} the worktree of ${id}: it landed, and still held what landed`);
      out.line(out.c.dim(`${verb} ${jobs.length} job${jobs.length === 1 ? '' : 's'}, ${(bytes / 1024 / 1024).toFixed(1)} MiB`));
    });
  });
}
