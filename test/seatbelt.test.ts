/**
 * Our OS sandbox on macOS (src/supervise/seatbelt.ts): the Seatbelt profile a job gets, as text,
 * for each access mode; and a server told to use Seatbelt on Linux (CODEX_ASYNC_SANDBOX_KIND), where
 * there is no sandbox-exec, refusing and diagnosing as a Mac without a working one would. No Mac runs
 * these: the profile is checked as text, not enforced.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { defaultSandboxKind } from '../src/config.ts';
import { seatbeltCommand, seatbeltProfile } from '../src/supervise/seatbelt.ts';
import { mockedAgent } from './helpers/agentMocks.ts';
import { useAgentServer } from './helpers/contract.ts';
import { gitRepo } from './helpers/git.ts';
import { cliIn, tempDir, waitFinal } from './helpers/harness.ts';

describe('the Seatbelt profile', () => {
  const spec = {
    workspace: ['/w', '/extra'], writable: ['/h/.claude', '/jobs/j/tmp'], locked: ['/h/.claude/settings.json', '/h/.claude/plugins', '/h/.claude/tmp/bin'], gitDirs: ['/w/.git'],
    masked: ['/home/u/.ssh/agent.sock'],
  };
  const head = [
    '(version 1)',
    '(allow default)',
    '(deny file-write*)',
    '(allow file-write*',
    '  (literal "/dev/null")',
    '  (literal "/dev/zero")',
    '  (literal "/dev/tty")',
    '  (literal "/dev/ptmx")',
    '  (literal "/dev/dtracehelper")',
    '  (regex #"^/dev/ttys[0-9]+$")',
    '  (subpath "/dev/fd")',
  ];
  const tail = ['(deny appleevent-send)', '(deny mach-lookup (global-name "com.apple.coreservices.launchservicesd"))'];
  // What stays read-only inside every writable root: each R (and all under it), each K (the node only), each S.
  const except = (kept: number) =>
    [0, 1, 2, 3].map((i) => `(require-not (literal (param "R${i}"))) (require-not (subpath (param "R${i}")))`).join(' ') +
    ' ' +
    Array.from({ length: kept }, (_, i) => `(require-not (literal (param "K${i}")))`).join(' ') +
    ' (require-not (literal (param "S0")))';
  const readOnly: Array<[string, string]> = [['R0', '/w/.git'], ['R1', '/h/.claude/settings.json'], ['R2', '/h/.claude/plugins'], ['R3', '/h/.claude/tmp/bin']];

  it('read-only: nothing writable but the agent\'s own state and the job\'s TMPDIR, less its settings and code; the workspace is not a root', () => {
    const { profile, params } = seatbeltProfile({ mode: 'read-only', ...spec });
    assert.equal(
      profile,
      [
        ...head,
        `  (require-all (subpath (param "W0")) ${except(2)})`,
        `  (require-all (subpath (param "W1")) ${except(2)}))`,
        // A hard link only to what the job may write anyway.
        '(deny file-link)',
        '(allow file-link',
        `  (require-all (subpath (param "W0")) ${except(2)})`,
        `  (require-all (subpath (param "W1")) ${except(2)}))`,
        '(deny network-outbound (remote unix-socket))',
        '(allow network-outbound (remote unix-socket (path-literal "/private/var/run/mDNSResponder")))',
        '(allow network-outbound (remote unix-socket (subpath (param "W0"))))',
        '(allow network-outbound (remote unix-socket (subpath (param "W1"))))',
        '(deny network-outbound (remote unix-socket (subpath (param "S0"))))',
        ...tail,
      ].join('\n'),
    );
    assert.deepEqual(params, [
      ['W0', '/h/.claude'], ['W1', '/jobs/j/tmp'],
      ...readOnly,
      // The directories on the way to a read-only path, inside a root: renamed aside, a new one could take their place.
      ['K0', '/h/.claude'], ['K1', '/h/.claude/tmp'],
      ['S0', '/home/u/.ssh/agent.sock'],
    ]);
  });

  it('workspace-write: cwd and add_dirs writable too, their .git and the way to it kept, the agent\'s settings and code read-only', () => {
    const { profile, params } = seatbeltProfile({ mode: 'workspace-write', ...spec });
    assert.equal(
      profile,
      [
        ...head,
        ...[0, 1, 2, 3].map((i) => `  (require-all (subpath (param "W${i}")) ${except(3)})${i === 3 ? ')' : ''}`),
        '(deny file-link)',
        '(allow file-link',
        ...[0, 1, 2, 3].map((i) => `  (require-all (subpath (param "W${i}")) ${except(3)})${i === 3 ? ')' : ''}`),
        '(deny network-outbound (remote unix-socket))',
        '(allow network-outbound (remote unix-socket (path-literal "/private/var/run/mDNSResponder")))',
        ...[0, 1, 2, 3].map((i) => `(allow network-outbound (remote unix-socket (subpath (param "W${i}"))))`),
        '(deny network-outbound (remote unix-socket (subpath (param "S0"))))',
        ...tail,
      ].join('\n'),
    );
    assert.deepEqual(params, [
      ['W0', '/w'], ['W1', '/extra'], ['W2', '/h/.claude'], ['W3', '/jobs/j/tmp'],
      ...readOnly,
      ['K0', '/w'], ['K1', '/h/.claude'], ['K2', '/h/.claude/tmp'],
      ['S0', '/home/u/.ssh/agent.sock'],
    ]);
  });

  it('with nothing writable: only the devices, no hard link, and no Unix socket but the DNS resolver\'s', () => {
    const { profile, params } = seatbeltProfile({ mode: 'workspace-write', workspace: [], writable: [], gitDirs: [] });
    assert.equal(
      profile,
      [
        ...head.slice(0, -1),
        '  (subpath "/dev/fd"))',
        '(deny file-link)',
        '(deny network-outbound (remote unix-socket))',
        '(allow network-outbound (remote unix-socket (path-literal "/private/var/run/mDNSResponder")))',
        ...tail,
      ].join('\n'),
    );
    assert.deepEqual(params, []);
  });

  it('keeps every path out of the profile\'s text: quotes, backslashes, parentheses and newlines reach sandbox-exec as parameters, unchanged', () => {
    const hostile = (p: string) => `${p}/a"b\\"c) (allow file-write* (subpath "/"))\n; #"x`;
    const plain = { mode: 'workspace-write' as const, ...spec };
    const nasty = {
      mode: 'workspace-write' as const,
      workspace: spec.workspace.map(hostile), writable: spec.writable.map(hostile), gitDirs: [`${hostile('/w')}/.git`],
      locked: spec.locked.map((p) => p.replace('/h/.claude', hostile('/h/.claude'))), masked: spec.masked.map(hostile),
    };
    const got = seatbeltProfile(nasty);
    assert.equal(got.profile, seatbeltProfile(plain).profile, 'a path changed the profile');
    assert.deepEqual(got.params.find(([name]) => name === 'W0'), ['W0', hostile('/w')]);
    const { args } = seatbeltCommand('/usr/bin/sandbox-exec', nasty, '/bin/claude', []);
    assert.ok(args.includes(`-DW0=${hostile('/w')}`), 'passed whole, as one argument');
  });

  it('runs the agent straight under sandbox-exec, no shell or signal trap between, with the session\'s socket variables unset', () => {
    const c = seatbeltCommand('/usr/bin/sandbox-exec', { mode: 'read-only', ...spec }, '/bin/claude', ['-p', '--verbose']);
    assert.equal(c.command, '/usr/bin/sandbox-exec');
    assert.deepEqual(c.args.slice(0, 2), ['-p', seatbeltProfile({ mode: 'read-only', ...spec }).profile]);
    assert.deepEqual(c.args.slice(2, 4), ['-DW0=/h/.claude', '-DW1=/jobs/j/tmp']);
    const unset = ['SSH_AUTH_SOCK', 'DBUS_SESSION_BUS_ADDRESS', 'DOCKER_HOST', 'TMUX', 'XDG_RUNTIME_DIR'].flatMap((v) => ['-u', v]);
    assert.deepEqual(c.args.slice(c.args.indexOf('--')), ['--', '/usr/bin/env', ...unset, '/bin/claude', '-p', '--verbose']);
  });

  it('is the platform\'s own sandbox on macOS only', () => {
    assert.equal(defaultSandboxKind('darwin'), 'seatbelt');
    assert.equal(defaultSandboxKind('linux'), 'bubblewrap');
  });
});

describe('a server told to use Seatbelt where sandbox-exec is missing', () => {
  const s = useAgentServer(mockedAgent('claude'), { CODEX_ASYNC_SANDBOX_KIND: 'seatbelt' });

  it('refuses a Claude Code job at codex_start with sandbox_unavailable, naming sandbox-exec and what to do; codex jobs are not affected', async () => {
    const result = await s.conn.raw('codex_start', { prompt: 'hello', cwd: s.h.workdir(), agent: 'claude', sandbox: 'read-only' });
    assert.equal(result.isError, true);
    const text = result.content[0].text as string;
    assert.match(text, /^sandbox_unavailable: Claude Code runs inside our Seatbelt \(sandbox-exec\) sandbox under sandbox "read-only"/);
    assert.match(text, /sandbox-exec \(\/usr\/bin\/sandbox-exec\), which makes macOS's Seatbelt sandbox, is not here/);
    assert.match(text, /CODEX_ASYNC_SEATBELT/);
    assert.match(text, /agent "codex"/);
    assert.match(text, /danger-full-access/);
    const codex = await s.conn.call('codex_start', { prompt: 'hello', cwd: s.h.workdir(), sandbox: 'read-only' });
    assert.equal((await waitFinal(s.conn, codex.job_id)).status, 'completed');
  });

  it('doctor FAILs the sandbox check, saying sandbox-exec is missing and what to do', async () => {
    const run = await cliIn(s.h.env(s.env), ['doctor', '--json']);
    assert.equal(run.code, 1, run.stdout);
    const check = JSON.parse(run.stdout).checks.find((c: { name: string }) => c.name === 'sandbox');
    assert.equal(check.level, 'fail', JSON.stringify(check));
    assert.match(check.detail, /^sandbox-exec \(\/usr\/bin\/sandbox-exec\), which makes macOS's Seatbelt sandbox, is not here: [^\n]*Claude Code[^\n]* jobs are refused/);
    assert.match(check.fix, /run the server on macOS[^\n]*CODEX_ASYNC_SEATBELT/);
  });
});

/** A stand-in for sandbox-exec, which Linux lacks: it says what `say` says and fails, or records its arguments and runs the command after `--`. */
function fakeSandboxExec(behaviour: { say: string } | { record: string }): string {
  const file = path.join(tempDir('sandbox-exec'), 'sandbox-exec');
  const body =
    'say' in behaviour
      ? `echo ${JSON.stringify(behaviour.say)} >&2; exit 71`
      : `printf '%s\\0' "$@" > "$(mktemp ${behaviour.record}/call.XXXXXX)"; while [ "$1" != -- ]; do shift; done; shift; exec "$@"`;
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

describe('doctor where sandbox-exec cannot make a sandbox', () => {
  const s = useAgentServer(mockedAgent('claude'), { CODEX_ASYNC_SANDBOX_KIND: 'seatbelt' });

  it('FAILs the sandbox check with what sandbox-exec said, and how to find out more', async () => {
    const seatbelt = fakeSandboxExec({ say: 'sandbox-exec: sandbox_apply: Operation not permitted' });
    const run = await cliIn(s.h.env({ ...s.env, CODEX_ASYNC_SEATBELT: seatbelt }), ['doctor', '--json']);
    assert.equal(run.code, 1, run.stdout);
    const check = JSON.parse(run.stdout).checks.find((c: { name: string }) => c.name === 'sandbox');
    assert.equal(check.level, 'fail', JSON.stringify(check));
    assert.match(check.detail, /cannot make a Seatbelt sandbox here: sandbox-exec: sandbox_apply: Operation not permitted/);
    assert.match(check.fix, /outside any other sandbox/);
  });
});

describe('a Claude Code job under a stand-in sandbox-exec', () => {
  const calls = tempDir('sandbox-exec-calls');
  const s = useAgentServer(mockedAgent('claude'), { CODEX_ASYNC_SANDBOX_KIND: 'seatbelt', CODEX_ASYNC_SEATBELT: fakeSandboxExec({ record: calls }) });
  const seen = new Set<string>();

  /** Runs a job to its end, and returns the arguments its launch gave sandbox-exec, by parameter. */
  const launch = async (cwd: string, sandbox: string) => {
    const { job_id } = await s.conn.call('codex_start', { prompt: 'hello', cwd, agent: 'claude', sandbox });
    const done = await waitFinal(s.conn, job_id);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const launches = fs
      .readdirSync(calls)
      .filter((f) => !seen.has(f) && seen.add(f))
      .map((f) => fs.readFileSync(path.join(calls, f), 'utf8').split('\0').slice(0, -1))
      .filter((args) => args.at(-1) !== 'true'); // the probe's
    assert.equal(launches.length, 1, JSON.stringify(launches));
    const args = launches[0]!;
    const params = args.filter((a) => a.startsWith('-D')).map((a) => [a.slice(2, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] as const);
    const of = (kind: string) => params.filter(([name]) => name.startsWith(kind)).map(([, p]) => p);
    return { job_id, args, writable: of('W'), readOnly: of('R') };
  };

  it('read-only: launches the agent through sandbox-exec with the job\'s profile, its paths as real-path parameters', async () => {
    const cwd = s.h.workdir();
    const { job_id, args, writable, readOnly } = await launch(cwd, 'read-only');
    assert.equal(args[0], '-p');
    assert.match(args[1]!, /^\(version 1\)\n\(allow default\)\n\(deny file-write\*\)/);
    const home = fs.realpathSync(s.h.env().HOME!);
    assert.ok(writable.includes(path.join(home, '.claude')), `its state is writable: ${writable}`);
    assert.ok(writable.some((p) => p.endsWith(`/${job_id}/tmp`)), `its TMPDIR is writable: ${writable}`);
    assert.ok(!writable.includes(fs.realpathSync(cwd)), 'read-only: cwd is not writable');
    assert.ok(readOnly.includes(path.join(home, '.claude', 'settings.json')), `its settings are read-only: ${readOnly}`);
    const unset = ['SSH_AUTH_SOCK', 'DBUS_SESSION_BUS_ADDRESS', 'DOCKER_HOST', 'TMUX', 'XDG_RUNTIME_DIR'].flatMap((v) => ['-u', v]);
    const rest = args.slice(args.indexOf('--') + 1);
    assert.deepEqual(rest.slice(0, 1 + unset.length), ['/usr/bin/env', ...unset]);
    assert.match(rest[1 + unset.length]!, /claude/, 'then the agent itself');
  });

  it('workspace-write: cwd writable, and its .git read-only', async () => {
    const repo = fs.realpathSync(gitRepo({ 'a.txt': 'a\n' }));
    const { writable, readOnly } = await launch(repo, 'workspace-write');
    assert.ok(writable.includes(repo), `cwd is writable: ${writable}`);
    assert.ok(readOnly.includes(path.join(repo, '.git')), `its .git is read-only: ${readOnly}`);
  });
});
