import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CODEX_BIN, codexExec, delegatedJob, SERVER_MAIN, useHarness } from './helpers/harness.ts';


/**
 * The real codex CLI as the MCP client: it finds our tools through its tool_search (BM25 over
 * names and descriptions) and calls codex_start, which needs `default_tools_approval_mode =
 * "approve"` in its server table (codex-cli 0.169), as the README says.
 */
describe('codex as the MCP client', () => {
  const s = useHarness();

  it('finds codex_start by searching "start a codex background job", calls it, and the job runs', async () => {
    const inner = s.h.workdir();
    const env = s.h.env();
    fs.appendFileSync(
      path.join(s.h.codexHome, 'config.toml'),
      [
        '',
        '[mcp_servers.jobs]',
        `command = ${JSON.stringify(process.execPath)}`,
        `args = [${JSON.stringify(SERVER_MAIN)}]`,
        'default_tools_approval_mode = "approve"',
        '[mcp_servers.jobs.env]',
        `CODEX_ASYNC_HOME = ${JSON.stringify(env.CODEX_ASYNC_HOME)}`,
        `CODEX_BIN = ${JSON.stringify(CODEX_BIN)}`,
        `CODEX_HOME = ${JSON.stringify(s.h.codexHome)}`,
        '',
      ].join('\n'),
    );
    // codex searches the MCP tools it has when the model asks: the mock answers after 3 s (and searches again while it finds nothing), as a real
    // model would take a while, so that our server (started by codex, on a loaded machine) is up.
    const run = await codexExec(env, s.h.workdir(), `[[slow:3000]] [[mcp:jobs|${inner}]] hand this to the job server`);
    assert.equal(run.status, 0);

    const search = s.h.mock.requests
      .flatMap((r) => (Array.isArray(r.body.input) ? r.body.input : []))
      .filter((item: any) => item?.type === 'tool_search_output')
      .at(-1);
    const found = search.tools.find((t: any) => t.name === 'mcp__jobs')?.tools.map((t: any) => t.name) ?? [];
    assert.ok(found.includes("codex_start"), `codex's tool search found codex_start (found: ${found.join(", ")}; codex said: ${run.stderr.slice(-1500)})`);

    // The job the outer codex delegated runs under our server like any other.
    const done = await delegatedJob(s.h, run.events, 'jobs', inner);
    assert.equal(done.last_message, 'mock answer: delegated by codex');
  });
});
