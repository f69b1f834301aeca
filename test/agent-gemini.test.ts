import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunSpec } from '../src/agents/agent.ts';
import { parseEventLine } from '../src/agents/gemini/events.ts';
import { gemini } from '../src/agents/gemini/index.ts';
import { readGeminiProvider } from '../src/agents/gemini/provider.ts';
import { geminiEnv, mockedAgent } from './helpers/agentMocks.ts';
import { agentContract, foldLines, recordedRuns, runSpec } from './helpers/contract.ts';
import { gitRepo } from './helpers/git.ts';
import { tempDir, useHarness, waitFinal, type Connection } from './helpers/harness.ts';
import { startGeminiMock, type GeminiMock } from './helpers/mockGemini.ts';
import { SANDBOX_MISSING } from './helpers/sandbox.ts';

// Gemini's shell tool exists only in yolo mode (headless gemini offers no tool that would need an
// approval): workspace-write, inside our OS sandbox, and danger-full-access (src/agents/gemini/argv.ts).
agentContract({ agent: 'gemini', ...mockedAgent('gemini') });

/**
 * Runs of the real gemini 0.61 against test/helpers/mockGemini.ts, one after the other, each
 * starting with its `init` line: [[shell:echo hi]] [[usage:1000,50]] under yolo; [[patch:f.txt]]
 * under auto_edit; [[patch:g.txt]] under default (refused); [[fail:boom]]; [[recall]] with no
 * model (gemini's router); [[shell:sleep 300]] under yolo, interrupted with SIGINT.
 */
const runs = () => recordedRuns('gemini-stream.jsonl', (line) => line.startsWith('{"type":"init"'));
const fold = (lines: string[]) => foldLines(gemini.stream, lines);

describe('gemini inside our sandbox', { skip: SANDBOX_MISSING }, () => {
  const s = useHarness();
  let mock: GeminiMock;
  let conn: Connection;
  before(async () => {
    mock = await startGeminiMock();
    conn = await s.h.connect(geminiEnv(mock.url, s.h.env().HOME!));
  });
  after(() => mock?.close());

  it('has a shell confined by our sandbox: a command writes in cwd, but neither outside nor in its .git', async () => {
    const cwd = gitRepo({ 'a.txt': 'a\n' });
    const config = fs.readFileSync(path.join(cwd, '.git', 'config'), 'utf8');
    const outside = path.join(tempDir('outside'), 'gemini.txt');
    const command = `touch ran.txt; touch ${outside}; git config core.hooksPath /tmp; echo done`;
    const { job_id } = await conn.call('codex_start', { prompt: `[[shell:${command}]]`, cwd, agent: 'gemini', sandbox: 'workspace-write' });
    const done = await waitFinal(conn, job_id);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.progress.commands_run, 1, done.output);
    assert.equal(fs.existsSync(path.join(cwd, 'ran.txt')), true, 'the command ran in cwd');
    assert.equal(fs.existsSync(outside), false, 'it wrote outside');
    assert.equal(fs.readFileSync(path.join(cwd, '.git', 'config'), 'utf8'), config, 'it wrote the repository config');
    assert.match(done.last_message, /Read-only file system[\s\S]*done/);
  });

  it('has no shell under read-only: a command the model asks for does not run, and the job says why', async () => {
    const cwd = s.h.workdir();
    const { job_id } = await conn.call('codex_start', { prompt: '[[shell:touch refused.txt]]', cwd, agent: 'gemini', sandbox: 'read-only' });
    const done = await waitFinal(conn, job_id);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(fs.existsSync(path.join(cwd, 'refused.txt')), false, 'the command did not run');
    assert.equal(done.progress.commands_run, 0);
    assert.match(done.output, /\$ touch refused.txt\n  ↳ error: Tool "run_shell_command" not found/);
    const asked = mock.requests.find((r) => r.prompt.includes('touch refused.txt') && !r.followUp)!;
    const offered = asked.body.tools.flatMap((t: any) => t.functionDeclarations ?? []).map((f: any) => f.name);
    assert.ok(!offered.includes('write_file') && !offered.includes('run_shell_command'), offered.join(', '));
  });
});

describe('reading the gemini event stream', () => {
  it('folds recorded runs: session, commands, edits, tokens, replies, refusals and failures', () => {
    const [shell, patch, refused, failed, recall, cancelled] = runs().map(fold);
    assert.equal(shell!.thread_id, '9b9e6653-38ba-4d8e-ae80-902e7a81da35');
    assert.equal(shell!.commands_run, 1);
    assert.equal(shell!.turn, 'completed');
    assert.equal(shell!.last_agent_message, 'shell output: hi');
    // [[usage:1000,50]] per request, two requests; the mock's thinking tokens are floor(50/2).
    assert.deepEqual(shell!.usage, { input_tokens: 2000, cached_input_tokens: 400, output_tokens: 100, reasoning_output_tokens: 50 });
    assert.deepEqual(patch!.files_changed, [{ path: 'f.txt', kind: 'update' }]);
    assert.equal(patch!.commands_run, 0);
    assert.deepEqual(refused!.files_changed, [], 'an edit gemini refused changed nothing');
    assert.match(refused!.last_error ?? '', /Tool "write_file" not found/);
    assert.equal(refused!.turn, 'completed');
    assert.equal(failed!.turn, 'failed');
    assert.equal(failed!.turn_error, 'API error 400 INVALID_ARGUMENT: boom');
    assert.equal(recall!.turn, 'completed');
    assert.equal(cancelled!.turn, null, 'an interrupted run has no result');
    assert.equal(cancelled!.current, 'running `sleep 300`');
  });

  it('marks a completed turn only in the result line of a successful run', () => {
    const mark = gemini.turnCompletedMark!;
    for (const run of runs()) {
      const marked = run.filter((l) => l.includes(mark));
      const succeeded = run.filter((l) => parseEventLine(l)?.type === 'result' && fold([l]).turn === 'completed');
      assert.deepEqual(marked, succeeded);
    }
    assert.ok(gemini.exitZeroNeedsTurn, 'gemini exits 0 when interrupted');
  });

  it('joins a streamed reply, and starts a new one after a tool', () => {
    const p = fold([
      '{"type":"message","role":"assistant","content":"Let me ","delta":true}',
      '{"type":"message","role":"assistant","content":"look.","delta":true}',
    ]);
    assert.equal(p.last_agent_message, 'Let me look.');
    for (const line of [
      '{"type":"tool_use","tool_name":"read_file","tool_id":"read_file__1","parameters":{"file_path":"a"}}',
      '{"type":"tool_result","tool_id":"read_file__1","status":"success","output":""}',
      '{"type":"message","role":"assistant","content":"Done","delta":true}',
    ])
      gemini.stream.fold(line, p);
    assert.equal(p.last_agent_message, 'Done');
    assert.equal(p.commands_run, 0, 'reading a file is no command');
    for (const line of [
      '{"type":"tool_use","tool_name":"run_shell_command","tool_id":"run_shell_command__2","parameters":{"command":"echo $(id)"}}',
      '{"type":"tool_result","tool_id":"run_shell_command__2","status":"success","output":"Blocked: command substitution detected in shell command."}',
    ])
      gemini.stream.fold(line, p);
    assert.equal(p.commands_run, 0, 'a command gemini blocked did not run');
    assert.match(p.last_error ?? '', /Blocked/);
  });

  it('turns unknown events, wrong field types and junk into harmless values', () => {
    assert.deepEqual(parseEventLine('{"type":"hologram","x":1}'), { type: 'unknown', originalType: 'hologram' });
    assert.equal(parseEventLine('Warning: 256-color support not detected.'), null);
    assert.equal(parseEventLine('{"type":"result","sta'), null);
    assert.equal(parseEventLine('[1,2]'), null);
    const p = fold([
      '{"type":"init","session_id":7}',
      '{"type":"tool_use","tool_name":null,"parameters":"rm -rf"}',
      '{"type":"tool_result","tool_id":{},"status":"success"}',
      '{"type":"message","role":"assistant","content":["x"]}',
      '{"type":"result","status":"error","stats":"many"}',
    ]);
    assert.equal(p.thread_id, null);
    assert.equal(p.turn, 'failed');
    assert.equal(p.turn_error, 'gemini ended with status "error"');
    assert.equal(p.usage, null);
    const shown = ['{"type":"tool_use"}', '{"type":"tool_result"}', '{"type":"result"}', '{"type":"error"}', '{}'].map((l) => gemini.stream.render(l));
    assert.ok(shown.every((s) => s === null || typeof s.text === 'string'));
  });

  it('renders a run as lines a person reads', () => {
    const text = runs()[0]!.map((l) => gemini.stream.render(l)?.text).filter(Boolean);
    assert.deepEqual(text, [
      'session 9b9e6653-38ba-4d8e-ae80-902e7a81da35 (model gemini-2.5-flash)',
      '$ echo hi',
      '  ↳ ok\n    hi',
      'gemini: shell output: hi',
      'turn completed (2000 input tokens, 100 output tokens)',
    ]);
  });
});

describe('the gemini command line', () => {
  it('never carries the prompt: -p "" makes the run headless and the prompt comes on stdin', () => {
    const args = gemini.argv(runSpec({ model: 'gemini-2.5-flash', addDirs: ['/x'], resume: 'sess-1' }));
    assert.deepEqual(args, [
      '-p', '', '--output-format', 'stream-json', '--skip-trust', '--approval-mode', 'yolo',
      '--model', 'gemini-2.5-flash', '--include-directories', '/x', '--resume', 'sess-1',
    ]);
    assert.ok(!gemini.argv(runSpec()).includes('--model'), 'no model: gemini chooses its own');
    assert.deepEqual(gemini.env(runSpec()), { GEMINI_CLI_NO_RELAUNCH: 'true', GEMINI_CLI_TRUST_WORKSPACE: 'false' });
  });

  it('maps access modes to approval modes: read-only has no shell, workspace-write has one inside our sandbox', () => {
    const mode = (access: RunSpec['access']) => {
      const args = gemini.argv(runSpec({ access }));
      return args[args.indexOf('--approval-mode') + 1];
    };
    assert.equal(mode({ sandbox: 'read-only', bypass: false }), 'default');
    assert.equal(mode({ sandbox: 'workspace-write', bypass: false }), 'yolo');
    assert.equal(mode({ sandbox: 'danger-full-access', bypass: false }), 'yolo');
    assert.equal(mode({ sandbox: 'danger-full-access', bypass: true }), 'yolo');
  });
});

describe('whether gemini can sign in', () => {
  const home = (settings?: unknown, dotenv?: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cam-gemini-home-'));
    fs.mkdirSync(path.join(dir, '.gemini'));
    if (settings !== undefined) fs.writeFileSync(path.join(dir, '.gemini/settings.json'), typeof settings === 'string' ? settings : JSON.stringify(settings));
    if (dotenv !== undefined) fs.writeFileSync(path.join(dir, '.gemini/.env'), dotenv);
    return dir;
  };
  const read = (env: NodeJS.ProcessEnv) => readGeminiProvider({ GEMINI_CLI_SYSTEM_SETTINGS_PATH: '/nonexistent/settings.json', ...env });

  it('reads the selected auth type and the key it needs, from the environment or ~/.gemini/.env', () => {
    const apiKey = { security: { auth: { selectedType: 'gemini-api-key' } } };
    assert.equal(read({ HOME: home(apiKey), GEMINI_API_KEY: 'k' }).ok, true);
    assert.equal(read({ HOME: home(apiKey, 'GEMINI_API_KEY=k\n') }).ok, true);
    const missing = read({ HOME: home(apiKey) });
    assert.equal(missing.ok, false);
    assert.match(missing.ok ? '' : missing.fix, /GEMINI_API_KEY/);
    assert.equal(read({ HOME: home(), GEMINI_API_KEY: 'k' }).ok, true, 'a key alone selects the Gemini API');
    assert.equal(read({ HOME: home('// mine\n{"security":{"auth":{"selectedType":"oauth-personal"}}}') }).ok, true, 'settings may have comments');
  });

  it('says what to do when nothing is configured, when the settings are broken, and for a bare base URL', () => {
    const none = read({ HOME: home() });
    assert.equal(none.ok, false);
    assert.match(none.ok ? '' : none.fix, /selectedType/);
    assert.equal(read({ HOME: home('{ nope') }).ok, false);
    const gateway = read({ HOME: home(), GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:1', GEMINI_API_KEY: 'k' });
    assert.equal(gateway.ok, false, 'gemini 0.61 refuses the auth type a base URL alone selects');
    assert.match(gateway.ok ? '' : gateway.fix, /gemini-api-key/);
  });
});
