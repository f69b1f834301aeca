import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CODEX_BIN, tempDir, useHarness, waitFinal } from './helpers/harness.ts';

/**
 * `codex --version` starts a whole Node process; a server that ran it at every start made the first
 * codex_start after start-up wait for it. The version is read once per installed codex binary.
 */
describe('codex version lookup', () => {
  const s = useHarness();

  it('is read once per installed codex, not by every server start, and again after an upgrade', async () => {
    const dir = tempDir('codexbin');
    const asked = path.join(dir, 'version-asked');
    // The real codex, behind a script that counts how often its version is asked for.
    const bin = path.join(dir, 'codex');
    fs.writeFileSync(bin, `#!/bin/sh\n[ "$1" = --version ] && echo asked >> '${asked}'\nexec '${CODEX_BIN}' "$@"\n`, { mode: 0o755 });
    const times = () => (fs.existsSync(asked) ? fs.readFileSync(asked, 'utf8').split('\n').filter(Boolean).length : 0);
    const runOneJob = async (i: number) => {
      const conn = await s.h.connect({ CODEX_BIN: bin });
      const done = await waitFinal(conn, (await conn.call('codex_start', { prompt: `version ${i}`, cwd: s.h.workdir() })).job_id);
      assert.equal(done.status, 'completed');
      await conn.close();
    };
    for (let i = 0; i < 3; i++) await runOneJob(i);
    assert.equal(times(), 1, 'three servers on one home asked codex for its version once');
    // An upgrade rewrites the file: its version is read again.
    const later = new Date(Date.now() + 60_000);
    fs.utimesSync(bin, later, later);
    await runOneJob(3);
    assert.equal(times(), 2);
  });
});
