import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { AGENT_NAMES } from '../src/agents/agent.ts';
import { useServer, waitFinal, TOOL_COUNT } from './helpers/harness.ts';

/** Every bad input is a tool result with isError and a message saying what is wrong; the server keeps serving. */
describe('bad input gets a clear tool error', () => {
  const s = useServer();
  let cwd: string;
  before(() => {
    cwd = s.h.workdir();
  });

  async function rejects(name: string, args: Record<string, unknown>, pattern: RegExp) {
    const result = await s.conn.raw(name, args);
    assert.equal(result.isError, true, `${name} ${JSON.stringify(args).slice(0, 100)} should fail`);
    assert.match(result.content[0].text, pattern);
  }

  it('rejects bad cwd values', async () => {
    await rejects('codex_start', { prompt: 'x', cwd: 'relative/dir' }, /cwd must be an absolute path/);
    await rejects('codex_start', { prompt: 'x', cwd: '/definitely/not/here' }, /does not exist/);
    const file = path.join(cwd, 'file.txt');
    fs.writeFileSync(file, 'x');
    await rejects('codex_start', { prompt: 'x', cwd: file }, /is not a directory/);
  });

  it('rejects empty prompts and missing arguments', async () => {
    await rejects('codex_start', { prompt: '   ', cwd }, /prompt is empty/);
    await rejects('codex_start', { cwd }, /prompt/);
  });

  it('rejects unknown, conflicting and dangerous access modes', async () => {
    await rejects('codex_start', { prompt: 'x', cwd, approval_policy: 'yolo' }, /unknown approval_policy "yolo".*suggest, auto-edit, full-auto/);
    await rejects('codex_start', { prompt: 'x', cwd, sandbox: 'none' }, /unknown sandbox "none".*read-only, workspace-write, danger-full-access/);
    await rejects('codex_start', { prompt: 'x', cwd, approval_policy: 'suggest', sandbox: 'workspace-write' }, /disagrees/);
    await rejects('codex_start', { prompt: 'x', cwd, approval_policy: 'full-auto' }, /dangerous_disabled.*CODEX_ASYNC_ALLOW_DANGEROUS=1/);
    await rejects('codex_start', { prompt: 'x', cwd, sandbox: 'danger-full-access' }, /dangerous_disabled/);
  });

  it('rejects an unknown agent, and options the agent cannot take', async () => {
    await rejects('codex_start', { prompt: 'x', cwd, agent: 'cursor' }, /agent must be one of codex.*got "cursor"/);
    await rejects('codex_start', { prompt: 'x', cwd, agent: 'Codex' }, /agent must be one of/);
    await rejects('codex_reply', { thread_id: '0199a213-81c0-7800-8aa1-bbab2a035a53', cwd, prompt: 'x', agent: 'nope' }, /agent must be one of/);
    await rejects('codex_start', { prompt: 'x', cwd, agent: 'gemini', output_schema: { type: 'object' } }, /Gemini CLI cannot take output_schema: leave it out, or use agent "codex"/);
    await rejects('codex_start', { prompt: 'x', cwd, agent: 'copilot', output_schema: { type: 'object' } }, /GitHub Copilot CLI cannot take output_schema/);
    await rejects('codex_start', { prompt: 'x', cwd, agent: 'claude', images: ['a.png'] }, /Claude Code cannot take images/);
    await rejects('codex_reply', { thread_id: '0199a213-81c0-7800-8aa1-bbab2a035a53', cwd, prompt: 'x', agent: 'gemini', reasoning_effort: 'high' }, /Gemini CLI cannot take reasoning_effort/);
    const comma = path.join(s.h.workdir(), 'a,b');
    fs.mkdirSync(comma);
    await rejects('codex_start', { prompt: 'x', cwd, agent: 'gemini', add_dirs: [comma] }, /add_dirs: Gemini CLI splits directory lists at commas/);
    await rejects('codex_start', { prompt: 'x', cwd, agents: ['codex', 'cursor'] }, /agent must be one of .*got "cursor"/);
    await rejects('codex_start', { prompt: 'x', cwd, agents: [] }, /agents must name 1 to 8 agents/);
    await rejects('codex_start', { prompt: 'x', cwd, agents: ['codex', 'claude'], attempts: 3 }, /agents names 2 attempts, but attempts is 3/);
  });

  it('says how to install an agent that is not there, and keeps serving', async () => {
    const conn = await s.h.connect({ CLAUDE_BIN: '/nonexistent/claude' });
    const result = await conn.raw('codex_start', { prompt: 'x', cwd, agent: 'claude' });
    assert.equal(result.isError, true);
    assert.match(result.content[0].text, /^agent_unavailable: .*not an executable file\. Install Claude Code \(`npm install -g @anthropic-ai\/claude-code`\) or set CLAUDE_BIN/);
    assert.ok((await conn.call('codex_list', {})).jobs, 'the server keeps serving');
    await conn.close();
  });

  it('rejects bad timeouts, tail_lines, paths and job ids', async () => {
    await rejects('codex_start', { prompt: 'x', cwd, model: '--config=x y' }, /not a model name/);
    await rejects('codex_start', { prompt: 'x', cwd, reasoning_effort: 'max' }, /unknown reasoning_effort "max".*minimal/);
    await rejects('codex_start', { prompt: 'x', cwd, label: 'l'.repeat(201) }, /label is longer than 200/);
    await rejects('codex_start', { prompt: 'x', cwd, output_schema: { type: 'array' } }, /output_schema must describe a JSON object/);
    await rejects('codex_start', { prompt: 'x', cwd, timeout_seconds: 0 }, /timeout_seconds must be above 0/);
    await rejects('codex_start', { prompt: 'x', cwd, timeout_seconds: -5 }, /timeout_seconds/);
    await rejects('codex_start', { prompt: 'x', cwd, timeout_seconds: 604801 }, /at most 604800 \(7 days\)/);
    await rejects('codex_wait', { job_id: 'abcdefabcdef', timeout_seconds: 3601 }, /timeout_seconds must be from 0 to 3600/);
    await rejects('codex_start', { prompt: 'x', cwd, images: ['missing.png'] }, /images entry "missing.png" does not exist/);
    await rejects('codex_start', { prompt: 'x', cwd, add_dirs: ['/no/such/dir'] }, /add_dirs entry .* does not exist/);
    await rejects('codex_poll', { job_id: '../../etc/passwd' }, /12 hex characters/);
    await rejects('codex_poll', { job_id: 'abcdefabcdef' }, /no job "abcdefabcdef"/);
    await rejects('codex_result', { job_id: 'abcdefabcdef' }, /no job/);
    await rejects('codex_cancel', { job_id: '' }, /12 hex characters/);
    await rejects('codex_wait', { job_ids: ['../x'] }, /not a job id/);
    await rejects('codex_wait', {}, /at least one job id/);
    await rejects('codex_list', { limit: 0 }, /limit must be/);
    await rejects('codex_list', { cursor: '!!!' }, /cursor/);
    await rejects('codex_reply', { prompt: 'x' }, /give job_id .* or thread_id/);
    await rejects('codex_reply', { prompt: 'x', thread_id: 'not a thread' }, /not a Codex CLI session id/);
    await rejects('codex_reply', { prompt: 'x', job_id: 'abcdefabcdef', sandbox: 'workspace-write' }, /sandbox comes from the parent job/);
  });

  it('rejects a negative tail_lines and a result asked for too early', async () => {
    const started = await s.conn.call('codex_start', { prompt: '[[hang]] take your time', cwd });
    await rejects('codex_poll', { job_id: started.job_id, tail_lines: -1 }, /tail_lines must be/);
    await rejects('codex_result', { job_id: started.job_id }, /not_finished: .*codex_wait/);
    await s.conn.call('codex_cancel', { job_id: started.job_id });
  });

  it('wrote nothing outside the state directory and still serves', async () => {
    assert.deepEqual(fs.readdirSync(cwd).sort(), ['file.txt']);
    const { tools } = await s.conn.client.listTools();
    assert.equal(tools.length, TOOL_COUNT);
    const list = await s.conn.call('codex_list', {});
    assert.equal(list.jobs.length, 1, 'only the one valid start created a job');
  });
});

/**
 * The tools' parameters are a closed list, and their closed sets are enums: a client shows the
 * choices, and a name the server does not know is refused rather than dropped (a misspelt
 * `isolaton: "worktree"` used to run the job in the user's own checkout).
 */
describe('tool parameters are a closed list', () => {
  const s = useServer();

  it('lists every closed set as an enum and no room for other parameters', async () => {
    const { tools } = await s.conn.client.listTools();
    const schema = (name: string) => tools.find((t) => t.name === name)!.inputSchema as any;
    const start = schema('codex_start').properties;
    assert.deepEqual(start.agent.enum, [...AGENT_NAMES]);
    assert.deepEqual(start.agents.items.enum, [...AGENT_NAMES]);
    assert.deepEqual(start.sandbox.enum, ['read-only', 'workspace-write', 'danger-full-access']);
    assert.deepEqual(start.approval_policy.enum, ['suggest', 'auto-edit', 'full-auto']);
    assert.deepEqual(start.isolation.enum, ['none', 'worktree']);
    assert.deepEqual(start.reasoning_effort.enum, ['none', 'minimal', 'low', 'medium', 'high', 'xhigh']);
    const reply = schema('codex_reply').properties;
    for (const name of ['agent', 'sandbox', 'approval_policy', 'reasoning_effort']) assert.deepEqual(reply[name].enum, start[name].enum, `codex_reply ${name}`);
    assert.ok(schema('codex_list').properties.status.enum.includes('running'));
    for (const tool of tools) assert.equal((tool.inputSchema as any).additionalProperties, false, `${tool.name} allows no other parameters`);
  });

  it('refuses a misspelt parameter, naming the closest known one, and starts nothing', async () => {
    const cwd = s.h.workdir();
    const misspelt = await s.conn.raw('codex_start', { prompt: 'x', cwd, isolaton: 'worktree' });
    assert.equal(misspelt.isError, true);
    assert.match(misspelt.content[0].text, /unknown parameter "isolaton": did you mean "isolation"\?/);
    const unknown = await s.conn.raw('codex_start', { prompt: 'x', cwd, webhook_url: 'https://example.com' });
    assert.equal(unknown.isError, true);
    assert.match(unknown.content[0].text, /unknown parameter "webhook_url": the parameters are prompt, cwd, /);
    assert.deepEqual((await s.conn.call('codex_list', {})).jobs, []);
  });

  it('refuses an unknown parameter on every tool', async () => {
    const { tools } = await s.conn.client.listTools();
    assert.equal(tools.length, TOOL_COUNT);
    for (const tool of tools) {
      const name = Object.keys((tool.inputSchema as any).properties)[0]!;
      const result = await s.conn.raw(tool.name, { [`${name}x`]: 'abcdefabcdef' });
      assert.equal(result.isError, true, tool.name);
      assert.match(result.content[0].text, new RegExp(`unknown parameter "${name}x": did you mean "${name}"\\?`), tool.name);
    }
  });

  it('still runs a job started with every name the seed used', async () => {
    const { job_id } = await s.conn.call('codex_start', { prompt: 'seed names', cwd: s.h.workdir(), approval_policy: 'suggest' });
    const done = await waitFinal(s.conn, job_id);
    assert.equal(done.status, 'completed');
    assert.equal(done.sandbox, 'read-only');
    assert.equal((await s.conn.call('codex_poll', { job_id })).status, 'completed');
    assert.equal((await s.conn.call('codex_list', {})).jobs.length, 1);
  });
});
