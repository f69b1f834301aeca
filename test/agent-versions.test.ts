/**
 * An agent CLI older than the oldest release its adapter supports (Agent.floor). Before, doctor said
 * `OK claude 2.1.197` and every Claude job failed with `error: unknown option '--permission-prompts'`.
 * Now doctor fails it and codex_start refuses it at once, each naming the release found, the floor
 * and how to update. The old releases are scripts that answer --version as each CLI does and fail
 * as the real old one would: the fault is the version, which the pinned releases cannot show.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { AGENT_NAMES, binEnvOf, type AgentName } from '../src/agents/agent.ts';
import { agentOf } from '../src/agents/registry.ts';
import { isOlder } from '../src/agents/version.ts';
import { mockedAgent } from './helpers/agentMocks.ts';
import { useAgentServer } from './helpers/contract.ts';
import { cliIn, ROOT, tempDir, useHarness, waitFinal } from './helpers/harness.ts';
import { SANDBOX_MISSING } from './helpers/sandbox.ts';

/** A release older than each floor, and how that CLI prints its version. */
const OLD: Record<AgentName, { version: string; says: string }> = {
  codex: { version: '0.150.1', says: 'codex-cli 0.150.1' },
  claude: { version: '2.1.197', says: '2.1.197 (Claude Code)' },
  copilot: { version: '1.0.80', says: "GitHub Copilot CLI 1.0.80.\nRun 'copilot update' to check for updates." },
  gemini: { version: '0.56.0', says: '0.56.0' },
};

/** An executable that is `version` of `name`'s CLI to --version and fails anything else, as the old release does. */
function oldCli(name: AgentName, says: string): string {
  const bin = path.join(tempDir(`old-${name}`), agentOf(name).command);
  fs.writeFileSync(bin, `#!/bin/sh\n[ "$1" = --version ] && { printf '%s\\n' '${says.replace(/'/g, `'\\''`)}'; exit 0; }\necho "error: unknown option '$1'" >&2\nexit 1\n`, { mode: 0o755 });
  return bin;
}

describe('release versions', () => {
  it('are ordered by their numbers, a pre-release before its release; a build from source (0.0.0) or an unknown one is never called older', () => {
    const cases: Array<[string, string, boolean | null]> = [
      ['2.1.197', '2.1.263', true],
      ['2.1.263', '2.1.263', false],
      ['2.1.332', '2.1.263', false],
      ['0.99.0', '0.153.4', true],
      ['1.0.83-2', '1.0.83', true],
      ['1.0.83', '1.0.83-2', false],
      ['1.0.83-2', '1.0.83-10', true],
      ['0.0.0', '0.153.4', null],
      ['0.0.0-fake', '0.153.4', null],
      ['dev', '0.58.0', null],
    ];
    for (const [version, than, older] of cases) assert.equal(isOlder(version, than), older, `${version} < ${than}`);
  });
});

describe('an agent CLI older than its adapter supports', () => {
  const s = useHarness();

  it('each OLD release is older than its floor (the cases below test what they say)', () => {
    for (const name of AGENT_NAMES) assert.equal(isOlder(OLD[name].version, agentOf(name).floor), true, name);
  });

  it('doctor fails it, naming the release found, the oldest supported and the command that updates it', async () => {
    const bins = Object.fromEntries(AGENT_NAMES.map((name) => [binEnvOf(name), oldCli(name, OLD[name].says)]));
    const r = await cliIn(s.h.env(bins), ['doctor']);
    assert.equal(r.code, 1, r.stdout);
    for (const name of AGENT_NAMES) {
      const agent = agentOf(name);
      const line = new RegExp(`^FAIL\\s+${name}\\s+${agent.command} ${OLD[name].version.replace(/\./g, '\\.')} at \\S+: older than ${agent.floor.replace(/\./g, '\\.')}, the oldest release supported\\n\\s+→ update it: ${agent.install}$`, 'm');
      assert.match(r.stdout, line, name);
    }
  });

  it('doctor says which releases it supports when the one found is one of them', async () => {
    const r = await cliIn(s.h.env(), ['doctor']);
    assert.match(r.stdout, new RegExp(`^OK\\s+codex\\s+codex \\S+ at \\S+ \\(${agentOf('codex').floor.replace(/\./g, '\\.')} or newer supported\\)$`, 'm'));
  });

  it('codex_start refuses a job for it at once, saying which release is needed and how to update; nothing is queued', async () => {
    const bins = Object.fromEntries(AGENT_NAMES.map((name) => [binEnvOf(name), oldCli(name, OLD[name].says)]));
    const conn = await s.h.connect(bins);
    for (const name of AGENT_NAMES) {
      const agent = agentOf(name);
      const r = await conn.raw('codex_start', { prompt: 'hello', cwd: s.h.workdir(), agent: name });
      assert.equal(r.isError, true, `${name}: ${JSON.stringify(r.structuredContent)}`);
      const said: string = r.content[0].text;
      assert.ok(said.includes(`${agent.title} ${OLD[name].version} (${bins[binEnvOf(name)]}) is older than ${agent.floor}, the oldest release this server supports`), said);
      assert.ok(said.includes(`Update it (\`${agent.install}\`)`), said);
      assert.ok(said.includes(binEnvOf(name)), said);
    }
    assert.deepEqual((await conn.call('codex_list', {})).jobs, [], 'no job was made');
  });
});

describe('an agent CLI updated past its floor while the server runs', { skip: SANDBOX_MISSING }, () => {
  // The real Claude Code behind a script that first answers as 2.1.197 would; the update replaces it.
  const bin = path.join(tempDir('updated-claude'), 'claude');
  const real = path.join(ROOT, 'node_modules/.bin/claude');
  fs.writeFileSync(bin, `#!/bin/sh\n[ "$1" = --version ] && { echo '${OLD.claude.says}'; exit 0; }\nexec '${real}' "$@"\n`, { mode: 0o755 });
  const claude = mockedAgent('claude');
  const s = useAgentServer({ startMock: claude.startMock, env: (mock, home) => ({ ...claude.env(mock, home), CLAUDE_BIN: bin }) });

  it('is refused while old, and runs the next job once updated, with no restart', async () => {
    const cwd = s.h.workdir();
    const refused = await s.conn.raw('codex_start', { prompt: 'before the update', cwd, agent: 'claude' });
    assert.equal(refused.isError, true);
    assert.match(refused.content[0].text, /Claude Code 2\.1\.197 .* is older than/);
    // As `npm install -g` would: a new file where the old one was.
    fs.rmSync(bin);
    fs.writeFileSync(bin, `#!/bin/sh\nexec '${real}' "$@"\n`, { mode: 0o755 });
    const { job_id } = await s.conn.call('codex_start', { prompt: 'after the update', cwd, agent: 'claude' });
    const done = await waitFinal(s.conn, job_id);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.match(done.last_message, /mock answer: after the update/);
  });
});
