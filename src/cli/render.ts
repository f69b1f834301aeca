import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { createColors } from 'picocolors';
import stringWidth from 'string-width';
import type { JobStatus } from '../jobs/states.js';
import { isWithin } from '../paths.js';
import { safeJson } from './safe-text.js';

/**
 * How the command line writes: colours only for a terminal that wants them (NO_COLOR, --no-color,
 * TERM=dumb and pipes turn them off; FORCE_COLOR turns them on), JSON when asked.
 */
export interface Out {
  readonly tty: boolean;
  readonly json: boolean;
  readonly width: number;
  readonly c: ReturnType<typeof createColors>;
  line(text?: string): void;
  /** For --json: the value, pretty-printed. */
  data(value: unknown): void;
  warn(text: string): void;
}

export function makeOut(opts: { json?: boolean; color?: boolean } = {}): Out {
  const stdout = process.stdout;
  const env = process.env;
  const colour =
    opts.color !== false &&
    !('NO_COLOR' in env && env.NO_COLOR !== '') &&
    ((env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') || (stdout.isTTY === true && env.TERM !== 'dumb'));
  const c = createColors(colour);
  return {
    tty: stdout.isTTY === true,
    json: opts.json === true,
    get width() {
      return stdout.columns || 100;
    },
    c,
    line: (text = '') => void stdout.write(`${text}\n`),
    data: (value) => void stdout.write(`${safeJson(value)}\n`),
    warn: (text) => void process.stderr.write(`${c.yellow('warning:')} ${text}\n`),
  };
}

/** The output for one command: its --json, and the program's global --no-color. */
export function outFor(cmd: Command, opts: { json?: boolean }): Out {
  return makeOut({ json: opts.json, color: cmd.optsWithGlobals().color as boolean | undefined });
}

export function statusColour(out: Out, status: JobStatus | string): string {
  const c = out.c;
  switch (status) {
    case 'running':
      return c.cyan(status);
    case 'queued':
      return c.blue(status);
    case 'completed':
      return c.green(status);
    case 'failed':
      return c.red(status);
    default:
      return c.yellow(status);
  }
}

/** 42s, 3m12s, 2h05m, 3d4h. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

/** "3m ago"-style age of an ISO timestamp. */
export const age = (iso: string, now = Date.now()) => `${duration(now - Date.parse(iso))} ago`;

/** A size for people: 812 B, 4.2 KiB, 104 MiB, 1.3 GiB. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n < 10 ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
}

/** A job's run time so far (running) or in all (finished); empty while queued. */
export function runTime(job: { started_at: string | null; finished_at: string | null }, now = Date.now()): string {
  if (!job.started_at) return '';
  return duration((job.finished_at ? Date.parse(job.finished_at) : now) - Date.parse(job.started_at));
}

/** A path with the home directory shown as ~. */
export function tildify(p: string): string {
  const home = os.homedir();
  return home && path.isAbsolute(p) && isWithin(p, home) ? `~${p.slice(home.length)}` : p;
}

/** Cuts plain text to `width` terminal columns, marking the cut with …. */
export function fit(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (stringWidth(flat) <= width) return flat;
  let out = '';
  for (const ch of flat) {
    if (stringWidth(out + ch) > width - 1) break;
    out += ch;
  }
  return `${out}…`;
}

const pad = (text: string, width: number) => text + ' '.repeat(Math.max(0, width - stringWidth(text)));

/**
 * A table with a bold header; the last column takes the rest of the terminal's width. Cells are
 * plain text; `paint` colours a cell after padding so colour codes never upset the alignment.
 */
export function table(
  out: Out,
  header: string[],
  rows: string[][],
  paint: (column: number, cell: string, padded: string) => string = (_c, _t, padded) => padded,
): string[] {
  const widths = header.map((h, i) => Math.max(stringWidth(h), ...rows.map((r) => stringWidth(r[i] ?? ''))));
  const used = widths.slice(0, -1).reduce((a, b) => a + b + 2, 0);
  widths[widths.length - 1] = Math.max(10, Math.min(widths.at(-1)!, out.width - used));
  const render = (cells: string[], head: boolean) =>
    cells
      .map((cell, i) => {
        const last = i === cells.length - 1;
        const text = last ? fit(cell, widths[i]!) : cell;
        const padded = last ? text : pad(text, widths[i]!);
        return head ? out.c.bold(padded) : paint(i, cell, padded);
      })
      .join('  ')
      .trimEnd();
  return [render(header, true), ...rows.map((r) => render(r, false))];
}

/** "2k tokens" from a usage record. */
export function tokens(usage: { input_tokens: number; output_tokens: number } | null): string {
  if (!usage) return '';
  const n = usage.input_tokens + usage.output_tokens;
  return n >= 1000 ? `${Math.round(n / 1000)}k` : String(n);
}

/** One file of a job's changes, as `diff --stat` lists it. */
export interface StatFile {
  path: string;
  old_path: string | null;
  additions: number;
  deletions: number;
  binary: boolean;
}

/** "+12 -3": the size of a change, coloured as a diff colours its lines. */
export function plusMinus(out: Out, additions: number, deletions: number): string {
  return `${out.c.green(`+${additions}`)} ${out.c.red(`-${deletions}`)}`;
}

/**
 * A job's changes as `git diff --stat` prints them: one line per file with its count and a bar of
 * + and - scaled to the terminal's width, then the totals.
 */
export function diffStat(out: Out, files: StatFile[]): string[] {
  const names = files.map((f) => (f.old_path && f.old_path !== f.path ? `${f.old_path} => ${f.path}` : f.path));
  const counts = files.map((f) => (f.binary ? 'Bin' : String(f.additions + f.deletions)));
  const nameWidth = Math.max(0, ...names.map((n) => stringWidth(n)));
  const countWidth = Math.max(0, ...counts.map((n) => n.length));
  const most = Math.max(1, ...files.map((f) => f.additions + f.deletions));
  const room = Math.max(10, out.width - nameWidth - countWidth - 6);
  const lines = files.map((f, i) => {
    const scale = most > room ? room / most : 1;
    // As git does: a change of at least one line gets at least one mark.
    const plus = f.additions ? Math.max(1, Math.round(f.additions * scale)) : 0;
    const minus = f.deletions ? Math.max(1, Math.round(f.deletions * scale)) : 0;
    const bar = f.binary ? '' : ` ${out.c.green('+'.repeat(plus))}${out.c.red('-'.repeat(minus))}`;
    return ` ${pad(names[i]!, nameWidth)} | ${counts[i]!.padStart(countWidth)}${bar}`;
  });
  const additions = files.reduce((n, f) => n + f.additions, 0);
  const deletions = files.reduce((n, f) => n + f.deletions, 0);
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  lines.push(
    ` ${plural(files.length, 'file changed', 'files changed')}, ${plural(additions, 'insertion(+)', 'insertions(+)')}, ${plural(deletions, 'deletion(-)', 'deletions(-)')}`,
  );
  return lines;
}

/** A unified diff coloured as git colours one: file headers bold, hunk headers cyan, added lines green, removed red. */
export function paintDiff(out: Out, patch: string): string {
  const c = out.c;
  let inHeader = false;
  return patch
    .split('\n')
    .map((line) => {
      if (line.startsWith('diff --git ')) inHeader = true;
      else if (line.startsWith('@@')) inHeader = false;
      if (inHeader) return c.bold(line);
      if (line.startsWith('@@')) return c.cyan(line);
      if (line.startsWith('+')) return c.green(line);
      if (line.startsWith('-')) return c.red(line);
      return line;
    })
    .join('\n');
}

/**
 * What a job left to review, in a word for ls and top: "+12 -3" while its worktree holds changes not
 * yet applied, "applied" once they were ("landed" by codex_land), "discarded" once the worktree is gone, "—" otherwise.
 */
export function changesCell(job: {
  workspace: { kind: string; state: string | null; applied_at: string | null; landed?: { at: string } | null };
  changes: { files: number; additions: number; deletions: number } | null;
}): string {
  const ws = job.workspace;
  if (ws.kind !== 'worktree') return '—';
  if (ws.state === 'discarded') return 'discarded';
  if (ws.landed) return 'landed';
  if (ws.applied_at) return 'applied';
  if (ws.state === 'ready' && job.changes && job.changes.files > 0) return `+${job.changes.additions} -${job.changes.deletions}`;
  return '—';
}

/** changesCell's word, coloured: the size as a diff colours it, anything else dim. */
export function paintChanges(out: Out, cell: string): string {
  const m = /^\+(\d+) -(\d+)$/.exec(cell);
  return m ? plusMinus(out, Number(m[1]), Number(m[2])) : out.c.dim(cell);
}
