import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { jobProcessesOnMachine, SERVER_MAIN, tempDir, until, useHarness } from './helpers/harness.ts';

/**
 * The views a person watches — `run --wait`, `logs -f`, `top` — in a real terminal: tmux runs the
 * command in a 120×30 pane, `send-keys` types, `capture-pane` returns the screen as it is shown.
 */
const HAVE_TMUX = spawnSync('tmux', ['-V']).status === 0;

class Terminal {
  private static n = 0;
  readonly socket = `cam-test-${process.pid}-${Terminal.n++}`;
  readonly name = 'main';

  constructor(env: Record<string, string>, args: string[]) {
    // A script, so the environment reaches the command whatever tmux's server was started with.
    const dir = tempDir('tty');
    const script = path.join(dir, 'run.sh');
    const exports = Object.entries(env).map(([k, v]) => `export ${k}='${v.replace(/'/g, `'\\''`)}'`);
    const quoted = [process.execPath, SERVER_MAIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    // `trap :` keeps the script alive through a Ctrl-C meant for the command (a handler, unlike an
    // ignored signal, is not inherited), so the exit status can be shown.
    fs.writeFileSync(script, `${exports.join('\n')}\nexport TERM=xterm-256color\ntrap : INT\n${quoted}\necho "[exit $?]"\nsleep 600\n`, { mode: 0o700 });
    this.tmux('new-session', '-d', '-s', this.name, '-x', '120', '-y', '30', script);
  }

  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  }

  screen(): string {
    return this.tmux('capture-pane', '-p', '-t', this.name);
  }

  keys(...keys: string[]): void {
    this.tmux('send-keys', '-t', this.name, ...keys);
  }

  /** Waits until the screen matches, and returns it. */
  async shows(pattern: RegExp, ms = 30_000): Promise<string> {
    let last = '';
    try {
      return await until(`the screen to show ${pattern}`, () => ((last = this.screen()), pattern.test(last) ? last : null), ms, 100);
    } catch (err) {
      throw new Error(`${(err as Error).message}; the screen was:\n${last}`);
    }
  }

  close(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server']);
  }
}

describe('what a person sees in a terminal', { skip: HAVE_TMUX ? false : 'tmux is not installed (apt-get install tmux)' }, () => {
  const s = useHarness();
  const cli = (args: string[]) => execFileSync(process.execPath, [SERVER_MAIN, ...args], { env: s.h.env(), encoding: 'utf8' });

  it('run --wait: a live line with a spinner, the job and what codex is doing, then the answer', async () => {
    const term = new Terminal(s.h.env(), ['run', '[[shell:sleep 3]] take your time', '--cwd', s.h.workdir(), '--wait']);
    try {
      const live = await term.shows(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] \d+s [0-9a-f]{12} .*sleep 3.* — 0 commands, 0 files changed/);
      assert.doesNotMatch(live, /✔/);
      const done = await term.shows(/\[exit 0\]/);
      assert.match(done, /✔ job [0-9a-f]{12} completed in \d+s — 1 command, 0 files changed, \d+ tokens/);
      assert.match(done, /shell output:/);
      assert.doesNotMatch(done, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/, 'the live line is cleared at the end');
    } finally {
      term.close();
    }
  });

  it('Ctrl-C stops the waiting, not the job (exit 130; a cancelled job exits 3)', async () => {
    const term = new Terminal(s.h.env(), ['run', '[[shell:sleep 300]] interrupted', '--cwd', s.h.workdir(), '--wait']);
    try {
      const live = await term.shows(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] \d+s ([0-9a-f]{12}) .*sleep 300/);
      const id = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] \d+s ([0-9a-f]{12})/.exec(live)![1]!;
      term.keys('C-c');
      const after = await term.shows(/\[exit 130\]/);
      assert.match(after, new RegExp(`job ${id} is still running; it goes on in the background`));
      assert.match(after, new RegExp(`wait again: codex-async-mcp wait ${id}\\s+stop it: codex-async-mcp cancel ${id}`));
      assert.match(cli(['show', id]), new RegExp(`job ${id}  running`));
      cli(['cancel', id]);
      // A cancelled job's waiter exits otherwise, so a script tells the two apart.
      assert.equal(spawnSync(process.execPath, [SERVER_MAIN, 'wait', id], { env: s.h.env() }).status, 3);
    } finally {
      term.close();
    }
  });

  it('logs -f: commands as they start, their results, what codex says, until the job ends', async () => {
    const id = cli(['run', '[[shell:echo first; sleep 2; echo second]] follow me', '--cwd', s.h.workdir()]).trim();
    const term = new Terminal(s.h.env(), ['logs', '-f', id]);
    try {
      const started = await term.shows(/\$ .*echo first; sleep 2; echo second/);
      if (!/↳ exit 0/.test(started)) await term.shows(/↳ exit 0\n\s+first\n\s+second/);
      const end = await term.shows(/\[exit 0\]/);
      assert.match(end, /codex: shell output:/);
      assert.match(end, new RegExp(`— job ${id} completed`));
    } finally {
      term.close();
    }
  });

  it('the server started by hand on a terminal says, on stderr, that it waits for an MCP client; a client\'s pipe never sees that line', async () => {
    const term = new Terminal(s.h.env(), []);
    try {
      await term.shows(/codex-async-mcp: serving MCP on stdio, for an MCP client/);
      term.keys('C-d');
      const after = await term.shows(/\[exit 0\]/);
      assert.match(after.replace(/\n/g, ''), /register it with `codex-async-mcp install <client>`/);
    } finally {
      term.close();
    }
    const piped = spawnSync(process.execPath, [SERVER_MAIN], { env: s.h.env(), input: '', encoding: 'utf8' });
    assert.equal(piped.status, 0, piped.stderr);
    assert.equal(piped.stdout, '', 'stdout is the protocol');
    assert.doesNotMatch(piped.stderr, /serving MCP on stdio/);
  });

  it('top: running jobs live; Enter shows a log; c then y cancels; q quits', async () => {
    const id = cli(['run', '[[shell:sleep 300]] watched in top', '--cwd', s.h.workdir()]).trim();
    const term = new Terminal(s.h.env(), ['top']);
    try {
      const screen = await term.shows(new RegExp(`${id}\\s+codex\\s+running\\s+\\d+s\\s+0\\s+\\d*\\s+\\S+\\s+.*sleep 300`));
      assert.match(screen, /codex-async-mcp top\s+1 running, 0 queued/);
      assert.match(screen, /^ID\s+AGENT\s+STATUS\s+TIME\s+FILES\s+TOKENS\s+CHANGES\s+CWD\s+ACTIVITY/m);
      assert.match(screen, /↑\/↓ select · enter log · c cancel · q quit/);
      term.keys('Enter');
      await term.shows(new RegExp(`log of ${id}\\s+running`));
      await term.shows(/\$ .*sleep 300/);
      term.keys('Escape');
      await term.shows(/↑\/↓ select/);
      term.keys('c');
      await term.shows(new RegExp(`Cancel job ${id}\\? It stops codex and everything it started\\. \\(y/N\\)`));
      term.keys('y');
      await term.shows(new RegExp(`job ${id} cancelled`));
      assert.match(cli(['show', id]), new RegExp(`job ${id}  cancelled`));
      assert.deepEqual(jobProcessesOnMachine(id), []);
      await term.shows(/No running or queued jobs/);
      term.keys('q');
      const after = await term.shows(/\[exit 0\]/);
      assert.doesNotMatch(after, /codex-async-mcp top/, 'the full-screen view is gone after q');
    } finally {
      term.close();
    }
  });
});
