import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CODEX_BIN, tempDir, useHarness, waitFinal, type Harness } from './helpers/harness.ts';

/** The real codex, behind a script that counts how often its version is asked for. */
function countingCodex(): { bin: string; times: () => number; upgrade: () => void } {
  const dir = tempDir('codexbin');
  const asked = path.join(dir, 'version-asked');
  const bin = path.join(dir, 'codex');
  fs.writeFileSync(bin, `#!/bin/sh\n[ "$1" = --version ] && echo asked >> '${asked}'\nexec '${CODEX_BIN}' "$@"\n`, { mode: 0o755 });
  return {
    bin,
    times: () => (fs.existsSync(asked) ? fs.readFileSync(asked, 'utf8').split('\n').filter(Boolean).length : 0),
    // As an update in place does: the file's mtime (and so its stamp) changes.
    upgrade: () => {
      const later = new Date(Date.now() + 60_000 + Math.random() * 60_000);
      fs.utimesSync(bin, later, later);
    },
  };
}

async function runOneJob(h: Harness, env: Record<string, string>, prompt: string): Promise<void> {
  const conn = await h.connect(env);
  const done = await waitFinal(conn, (await conn.call('codex_start', { prompt, cwd: h.workdir() })).job_id);
  assert.equal(done.status, 'completed');
  await conn.close();
}

/**
 * `codex --version` starts a whole Node process; a server that ran it at every start made the first
 * codex_start after start-up wait for it. The version is read once per installed codex binary and
 * user, kept in the user's cache directory, so a new state home does not ask again either.
 */
describe('codex version lookup', () => {
  const s = useHarness();

  it('is read once per installed codex, not by every server start, and again after an upgrade', async () => {
    const codex = countingCodex();
    for (let i = 0; i < 3; i++) await runOneJob(s.h, { CODEX_BIN: codex.bin }, `version ${i}`);
    assert.equal(codex.times(), 1, 'three servers on one home asked codex for its version once');
    codex.upgrade();
    await runOneJob(s.h, { CODEX_BIN: codex.bin }, 'version 3');
    assert.equal(codex.times(), 2);
  });

  it("is not read again by a server on a new state home: it is kept in the user's cache directory (0700)", async () => {
    const codex = countingCodex();
    for (let i = 0; i < 2; i++) {
      await runOneJob(s.h, { CODEX_BIN: codex.bin, CODEX_ASYNC_HOME: path.join(tempDir('fresh'), 'state') }, `fresh home ${i}`);
    }
    assert.equal(codex.times(), 1, 'two fresh homes, one question');
    const dir = path.join(s.h.env().HOME!, '.cache', 'codex-async-mcp');
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    const cache = JSON.parse(fs.readFileSync(path.join(dir, 'agent-versions.json'), 'utf8'));
    assert.ok(cache[fs.realpathSync(codex.bin)]?.version, JSON.stringify(cache));
  });

  it('follows XDG_CACHE_HOME, and a changed binary is read again there', async () => {
    const codex = countingCodex();
    const xdg = tempDir('xdg');
    const env = () => ({ CODEX_BIN: codex.bin, XDG_CACHE_HOME: xdg, CODEX_ASYNC_HOME: path.join(tempDir('fresh'), 'state') });
    await runOneJob(s.h, env(), 'xdg 1');
    assert.ok(fs.existsSync(path.join(xdg, 'codex-async-mcp', 'agent-versions.json')));
    await runOneJob(s.h, env(), 'xdg 2');
    assert.equal(codex.times(), 1);
    codex.upgrade();
    await runOneJob(s.h, env(), 'xdg 3');
    assert.equal(codex.times(), 2, 'the upgraded binary was asked again');
  });

  it('is read again by a running server once the binary is updated, with no restart', async () => {
    const codex = countingCodex();
    const conn = await s.h.connect({ CODEX_BIN: codex.bin, CODEX_ASYNC_HOME: path.join(tempDir('fresh'), 'state') });
    const cwd = s.h.workdir();
    assert.equal((await waitFinal(conn, (await conn.call('codex_start', { prompt: 'before', cwd })).job_id)).status, 'completed');
    assert.equal(codex.times(), 1);
    codex.upgrade();
    assert.equal((await waitFinal(conn, (await conn.call('codex_start', { prompt: 'after', cwd })).job_id)).status, 'completed');
    assert.equal(codex.times(), 2, 'the same server asked the updated binary');
  });

  it('takes a damaged cache file for an empty one: the job runs, codex is asked, and the file is rewritten whole', async () => {
    const codex = countingCodex();
    const xdg = tempDir('xdg-damaged');
    const file = path.join(xdg, 'codex-async-mcp', 'agent-versions.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    for (const [i, damage] of ['{"half": ', '[1, 2]', `{"${fs.realpathSync(codex.bin)}": {"stamp": 7}}`].entries()) {
      fs.writeFileSync(file, damage);
      await runOneJob(s.h, { CODEX_BIN: codex.bin, XDG_CACHE_HOME: xdg }, `damaged ${i}`);
      assert.equal(codex.times(), i + 1, `after ${damage}`);
      assert.ok(JSON.parse(fs.readFileSync(file, 'utf8'))[fs.realpathSync(codex.bin)].version);
    }
  });
});
