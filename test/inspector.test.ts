import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { ROOT, SERVER_MAIN, useHarness, TOOL_COUNT } from './helpers/harness.ts';

const INSPECTOR = path.join(ROOT, 'node_modules/.bin/mcp-inspector');
const TOKEN = 'inspector-token-0123456789';

/**
 * The MCP Inspector's CLI mode (`mcp-inspector --cli`), a third-party client, against the server.
 * It starts stdio servers with a minimal environment, so every setting is passed with `-e`.
 */
describe('the MCP Inspector CLI as the client', () => {
  const s = useHarness();

  async function inspect(args: string[], era: 'legacy' | 'modern' = 'legacy'): Promise<any> {
    const env = Object.entries(s.h.env()).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    const { stdout } = await promisify(execFile)(
      INSPECTOR,
      ['--cli', '--format', 'json', '-q', '--protocol-era', era, ...env, process.execPath, SERVER_MAIN, ...args],
      { timeout: 60_000 },
    );
    return JSON.parse(stdout).result;
  }

  for (const era of ['legacy', 'modern'] as const) {
    it(`lists the tools, runs a job, reads it as a resource and gets the prompt (${era === 'legacy' ? '2025-era initialize' : '2026-07-28 server/discover'})`, async () => {
      const tools = await inspect(['--method', 'tools/list'], era);
      const names = ['codex_apply', 'codex_cancel', 'codex_diff', 'codex_discard', 'codex_land', 'codex_list', 'codex_poll', 'codex_reply', 'codex_result', 'codex_start', 'codex_wait'];
      // The Inspector declares the tasks extension at 2026-07-28, so it is offered codex_run there.
      const modern = [...names, 'codex_run'].sort();
      assert.deepEqual(tools.tools.map((t: { name: string }) => t.name).sort(), era === 'modern' ? modern : names);
      const started = await inspect(
        ['--method', 'tools/call', '--tool-name', 'codex_start', '--tool-args-json', JSON.stringify({ prompt: `inspected ${era}`, cwd: s.h.workdir() })],
        era,
      );
      const jobId = started.structuredContent.job_id;
      const waited = await inspect(['--method', 'tools/call', '--tool-name', 'codex_wait', '--tool-args-json', JSON.stringify({ job_ids: [jobId], timeout_seconds: 30 })], era);
      assert.equal(waited.structuredContent.finished[0].status, 'completed');
      const resource = await inspect(['--method', 'resources/read', '--uri', `codex-job://${jobId}`], era);
      assert.equal(JSON.parse(resource.contents[0].text).last_message, `mock answer: inspected ${era}`);
      const prompt = await inspect(['--method', 'prompts/get', '--prompt-name', 'delegate_to_codex', '--prompt-args', 'task=fix the build'], era);
      assert.match(prompt.messages[0].content.text, /fix the build/);
    });
  }

  it('runs codex_run as a task: the Inspector polls tasks/get until the job is done (2026-07-28)', async () => {
    const result = await inspect(['--method', 'tools/call', '--tool-name', 'codex_run', '--tool-args-json', JSON.stringify({ prompt: '[[slow:300]] a task', cwd: s.h.workdir() })], 'modern');
    assert.equal(result.structuredContent.final_message, 'mock answer: [[slow:300]] a task');
  });

  it('reaches the server over Streamable HTTP with the bearer token', async () => {
    const child = spawn(process.execPath, [SERVER_MAIN, 'serve', '--http', '127.0.0.1:0'], { env: s.h.env({ CODEX_ASYNC_TOKEN: TOKEN }), stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => {
          stderr += d.toString();
          const m = /Streamable HTTP at (\S+)/.exec(stderr);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`server exited ${code}: ${stderr}`)));
      });
      const run = (extra: string[]) =>
        promisify(execFile)(INSPECTOR, ['--cli', '--format', 'json', '-q', '--server-url', url, ...extra, '--method', 'tools/list'], { timeout: 60_000 });
      const { stdout } = await run(['--header', `Authorization: Bearer ${TOKEN}`]);
      assert.equal(JSON.parse(stdout).result.tools.length, TOOL_COUNT);
      await assert.rejects(run(['--stored-auth-only']), /auth/i);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
