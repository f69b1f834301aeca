import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { createColors } from 'picocolors';
import stringWidth from 'string-width';
import type { JobStatus } from '../jobs/states.js';
import { isWithin } from '../paths.js';

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
    data: (value) => void stdout.write(`${JSON.stringify(value, null, 2)}\n`),
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
