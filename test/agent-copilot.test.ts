import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { RunSpec } from '../src/agents/agent.ts';
import { copilot } from '../src/agents/copilot/index.ts';
import { nativeCopilot } from '../src/agents/copilot/binary.ts';
import { parseCopilotLine } from '../src/agents/copilot/events.ts';
import { readCopilotProvider } from '../src/agents/copilot/provider.ts';
import { usageFromReport } from '../src/agents/copilot/usage.ts';
import { readActivityTail } from '../src/jobs/eventlog.ts';
import { COPILOT_CACHE, mockedAgent } from './helpers/agentMocks.ts';
import { agentContract, foldLines, runSpec, useAgentServer } from './helpers/contract.ts';
import { commandLine, jobProcessesOnMachine, ROOT, until, waitFinal } from './helpers/harness.ts';
import { SANDBOX_MISSING } from './helpers/sandbox.ts';

const fixture = (name: string) => path.join(ROOT, 'test', 'fixtures', name);
const lines = (name: string) => fs.readFileSync(fixture(name), 'utf8').split('\n');

const fold = (input: string[]) => foldLines(copilot.stream, input);

const copilotMock = mockedAgent('copilot');

agentContract({ agent: 'copilot', ...copilotMock });

describe('Copilot CLI jobs', { skip: SANDBOX_MISSING }, () => {
  const s = useAgentServer(copilotMock);

  it("run the native binary behind npm's launcher, which a cancel ends with Copilot's own exit status (0, after its abort)", async () => {
    const launcher = path.join(ROOT, 'node_modules', '.bin', 'copilot');
    const native = fs.realpathSync(nativeCopilot(launcher));
    const { job_id } = await s.conn.call('codex_start', { prompt: '[[hang]] wait here', cwd: s.h.workdir(), agent: 'copilot' });
    const lines = () => jobProcessesOnMachine(job_id).map(commandLine);
    await until('Copilot to run', () => lines().some((l) => l.startsWith(native)), 60_000);
    assert.ok(!lines().some((l) => l.includes('npm-loader.js') || l.includes(launcher)), lines().join('\n'));
    // Interrupted while it starts, before its handler is in place, Copilot dies of the signal (130).
    await until('Copilot to ask the model', () => s.mock.requests.some((r) => r.prompt.includes('wait here')), 60_000);
    await s.conn.call('codex_cancel', { job_id });
    const done = await waitFinal(s.conn, job_id);
    assert.equal(done.status, 'cancelled', JSON.stringify(done.error));
    assert.equal(done.exit_code, 0, 'the launcher would have died of the SIGINT (130) and orphaned Copilot');
  });
});

const sessionOf = (name: string) => JSON.parse(lines(name).filter(Boolean).at(-1)!).sessionId as string;

// The fixtures are streams the real Copilot CLI (1.0.102, or the release in their name) printed against test/helpers/mockAnthropic.ts.
describe('reading the Copilot CLI stream (recorded)', () => {
  it('a shell command: the session id, one command run, the reply, a completed turn', () => {
    const p = fold(lines('copilot-stream.jsonl'));
    assert.equal(p.thread_id, sessionOf('copilot-stream.jsonl'));
    assert.equal(p.commands_run, 1);
    assert.equal(p.last_agent_message, 'shell output: hi\n<shellId: 0 completed with exit code 0>');
    assert.equal(p.turn, 'completed');
    assert.equal(p.current, null);
    assert.equal(p.usage, null, 'Copilot prints no token counts in its stream');
  });

  it('a file the write tool created is a changed file', () => {
    const p = fold(lines('copilot-stream-patch.jsonl'));
    assert.equal(p.files_changed.length, 1);
    assert.equal(p.files_changed[0].kind, 'add');
    assert.match(p.files_changed[0].path, /\/f\.txt$/);
    assert.equal(p.last_agent_message, 'patched');
    assert.equal(p.turn, 'completed');
  });

  // 1.0.83, the oldest release supported, prints neither `shellExecution` nor `fileEdits`.
  it('the oldest release supported (1.0.83): its command counted from the shell tool\'s ending, its file from the edit tool\'s diff', () => {
    const shell = fold(lines('copilot-1.0.83-stream.jsonl'));
    assert.equal(shell.commands_run, 1);
    assert.deepEqual(shell.files_changed, []);
    assert.equal(shell.turn, 'completed');
    const patch = fold(lines('copilot-1.0.83-stream-patch.jsonl'));
    assert.equal(patch.commands_run, 0);
    assert.equal(patch.files_changed.length, 1);
    assert.equal(patch.files_changed[0].kind, 'add');
    assert.match(patch.files_changed[0].path, /^\/tmp\/.*\/made\.txt$/);
    // A command whose output is a diff (`git diff`) changed no file.
    const diffOutput = lines('copilot-1.0.83-stream.jsonl').map((l) => l.replace(/"(content|detailedContent)":"hi-there\\n/g, '"$1":"diff --git a/x b/x\\nnew file mode 100644\\n'));
    assert.ok(diffOutput.some((l) => l.includes('diff --git a/x')), 'the fixture was rewritten');
    const ran = fold(diffOutput);
    assert.equal(ran.commands_run, 1);
    assert.deepEqual(ran.files_changed, []);
  });

  it('a write refused under read-only changes no file and runs no command', () => {
    const p = fold(lines('copilot-stream-refused.jsonl'));
    assert.deepEqual(p.files_changed, []);
    assert.equal(p.commands_run, 0);
    assert.equal(p.turn, 'completed');
    const tail = readActivityTail(copilot.stream, fixture('copilot-stream-refused.jsonl'), 20, 4000);
    assert.match(tail, /create .*f\.txt\n {2}↳ refused: Permission to run this tool was denied/);
  });

  it('a model error fails the turn with the API error Copilot reports', () => {
    const p = fold(lines('copilot-stream-failed.jsonl'));
    assert.equal(p.turn, 'failed');
    assert.equal(p.turn_error, '400 boom');
    assert.equal(p.last_error, '400 boom');
  });

  it('an interrupted run (Copilot exits 0) is a failed turn, even when a result with exit code 0 follows', () => {
    const aborted = lines('copilot-stream-aborted.jsonl');
    const p = fold(aborted);
    assert.equal(p.turn, 'failed');
    assert.equal(p.turn_error, 'copilot was interrupted (user_initiated)');
    assert.equal(p.thread_id, null, 'this run ended without its result line');
    // Interrupted while waiting for the model, the CLI sometimes still prints `result` with exit code 0.
    const result = lines('copilot-stream.jsonl').filter(Boolean).at(-1)!;
    const q = fold([...aborted, result]);
    assert.equal(q.turn, 'failed');
    assert.equal(q.thread_id, sessionOf('copilot-stream.jsonl'));
    assert.equal(copilot.exitZeroNeedsTurn, true);
  });

  it('renders commands with their results, the reply and the end for people', () => {
    const tail = readActivityTail(copilot.stream, fixture('copilot-stream.jsonl'), 20, 4000);
    assert.equal(
      tail,
      [
        '$ echo hi',
        '  ↳ exit 0',
        '    hi',
        'copilot: shell output: hi',
        '<shellId: 0 completed with exit code 0>',
        `session ${sessionOf('copilot-stream.jsonl')} ended (exit 0)`,
      ].join('\n'),
    );
  });

  it('turns unknown events, odd shapes and junk into nothing, never an error', () => {
    const junk = [
      '',
      'Error executing prompt: Error: Cannot invoke native session after disposal has started',
      '{"type": "assistant.mess',
      '[1,2]',
      '{"type":"hologram.projected","data":{"x":1}}',
      '{"type":"tool.execution_complete","data":null}',
      '{"type":"tool.execution_complete","data":{"fileEdits":[null,{"kind":"create"}],"shellExecution":"yes"}}',
      '{"type":"assistant.message","data":{"content":7,"toolRequests":{}}}',
      '{"type":"result"}',
    ];
    assert.deepEqual(parseCopilotLine('{"type":"hologram.projected"}'), { type: 'unknown', originalType: 'hologram.projected' });
    const p = fold(junk);
    assert.deepEqual(p.files_changed, []);
    assert.equal(p.commands_run, 0);
    assert.equal(p.last_agent_message, null);
    assert.equal(p.turn, 'failed', 'a result without an exit code is not a success');
    for (const line of junk) copilot.stream.render(line);
  });
});

describe('the Copilot CLI usage report', () => {
  it('sums the tokens of every model in the report --usage-output-file writes', () => {
    const report = JSON.parse(fs.readFileSync(fixture('copilot-usage.json'), 'utf8'));
    // Two requests of [[usage:1200,34]]: Copilot's input tokens include the cached ones, like ours.
    assert.deepEqual(usageFromReport(report), { input_tokens: 2880, cached_input_tokens: 480, output_tokens: 68, reasoning_output_tokens: 0 });
    assert.equal(usageFromReport({ modelMetrics: {} }), null);
    assert.equal(usageFromReport('nonsense'), null);
  });
});



describe('the Copilot CLI command line', () => {
  it('never carries the prompt (stdin has it), writes JSONL, and resumes a session by id', () => {
    const args = copilot.argv(runSpec({ resume: '3b25190b-6e9f-4458-9583-633f85b62572', model: 'claude-sonnet-4.5', reasoningEffort: 'high' }));
    assert.ok(!args.includes('-p') && !args.includes('--prompt'));
    assert.deepEqual(args.slice(0, 4), ['--output-format', 'json', '-C', '/w']);
    assert.ok(args.includes('--resume=3b25190b-6e9f-4458-9583-633f85b62572'));
    assert.deepEqual(args.slice(args.indexOf('--model'), args.indexOf('--model') + 2), ['--model', 'claude-sonnet-4.5']);
    assert.deepEqual(args.slice(args.indexOf('--reasoning-effort'), args.indexOf('--reasoning-effort') + 2), ['--reasoning-effort', 'high']);
    assert.deepEqual(args.slice(args.indexOf('--usage-output-file'), args.indexOf('--usage-output-file') + 2), ['--usage-output-file', '/jobs/abc123def456/copilot/usage.json']);
    const more = copilot.argv(runSpec({ images: ['/i/a.png'], addDirs: ['/extra'] }));
    assert.deepEqual(more.slice(more.indexOf('--attachment'), more.indexOf('--attachment') + 2), ['--attachment', '/i/a.png']);
    assert.deepEqual(more.slice(more.indexOf('--add-dir'), more.indexOf('--add-dir') + 2), ['--add-dir', '/extra']);
    assert.deepEqual(copilot.unsupported, ['output_schema']);
  });

  it('maps each access mode to its permission flags, and switches COPILOT_ALLOW_ALL off', () => {
    const flags = (sandbox: RunSpec['access']['sandbox'], extra: Partial<RunSpec> = {}) =>
      copilot.argv(runSpec({ access: { sandbox, bypass: false }, ...extra })).filter((a) => /^--(allow|deny|disallow)/.test(a));
    assert.deepEqual(flags('read-only'), ['--deny-tool=write']);
    assert.deepEqual(flags('workspace-write'), ['--allow-all-tools']);
    assert.deepEqual(flags('workspace-write', { privateTmp: true }), ['--allow-all-tools', '--disallow-temp-dir']);
    assert.deepEqual(flags('danger-full-access'), ['--allow-all']);
    assert.deepEqual(copilot.argv(runSpec({ access: { sandbox: 'workspace-write', bypass: true } })).filter((a) => a.startsWith('--allow')), ['--allow-all']);
    assert.deepEqual(copilot.env(runSpec()), { COPILOT_ALLOW_ALL: 'false' });
  });
});

describe('finding the Copilot CLI', () => {
  it('swaps the npm launcher for the native binary beside it, hoisted or nested', () => {
    const bin = path.join(ROOT, 'node_modules', '.bin', 'copilot');
    const native = path.join(ROOT, 'node_modules', '@github', `copilot-linux-${process.arch}`, 'copilot');
    if (process.platform === 'linux' && fs.existsSync(native)) assert.equal(nativeCopilot(bin), fs.realpathSync(native));

    // `npm i -g` nests the platform package under the main one.
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'cam-copilot-bin-'));
    const pkg = path.join(prefix, 'lib', 'node_modules', '@github', 'copilot');
    const nested = path.join(pkg, 'node_modules', '@github', 'copilot-linux-x64', 'copilot');
    fs.mkdirSync(path.dirname(nested), { recursive: true });
    fs.writeFileSync(path.join(pkg, 'npm-loader.js'), '');
    fs.writeFileSync(nested, '', { mode: 0o755 });
    fs.mkdirSync(path.join(prefix, 'bin'));
    fs.symlinkSync(path.join(pkg, 'npm-loader.js'), path.join(prefix, 'bin', 'copilot'));
    assert.equal(nativeCopilot(path.join(prefix, 'bin', 'copilot'), 'linux', 'x64'), fs.realpathSync(nested));
    assert.equal(nativeCopilot(path.join(prefix, 'bin', 'copilot'), 'darwin', 'arm64'), path.join(prefix, 'bin', 'copilot'), 'no package for that platform: left as it is');
    assert.equal(nativeCopilot(nested, 'linux', 'x64'), nested, 'a native binary is left as it is');
  });

  it("reads the version from the real binary's --version", () => {
    const native = nativeCopilot(path.join(ROOT, 'node_modules', '.bin', 'copilot'));
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cam-copilot-home-'));
    const env = { ...process.env, HOME: home, XDG_CACHE_HOME: COPILOT_CACHE };
    const out = execFileSync(native, ['--version'], { env, encoding: 'utf8', timeout: 120_000 });
    fs.rmSync(home, { recursive: true, force: true });
    const pinned = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', '@github', 'copilot', 'package.json'), 'utf8')).version;
    assert.equal(copilot.parseVersion(out), pinned);
  });
});

describe('whether Copilot CLI has a model provider', () => {
  const empty = () => ({ HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'cam-copilot-prov-')) });
  it('accepts a custom provider with a model, a token or a login, and says what to do otherwise', () => {
    const byok = readCopilotProvider({ ...empty(), COPILOT_PROVIDER_BASE_URL: 'http://127.0.0.1:9/', COPILOT_PROVIDER_TYPE: 'anthropic', COPILOT_MODEL: 'claude-sonnet-4.5' });
    assert.deepEqual(byok, { ok: true, detail: 'custom provider (anthropic) at http://127.0.0.1:9/, model claude-sonnet-4.5' });
    const noModel = readCopilotProvider({ ...empty(), COPILOT_PROVIDER_BASE_URL: 'http://127.0.0.1:9/' });
    assert.equal(noModel.ok, false);
    assert.equal(readCopilotProvider({ ...empty(), COPILOT_OFFLINE: 'true' }).ok, false);
    assert.deepEqual(readCopilotProvider({ ...empty(), GH_TOKEN: 't' }), { ok: true, detail: 'GitHub token in GH_TOKEN' });
    const home = empty();
    fs.mkdirSync(path.join(home.HOME, '.copilot'));
    fs.writeFileSync(path.join(home.HOME, '.copilot', 'config.json'), '// managed\n{ "last_logged_in_user": { "host": "https://github.com", "login": "octo" } }\n');
    assert.equal(readCopilotProvider(home).ok, true);
    const none = readCopilotProvider(empty());
    assert.equal(none.ok, false);
    assert.match(none.ok ? '' : none.fix, /copilot login/);
  });
});
