/**
 * Claude Code as an agent: the shared contract (helpers/contract.ts) with the real `claude` binary
 * against the Anthropic Messages mock, its stream parser against lines recorded from that binary
 * (fixtures/claude-stream.jsonl: a shell command, a file written, a write refused, a model failure,
 * two SIGINTs during a command, one ended before its result line), and what is its own: permission
 * modes, session ids, credentials.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildClaudeArgs, sessionIdFor } from '../src/agents/claude/argv.ts';
import { parseClaudeLine } from '../src/agents/claude/events.ts';
import { claude } from '../src/agents/claude/index.ts';
import { readClaudeProvider } from '../src/agents/claude/provider.ts';
import { emptyProgress } from '../src/agents/progress.ts';
import { mockedAgent } from './helpers/agentMocks.ts';
import { agentContract, foldLines, recordedRuns, runSpec, useAgentServer, type AgentMock } from './helpers/contract.ts';
import { gitRepo } from './helpers/git.ts';
import { tempDir, until, useHarness, waitFinal } from './helpers/harness.ts';
import { SANDBOX_MISSING } from './helpers/sandbox.ts';

const claudeMock = mockedAgent('claude');

agentContract({ agent: 'claude', ...claudeMock });

const fold = (lines: string[]) => foldLines(claude.stream, lines);

describe('reading the Claude Code stream (recorded from the real CLI)', () => {
  const [shell, patch, refused, failed, interruptedNoResult, interrupted] = recordedRuns('claude-stream.jsonl', (line) => line.includes('"subtype":"init"'));

  it('a shell command: the session, the command counted, the answer, and every request\'s tokens', () => {
    const p = fold(shell!);
    assert.equal(p.thread_id, JSON.parse(shell![0]!).session_id);
    assert.equal(p.commands_run, 1);
    assert.equal(p.turn, 'completed');
    assert.equal(p.last_agent_message, 'shell output: hi');
    // Two requests of [[usage:1000,50]]: 1000 uncached + 200 cache reads each, counted in as codex counts them.
    assert.deepEqual(p.usage, { input_tokens: 2400, cached_input_tokens: 400, output_tokens: 100, reasoning_output_tokens: 0 });
    const shown = shell!.map((l) => claude.stream.render(l)?.text).filter(Boolean);
    assert.ok(shown.includes('$ echo hi'), shown.join('\n'));
    assert.ok(shown.some((t) => /↳ ok hi/.test(t!)), shown.join('\n'));
    assert.ok(shown.includes('claude: shell output: hi'), shown.join('\n'));
  });

  it('a file written is a change; a write refused is an error the turn goes on after', () => {
    const wrote = fold(patch!);
    assert.equal(wrote.files_changed.length, 1);
    assert.equal(wrote.files_changed[0]!.kind, 'add');
    assert.match(wrote.files_changed[0]!.path, /\/f\.txt$/);
    assert.equal(wrote.commands_run, 0);
    const denied = fold(refused!);
    assert.deepEqual(denied.files_changed, []);
    assert.match(denied.last_error!, /^Write refused: .*g\.txt/);
    assert.equal(denied.turn, 'completed', 'Claude Code completes its turn without the tool');
  });

  it('a model failure and an interrupted command never read as completed, though the result says "success" or exit was 0', () => {
    const api = fold(failed!);
    assert.equal(api.turn, 'failed');
    assert.equal(api.turn_error, 'API Error: 400 boom');
    // SIGINT during a command: Claude Code exits 0, with an error result or (now and then) none at all.
    const cancelled = fold(interrupted!);
    assert.equal(cancelled.turn, 'failed');
    assert.equal(cancelled.commands_run, 0, 'the interrupted command never finished');
    assert.match(cancelled.turn_error!, /error_during_execution/);
    const cut = fold(interruptedNoResult!);
    assert.equal(cut.turn, null);
    assert.equal(cut.commands_run, 0);
    assert.equal(claude.exitZeroNeedsTurn, true);
  });

  it('the completed mark is in the last line of a completed turn only', () => {
    const mark = claude.turnCompletedMark!;
    for (const run of [shell!, patch!, refused!]) assert.ok(run.at(-1)!.includes(mark));
    for (const run of [failed!, interruptedNoResult!, interrupted!]) assert.ok(!run.some((l) => l.includes(mark)));
    assert.ok(!shell!.slice(0, -1).some((l) => l.includes(mark)), 'no earlier line carries it');
  });

  it('turns unknown messages, unknown blocks and junk into harmless values', () => {
    assert.deepEqual(parseClaudeLine('{"type":"system","subtype":"hook_started"}'), { type: 'unknown', originalType: 'system/hook_started' });
    assert.deepEqual(parseClaudeLine('{"type":"rate_limit_event"}'), { type: 'unknown', originalType: 'rate_limit_event' });
    assert.deepEqual(parseClaudeLine('{"type":"assistant","message":{"content":[{"type":"hologram"},{"type":"thinking","thinking":"…"}]}}'), {
      type: 'assistant',
      blocks: [],
    });
    assert.equal(parseClaudeLine('{"type":"result","subtype":"success","is_error":false,"usage":"?"}')?.type, 'result');
    assert.equal(parseClaudeLine('not json'), null);
    assert.equal(parseClaudeLine('{"type": "resu'), null);
    const p = emptyProgress();
    for (const line of ['{"type":"user"}', '{"type":"assistant"}', '{"type":"system"}', '[]', '{"type":"result"}']) claude.stream.fold(line, p);
    assert.equal(p.turn, 'failed', 'a result without is_error false is no completed turn');
  });
});

describe('the Claude Code command line', () => {

  it('never carries the prompt, names its session up front and continues one with --resume', () => {
    const args = buildClaudeArgs(runSpec({ model: 'sonnet', reasoningEffort: 'minimal', addDirs: ['/x'] }));
    assert.deepEqual(args, [
      '-p', '--output-format', 'stream-json', '--verbose', '--permission-prompts', 'none', '--permission-mode', 'acceptEdits', '--setting-sources', 'user',
      '--session-id', sessionIdFor('abc123def456'), '--model', 'sonnet', '--effort', 'low', '--add-dir', '/x',
    ]);
    const reply = buildClaudeArgs(runSpec({ resume: 'f00d' }));
    assert.deepEqual(reply.slice(-2), ['--resume', 'f00d']);
    assert.ok(!reply.includes('--session-id'));
  });

  it('derives one valid UUID per job', () => {
    const id = sessionIdFor('abc123def456');
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(sessionIdFor('abc123def456'), id);
    assert.notEqual(sessionIdFor('abc123def457'), id);
  });

  it('maps each access mode to a permission mode; read-only takes the file tools away', () => {
    const ro = buildClaudeArgs(runSpec({ access: { sandbox: 'read-only', bypass: false } }));
    assert.deepEqual(ro.slice(6, 10), ['--permission-mode', 'default', '--disallowedTools', 'Write,Edit,MultiEdit,NotebookEdit']);
    const full = buildClaudeArgs(runSpec({ access: { sandbox: 'danger-full-access', bypass: true } }));
    assert.deepEqual(full.slice(6, 8), ['--permission-mode', 'bypassPermissions']);
    assert.ok(!full.includes('--dangerously-skip-permissions'));
  });

  it('passes an output schema\'s text, which Claude Code takes instead of a file', () => {
    const file = path.join(tempDir('schema'), 'schema.json');
    fs.writeFileSync(file, '{"type":"object"}');
    const args = buildClaudeArgs(runSpec({ outputSchemaFile: file }));
    assert.equal(args[args.indexOf('--json-schema') + 1], '{"type":"object"}');
  });

  it('reads its version', () => {
    assert.equal(claude.parseVersion('2.1.332 (Claude Code)\n'), '2.1.332');
  });
});

describe('Claude Code credentials', () => {
  const home = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cam-claude-home-'));

  it('finds an API key, a cloud provider, a login, or says how to get one', () => {
    const empty = home();
    const none = readClaudeProvider({ HOME: empty });
    assert.equal(none.ok, false);
    assert.match(none.ok ? '' : none.fix, /\/login|ANTHROPIC_API_KEY/);
    assert.equal(readClaudeProvider({ HOME: empty, ANTHROPIC_API_KEY: 'k' }).ok, true);
    assert.equal(readClaudeProvider({ HOME: empty, CLAUDE_CODE_USE_BEDROCK: '1' }).ok, true);
    const loggedIn = home();
    fs.mkdirSync(path.join(loggedIn, '.claude'));
    fs.writeFileSync(path.join(loggedIn, '.claude', '.credentials.json'), '{}');
    assert.equal(readClaudeProvider({ HOME: loggedIn }).ok, true);
    const configDir = home();
    fs.writeFileSync(path.join(configDir, 'settings.json'), '{"apiKeyHelper":"echo k"}');
    assert.equal(readClaudeProvider({ HOME: empty, CLAUDE_CONFIG_DIR: configDir }).ok, true);
  });
});

describe('Claude Code permission modes, for real', { skip: SANDBOX_MISSING }, () => {
  const s = useAgentServer(claudeMock, { CODEX_ASYNC_ALLOW_DANGEROUS: '1' });

  const run = async (prompt: string, sandbox: string, cwd = s.h.workdir()) => {
    const { job_id } = await s.conn.call('codex_start', { prompt, cwd, agent: 'claude', sandbox });
    return waitFinal(s.conn, job_id);
  };

  it('read-only refuses a file-system command, workspace-write runs it inside cwd but not outside', async () => {
    const outside = path.join(tempDir('outside'), 'o.txt');
    const ro = s.h.workdir();
    const refused = await run('[[shell:touch ro.txt]]', 'read-only', ro);
    assert.equal(refused.status, 'completed', JSON.stringify(refused.error));
    assert.equal(fs.existsSync(path.join(ro, 'ro.txt')), false);
    assert.equal(refused.progress.commands_run, 0, 'the refused command did not run');
    const rw = s.h.workdir();
    const inside = await run(`[[shell:touch rw.txt]]`, 'workspace-write', rw);
    assert.equal(inside.status, 'completed', JSON.stringify(inside.error));
    assert.equal(fs.existsSync(path.join(rw, 'rw.txt')), true);
    const out = await run(`[[shell:touch ${outside}]]`, 'workspace-write');
    assert.equal(out.status, 'completed', JSON.stringify(out.error));
    assert.equal(fs.existsSync(outside), false, 'workspace-write does not write outside cwd');
  });

  it('a repository\'s own settings run nothing: its SessionStart hook does not fire in a read-only or workspace-write job', async () => {
    for (const sandbox of ['read-only', 'workspace-write']) {
      const cwd = s.h.workdir();
      const marker = path.join(tempDir('hook'), 'fired');
      fs.mkdirSync(path.join(cwd, '.claude'));
      const hook = { hooks: { SessionStart: [{ hooks: [{ type: 'command', command: `touch ${marker}` }] }] } };
      fs.writeFileSync(path.join(cwd, '.claude', 'settings.json'), JSON.stringify(hook));
      const done = await run('say hello', sandbox, cwd);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.equal(fs.existsSync(marker), false, `the repository's hook ran under ${sandbox}`);
    }
  });

  it('danger-full-access writes outside cwd, also for a root server', async () => {
    const outside = path.join(tempDir('outside'), 'full.txt');
    const done = await run(`[[shell:touch ${outside}]]`, 'danger-full-access');
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(fs.existsSync(outside), true, JSON.stringify(done.progress));
  });
});

describe('best-of-N across agents', { skip: SANDBOX_MISSING }, () => {
  const s = useAgentServer(claudeMock);

  it('codex and Claude Code attempt one task as a group, each in a worktree, ranked by one check', async () => {
    const repo = gitRepo({ 'README.md': 'hello\n' });
    const started = await s.conn.call('codex_start', {
      prompt: '[[patch:answer.txt]]',
      cwd: repo,
      sandbox: 'workspace-write',
      agents: ['codex', 'claude'],
      check_command: 'test -f answer.txt',
    });
    assert.equal(started.job_ids.length, 2);
    assert.ok(started.group_id);
    const waited = await until('both attempts to finish', async () => {
      const r = await s.conn.call('codex_wait', { group_id: started.group_id, timeout_seconds: 30 });
      return r.pending.length === 0 ? r : null;
    }, 180_000);
    const byId = new Map<string, any>(waited.finished.map((j: any) => [j.job_id, j]));
    assert.deepEqual(started.job_ids.map((id: string) => byId.get(id)?.agent), ['codex', 'claude']);
    for (const id of started.job_ids) {
      const job = byId.get(id);
      assert.equal(job.status, 'completed', JSON.stringify(job.error));
      assert.equal(job.check.passed, true, JSON.stringify(job.check));
      assert.equal(job.workspace.kind, 'worktree');
    }
    assert.ok(started.job_ids.includes(waited.group.best_job_id));
    const refused = await s.conn.raw('codex_start', { prompt: 'x', cwd: repo, agent: 'claude', agents: ['codex'] });
    assert.equal(refused.isError, true);
    assert.match(refused.content[0].text, /give agent .* or agents .*, not both/);
  });
});

describe('servers with and without Claude Code sharing one queue', { skip: SANDBOX_MISSING }, () => {
  const s = useHarness();
  let mock: AgentMock;
  before(async () => {
    mock = await claudeMock.startMock();
  });
  after(() => mock?.close());

  it('a server without Claude Code leaves a queued Claude job to one that has it, and runs the jobs queued after it', async () => {
    const one = { CODEX_ASYNC_MAX_CONCURRENT: '1' };
    const without = await s.h.connect({ ...one, CLAUDE_BIN: '/nonexistent/claude' });
    const hang = await without.call('codex_start', { prompt: '[[hang]] hold the only slot', cwd: s.h.workdir() });
    const withClaude = await s.h.connect({ ...one, ...claudeMock.env(mock, s.h.env().HOME!) });
    const queuedClaude = await withClaude.call('codex_start', { prompt: 'waits for a server with claude', cwd: s.h.workdir(), agent: 'claude' });
    assert.equal(queuedClaude.status, 'queued');
    await withClaude.close();
    const codexAfter = await without.call('codex_start', { prompt: 'queued behind the claude job', cwd: s.h.workdir() });
    assert.equal(codexAfter.queue_position, 2);
    await without.call('codex_cancel', { job_id: hang.job_id });
    const done = await waitFinal(without, codexAfter.job_id);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal((await without.call('codex_poll', { job_id: queuedClaude.job_id })).status, 'queued', 'no server with claude has looked yet');
    const again = await s.h.connect({ ...one, ...claudeMock.env(mock, s.h.env().HOME!) });
    const claudeDone = await waitFinal(again, queuedClaude.job_id);
    assert.equal(claudeDone.status, 'completed', JSON.stringify(claudeDone.error));
    assert.match(claudeDone.last_message, /mock answer: waits for a server with claude/);
  });
});
