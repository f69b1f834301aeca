/**
 * One shell script run to its end under codex's sandbox, as the job wrapper's `step` runs a setup or
 * a check (supervise/launch.ts), for the processes that run steps themselves: a landing's setup and
 * checks (engine/integrate.ts). Its own session, so a deadline or a stop ends the whole group.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { readTail } from '../jobs/files.js';
import type { StepResult } from '../workspace/types.js';

export interface ConfinedStep {
  /** What the result names (the command as given). */
  command: string;
  /** The file holding the script (0600, the command and what it needs before it). */
  script: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Where its stdout and stderr go. */
  log: string;
  /** codex's binary, whose `codex sandbox` confines the step to `cwd` and `writable`. */
  sandboxPath: string;
  writable: string[];
  network: boolean;
  timeoutMs: number;
  nice: number;
  signal?: AbortSignal;
}

const STEP_TAIL_BYTES = 4096;

/** Runs the step and says how it went; never throws for the step's own failure. */
export async function runConfined(s: ConfinedStep): Promise<StepResult> {
  const args = [
    'sandbox',
    '-c',
    'sandbox_mode=workspace-write',
    '-c',
    'sandbox_workspace_write.exclude_slash_tmp=true',
    '-c',
    // TOML's array of basic strings: JSON's string escapes are TOML's too.
    `sandbox_workspace_write.writable_roots=${JSON.stringify(s.writable)}`,
    '-c',
    `sandbox_workspace_write.network_access=${s.network}`,
    '--',
    '/bin/sh',
    s.script,
  ];
  const [command, argv] = s.nice > 0 ? ['nice', ['-n', String(s.nice), s.sandboxPath, ...args]] : [s.sandboxPath, args];
  const out = fs.openSync(s.log, 'w', 0o600);
  const began = Date.now();
  let code: number;
  try {
    code = await new Promise<number>((resolve) => {
      const child = spawn(command, argv, { cwd: s.cwd, env: s.env, detached: true, stdio: ['ignore', out, out] });
      const stop = (signal: NodeJS.Signals) => {
        try {
          process.kill(-child.pid!, signal);
        } catch {
          // Already gone.
        }
      };
      const end = () => {
        stop('SIGTERM');
        setTimeout(() => stop('SIGKILL'), 5000).unref();
      };
      const timer = setTimeout(() => {
        fs.appendFileSync(s.log, `\ncodex-async-mcp: stopped after ${Math.round(s.timeoutMs / 1000)} s\n`);
        end();
      }, s.timeoutMs);
      s.signal?.addEventListener('abort', end, { once: true });
      child.once('error', (err) => {
        clearTimeout(timer);
        fs.appendFileSync(s.log, `codex-async-mcp: cannot start ${command}: ${err.message}\n`);
        resolve(127);
      });
      child.once('exit', (status, signal) => {
        clearTimeout(timer);
        s.signal?.removeEventListener('abort', end);
        // Whatever it left in its group goes with it: a check's server must not outlive the check.
        stop('SIGKILL');
        resolve(status ?? 128 + (signal ? os.constants.signals[signal] : 0));
      });
    });
  } finally {
    fs.closeSync(out);
  }
  const tail = readTail(s.log, STEP_TAIL_BYTES);
  return { command: s.command, exit_code: code, passed: code === 0, duration_ms: Date.now() - began, output_tail: `${tail.cut ? '…' : ''}${tail.text}` };
}
