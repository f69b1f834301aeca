import readline from 'node:readline';
import ansiEscapes from 'ansi-escapes';
import type { Command } from 'commander';
import type { JobApi } from '../../engine/api.js';
import type { Snapshot } from '../../engine/snapshot.js';
import type { RunnerInfo } from '../../engine/api.js';
import { isFinal } from '../../jobs/states.js';
import { withEngine } from '../engine.js';
import { age, changesCell, fit, outFor, paintChanges, runTime, statusColour, table, tildify, tokens, type Out } from '../render.js';
import { paintActivity } from './jobs.js';
import { safeValue } from '../safe-text.js';

const REFRESH_MS = 1000;
const RECENT = 5;

interface View {
  active: Snapshot[];
  recent: Snapshot[];
  /** The job whose log is shown, with its activity. */
  log: { snap: Snapshot; lines: string[] } | null;
  /** With a fleet: its runners. */
  runners: { alive: RunnerInfo[]; gone: RunnerInfo[] } | null;
}

async function gather(engine: JobApi, logJob: string | null = null): Promise<View> {
  const ids = async (status: 'running' | 'queued') => (await engine.list({ status, limit: 200 })).jobs.map((j) => j.job_id);
  const active = await Promise.all([...(await ids('running')), ...(await ids('queued')).reverse()].map((id) => engine.poll(id, 0)));
  const finished = (await engine.list({ limit: 20 })).jobs.filter((j) => isFinal(j.status)).slice(0, RECENT);
  const recent = await Promise.all(finished.map((j) => engine.poll(j.job_id, 0)));
  const log = logJob ? { snap: await engine.poll(logJob, 0), lines: (await engine.activity(logJob)).split('\n').filter(Boolean) } : null;
  const runners = engine.fleetRunners ? await engine.fleetRunners() : null;
  return { active, recent, log, runners };
}

/** What the screen shows: the jobs' own text made safe to print (JSON keeps it as it is). */
const gatherToShow = async (engine: JobApi, logJob: string | null = null): Promise<View> => safeValue(await gather(engine, logJob));

/** One line per runner: its load and heartbeat, or since when it has been gone. */
function runnerLines(out: Out, runners: NonNullable<View['runners']>, now = Date.now()): string[] {
  const alive = runners.alive.map((r) => {
    const labels = r.labels.length ? `  labels ${r.labels.join(',')}` : '';
    return `runner ${out.c.bold(r.id)} on ${r.host}  ${r.running}/${r.concurrency} jobs${labels}  ${out.c.dim(`beat ${((now - r.beat_at) / 1000).toFixed(1)} s ago`)}`;
  });
  const gone = runners.gone.map((r) => out.c.yellow(`runner ${r.id} on ${r.host} gone since ${age(new Date(r.beat_at).toISOString(), now)}`));
  return [...alive, ...gone, ...(runners.alive.length ? [] : [out.c.yellow('no runner connected: jobs stay queued until one starts (codex-async-mcp runner)')])];
}

const activityOf = (s: Snapshot) =>
  s.status === 'queued' ? `queued${s.queue_position ? ` #${s.queue_position}` : ''}` : isFinal(s.status) ? (s.error?.message ?? s.last_message ?? '') : (s.progress.current ?? 'starting');

function jobTable(out: Out, jobs: Snapshot[], selected: number | null): string[] {
  const now = Date.now();
  const rows = jobs.map((s) => [s.job_id, s.agent, s.status, runTime(s, now) || age(s.created_at, now), String(s.progress.files_changed.length), tokens(s.progress.usage), changesCell(s), tildify(s.cwd), activityOf(s)]);
  const lines = table(out, ['ID', 'AGENT', 'STATUS', 'TIME', 'FILES', 'TOKENS', 'CHANGES', 'CWD', 'ACTIVITY'], rows, (col, cell, padded) =>
    col === 2 ? padded.replace(cell, statusColour(out, cell)) : col === 6 ? padded.replace(cell, paintChanges(out, cell)) : padded,
  );
  return lines.map((line, i) => (selected !== null && i - 1 === selected ? out.c.inverse(line) : line));
}

/** The screen when stdout is not a terminal, or with --once: running and queued jobs, then exit. */
function printOnce(out: Out, view: View): void {
  if (out.json) return out.data(view.runners ? { jobs: view.active, runners: view.runners } : view.active);
  const shown = safeValue(view);
  if (shown.runners) for (const line of [...runnerLines(out, shown.runners), '']) out.line(line);
  if (shown.active.length === 0) out.line('No running or queued jobs.');
  else for (const line of jobTable(out, shown.active, null)) out.line(line);
}

/**
 * The live monitor: a full-screen table of running and queued jobs (and the last few finished),
 * redrawn whenever a job changes in any process and every second for the clocks. Keys: ↑/↓ or
 * j/k select, Enter or l shows the job's log, c cancels it (after y), q or Ctrl-C quits.
 */
async function runTop(engine: JobApi, out: Out): Promise<void> {
  const stdin = process.stdin;
  const stdout = process.stdout;
  let mode: 'list' | 'log' | 'confirm' = 'list';
  // By id, not position: the list is rebuilt every second and a new job moves every row down.
  let selectedId: string | null = null;
  let logJob: string | null = null;
  let confirmJob: string | null = null;
  let notice = '';
  let view = await gatherToShow(engine);

  const selectedIndex = () => Math.max(0, view.active.findIndex((s) => s.job_id === selectedId));
  const selectedJob = () => view.active[selectedIndex()] ?? null;
  const select = (index: number) => {
    selectedId = view.active[Math.min(Math.max(0, index), view.active.length - 1)]?.job_id ?? null;
  };
  const frame = (): string[] => {
    const rows = stdout.rows || 24;
    const c = out.c;
    const running = view.active.filter((s) => s.status === 'running').length;
    const head = `${c.bold('codex-async-mcp top')}  ${running} running, ${view.active.length - running} queued  ${c.dim(new Date().toLocaleTimeString())}`;
    if (mode === 'log' && logJob && view.log?.snap.job_id === logJob) {
      const { snap, lines } = view.log;
      const body = lines.slice(-(rows - 3)).map((l) => fit(l, out.width)).map((l) => paintActivity(out, l));
      const footer = confirmJob ? c.yellow(`Cancel job ${confirmJob}? It stops codex and everything it started. (y/N)`) : c.dim('esc/q back · c cancel');
      return [`${c.bold(`log of ${logJob}`)}  ${statusColour(out, snap.status)}  ${c.dim(snap.progress.current ?? '')}`, ...body, footer];
    }
    const lines = [head, ...(view.runners ? runnerLines(out, view.runners) : []), ''];
    if (view.active.length === 0) lines.push(c.dim('No running or queued jobs. Start one with: codex-async-mcp run "<task>"'));
    else lines.push(...jobTable(out, view.active, selectedIndex()));
    if (view.recent.length) lines.push('', c.dim('recently finished'), ...jobTable(out, view.recent, null).slice(1).map((l) => c.dim(l)));
    const footer =
      mode === 'confirm' && confirmJob
        ? c.yellow(`Cancel job ${confirmJob}? It stops codex and everything it started. (y/N)`)
        : notice || c.dim('↑/↓ select · enter log · c cancel · q quit');
    lines.length = Math.min(lines.length, rows - 2);
    return [...lines, '', footer];
  };
  const draw = () => {
    try {
      stdout.write(ansiEscapes.cursorTo(0, 0) + frame().map((l) => l + ansiEscapes.eraseEndLine).join('\n') + ansiEscapes.eraseDown);
    } catch (err) {
      notice = out.c.red((err as Error).message);
    }
  };
  // One gathering at a time; a change arriving meanwhile gathers once more after it.
  let gathering = false;
  let again = false;
  const refresh = () => {
    if (gathering) {
      again = true;
      return;
    }
    gathering = true;
    gatherToShow(engine, mode === 'log' ? logJob : null)
      .then(
        (next) => (view = next),
        // E.g. a job deleted by another process's gc between listing and reading it: next time.
        (err: Error) => (notice = out.c.red(err.message)),
      )
      .finally(() => {
        gathering = false;
        draw();
        if (again) {
          again = false;
          refresh();
        }
      });
  };

  const restore = () => {
    stdin.setRawMode(false);
    stdout.write(ansiEscapes.cursorShow + ansiEscapes.exitAlternativeScreen);
  };
  // Whatever ends the process, the terminal is given back as it was.
  process.once('exit', restore);
  stdout.write(ansiEscapes.enterAlternativeScreen + ansiEscapes.cursorHide);
  readline.emitKeypressEvents(stdin);
  stdin.setRawMode(true);
  stdin.resume();
  const stopWatching = engine.watchAll(() => refresh());
  const clock = setInterval(refresh, REFRESH_MS);
  stdout.on('resize', draw);
  draw();
  try {
    await new Promise<void>((quit) => {
      stdin.on('keypress', (_text: string, key: { name?: string; ctrl?: boolean; sequence?: string }) => {
        const name = key?.name ?? '';
        if ((key?.ctrl && name === 'c') || (name === 'q' && mode === 'list' && !confirmJob)) return quit();
        if (confirmJob) {
          const id = confirmJob;
          confirmJob = null;
          if (mode === 'confirm') mode = 'list';
          if (name === 'y') {
            notice = out.c.yellow(`cancelling ${id}…`);
            engine
              .cancel(id)
              .then(
                (s) => (notice = `job ${s.job_id} ${s.status}`),
                (err: Error) => (notice = out.c.red(err.message)),
              )
              .finally(refresh);
          } else notice = '';
        } else if (mode === 'log') {
          if (name === 'escape' || name === 'q' || name === 'left') mode = 'list';
          else if (name === 'c') confirmJob = logJob;
        } else if (name === 'up' || name === 'k') select(selectedIndex() - 1);
        else if (name === 'down' || name === 'j') select(selectedIndex() + 1);
        else if ((name === 'return' || name === 'l') && selectedJob()) {
          logJob = selectedJob()!.job_id;
          mode = 'log';
          refresh();
        } else if (name === 'c' && selectedJob()) {
          notice = '';
          confirmJob = selectedJob()!.job_id;
          mode = 'confirm';
        }
        draw();
      });
    });
  } finally {
    clearInterval(clock);
    stopWatching();
    stdout.off('resize', draw);
    process.off('exit', restore);
    restore();
    stdin.pause();
  }
}

export function registerTop(program: Command): void {
  program
    .command('top')
    .description('a live monitor of running and queued jobs (q quits, Enter shows a log, c cancels)')
    .option('--once', 'print the running and queued jobs once and exit (what a non-terminal gets)')
    .option('--json', 'with --once or without a terminal: print JSON')
    .addHelpText('after', '\nExample:\n  codex-async-mcp top\n')
    .action(async (opts: { once?: boolean; json?: boolean }, cmd: Command) => {
      const out = outFor(cmd, opts);
      await withEngine(async (engine) => {
        if (opts.once || !out.tty || !process.stdin.isTTY || out.json) return printOnce(out, await gather(engine));
        await runTop(engine, out);
      });
    });
}
