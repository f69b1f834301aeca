import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliIn, SERVER_MAIN, tempDir, until, useHarness, type Ran } from './helpers/harness.ts';
import { gitRepo } from './helpers/git.ts';

/**
 * A job's output reaches the person's terminal through `logs`, `show`, `result`, `ls`, `top`,
 * `wait` and `diff`. What the job printed must be shown, not obeyed: a file the agent `cat`s could
 * otherwise set the window title (OSC 0), fill the clipboard (OSC 52), or move the cursor up and
 * erase earlier lines to show a forged "all tests passed". The real codex runs a command printing
 * all of these (and C1 CSI, U+009B), and echoes them in its final message.
 */
const HOSTILE = String.raw`printf 'top line\n\033]0;pwned-title\007\033]52;c;cm0gLXJmIH4=\007\033[1A\033[2Kforged: all tests passed\n\302\233 31m c1 \177 del\n'`;

/** Any raw control character but newline, tab and carriage return (a terminal's own line ends). */
const RAW_CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/;
/** Our own sequences: colours (SGR), and the cursor hidden and shown around `wait`'s live line. */
const OUR_COLOURS = /\x1b\[[0-9;]*m/g;
const OUR_CURSOR = /\x1b\[\?25[lh]/g;

const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;

/**
 * Runs the command line on a terminal of its own (a pseudo-terminal from util-linux `script`) and
 * returns every byte the terminal received.
 */
function onTerminal(env: Record<string, string>, args: string[]): Promise<Ran> {
  const command = [process.execPath, SERVER_MAIN, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { TERM: 'xterm-256color', GIT_PAGER: 'cat', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const HAVE_SCRIPT = spawnSync('script', ['--version']).status === 0;
const HAVE_TMUX = spawnSync('tmux', ['-V']).status === 0;

describe("a job's output on a terminal is shown, not obeyed", { skip: HAVE_SCRIPT ? false : 'util-linux script is not installed' }, () => {
  const s = useHarness();
  // Outside codex's own sandbox, so that this test does not depend on it.
  const env = () => s.h.env({ CODEX_ASYNC_ALLOW_DANGEROUS: '1' });
  let id: string;
  let repo: string;
  let worktreeJob: string;
  let running: string;
  before(async () => {
    // Still running, in a directory whose very name is hostile, for top.
    const hostileDir = path.join(s.h.workdir(), '\x1b]0;title-from-cwd\x07\x1b[2Jdir');
    fs.mkdirSync(hostileDir);
    running = (await cliIn(env(), ['run', '[[hang]] still going', '--cwd', hostileDir])).stdout.trim();
    const ran = await cliIn(env(), ['run', `[[shell:${HOSTILE}]] hostile output`, '--cwd', s.h.workdir(), '--sandbox', 'danger-full-access', '--wait', '--json']);
    assert.equal(ran.code, 0, ran.stderr);
    id = JSON.parse(ran.stdout).job_id;
    // A prompt and label that are themselves hostile, for the tables of ls and top.
    const listed = await cliIn(env(), ['run', '\x1b]0;title-from-prompt\x07\x1b[1A\x1b[2K listed job', '--label', '\u009b2J label', '--cwd', s.h.workdir(), '--wait']);
    assert.equal(listed.code, 0, listed.stderr);
    repo = gitRepo({ 'README.md': 'hello\n' });
    const changed = await cliIn(env(), ['run', `[[shell:${HOSTILE} > notes.txt]] write a hostile file`, '--cwd', repo, '--sandbox', 'danger-full-access', '--isolation', 'worktree', '--wait', '--json']);
    assert.equal(changed.code, 0, changed.stderr);
    worktreeJob = JSON.parse(changed.stdout).job_id;
    await until('the hanging job to run', async () => / running /.test((await cliIn(env(), ['show', running])).stdout));
  });
  after(() => cliIn(env(), ['cancel', running]));

  const views = () => [['logs', id], ['show', id], ['result', id], ['wait', id], ['ls'], ['top', '--once'], ['diff', worktreeJob], ['diff', '--stat', worktreeJob]];

  it('logs, show, result, wait, ls, top and diff print no control character of the job, only our colours', async () => {
    for (const args of views()) {
      const { stdout, stderr } = await onTerminal(env(), args);
      const where = `${args.join(' ')}: ${JSON.stringify(stdout.slice(0, 3000))} ${stderr}`;
      assert.doesNotMatch(stdout.replace(OUR_CURSOR, '').replace(OUR_COLOURS, ''), RAW_CONTROL, where);
      if (args[0] !== 'result') assert.match(stdout, OUR_COLOURS, `${args.join(' ')} is still coloured`);
    }
    // Shown visibly, the sequences a person should see.
    const shown = (await onTerminal(env(), ['show', id])).stdout;
    assert.match(shown, /␛\]0;pwned-title␇␛\]52;c;cm0gLXJmIH4=␇␛\[1A␛\[2Kforged: all tests passed/);
    assert.match(shown, /\\x9b 31m c1 ␡ del/);
    assert.match((await onTerminal(env(), ['result', id])).stdout, /␛\]52;c;cm0gLXJmIH4=␇␛\[1A␛\[2Kforged/);
    const listed = (await onTerminal(env(), ['ls'])).stdout;
    assert.match(listed, /\\x9b2J label\s+␛\]0;title/, 'the label and prompt (cut to the terminal width)');
    assert.match(listed, /␛\]0;title-from-cwd␇␛\[2Jdir/);
    assert.match((await onTerminal(env(), ['diff', worktreeJob])).stdout, /\+␛\]0;pwned-title␇/);
    assert.match((await onTerminal(env(), ['top', '--once'])).stdout, /␛\]0;title-from-cwd␇␛\[2Jdir/);
  });

  it('with NO_COLOR too: no colour, and nothing of the job raw', async () => {
    for (const args of views()) {
      const { stdout } = await onTerminal({ ...env(), NO_COLOR: '1' }, args);
      assert.doesNotMatch(stdout.replace(OUR_CURSOR, ''), RAW_CONTROL, `${args.join(' ')}: ${JSON.stringify(stdout.slice(0, 3000))}`);
    }
  });

  it('--raw keeps the bytes on a terminal; a pipe gets result and diff as the job wrote them', async () => {
    const bytes = /\x1b\]52;c;cm0gLXJmIH4=\x07\x1b\[1A\x1b\[2Kforged: all tests passed\n\u009b 31m c1 \x7f del/;
    assert.match((await onTerminal(env(), ['result', '--raw', id])).stdout.replace(/\r\n/g, '\n'), bytes);
    assert.match((await onTerminal(env(), ['logs', '--raw', id])).stdout, /\\u001b\]52;c;cm0gLXJmIH4=/);
    assert.match((await cliIn(env(), ['result', id])).stdout, bytes);
    const patch = (await cliIn(env(), ['diff', worktreeJob])).stdout;
    assert.match(patch, /\+\x1b\]0;pwned-title\x07/);
    // The patch a pipe gets applies, control characters and all.
    const copy = gitRepo({ 'README.md': 'hello\n' });
    execFileSync('git', ['apply'], { cwd: copy, input: patch });
    assert.match(fs.readFileSync(path.join(copy, 'notes.txt'), 'latin1'), /\x1b\]52;c;/);
    // The views for people are made safe on a pipe too.
    for (const args of [['logs', id], ['show', id]]) assert.doesNotMatch((await cliIn(env(), args)).stdout, RAW_CONTROL, args.join(' '));
  });

  it('in tmux, show leaves the earlier lines and the window title alone', { skip: HAVE_TMUX ? false : 'tmux is not installed' }, async () => {
    const socket = `cam-safe-${process.pid}`;
    const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
    const script = path.join(tempDir('tty'), 'run.sh');
    const exports = Object.entries(env()).map(([k, v]) => `export ${k}=${quote(v)}`);
    fs.writeFileSync(script, `${exports.join('\n')}\nexport TERM=xterm-256color\n${[process.execPath, SERVER_MAIN, 'show', id].map(quote).join(' ')}\necho "[exit $?]"\nsleep 600\n`, { mode: 0o700 });
    tmux('new-session', '-d', '-s', 'main', '-x', '160', '-y', '50', script);
    try {
      const screen = await until('show to end', () => {
        const text = tmux('capture-pane', '-p', '-t', 'main');
        return /\[exit 0\]/.test(text) ? text : null;
      });
      assert.match(screen, /^ {2}top line$/m, 'the line before the cursor-up is still there');
      assert.match(screen, /␛\[1A␛\[2Kforged: all tests passed/);
      assert.doesNotMatch(tmux('display-message', '-p', '-t', 'main', '#{pane_title}'), /pwned-title/);
    } finally {
      spawnSync('tmux', ['-L', socket, 'kill-server']);
    }
  });
});
