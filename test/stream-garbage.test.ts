import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { jobFile, ROOT, until, useServer, waitFinal } from './helpers/harness.ts';

const FAKE_CODEX = path.join(ROOT, 'test/fixtures/fake-codex.mjs');

/** The event stream is codex's stdout: whatever it holds, the job's view must stay sound. */
describe('a corrupt event stream', () => {
  const s = useServer({ CODEX_BIN: FAKE_CODEX });

  it('garbage, binary data and a 10 MB single line in the event stream are skipped; poll and result stay correct', async () => {
    const cwd = s.h.workdir();
    const { job_id } = await s.conn.call('codex_start', { prompt: 'garbage-stream', cwd });

    // Mid-stream: the junk, the 10 MB line and 50 long messages are written; the fake waits for `go`.
    const mid = await until('the fake to write its last filler message', async () => {
      const snap = await s.conn.call('codex_poll', { job_id });
      return snap.last_message?.startsWith('filler 49: ') ? snap : null;
    });
    assert.equal(mid.status, 'running');
    assert.ok(fs.statSync(jobFile(s.h.home, job_id, 'events.jsonl')).size > 10 << 20, 'the 10 MB line is in the stream');
    assert.equal(mid.thread_id, '0199a213-81c0-7800-8aa1-bbab2a035a53');
    assert.equal(mid.progress.commands_run, 0, 'the 10 MB line was skipped, not read as a command');
    assert.ok(mid.output.length <= 8000, `output is at most 8000 characters (got ${mid.output.length})`);
    assert.match(mid.output, /codex: filler 49: y/);
    assert.doesNotMatch(mid.output, /cat huge/);
    assert.doesNotMatch(mid.output, /\u0000|\ufffd/, 'no junk bytes in output');

    fs.writeFileSync(path.join(cwd, 'go'), '');
    const done = await waitFinal(s.conn, job_id, 60);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.exit_code, 0);
    assert.equal(done.error, null);
    assert.equal(done.last_message, 'after the junk');
    assert.equal(done.progress.commands_run, 0);
    assert.equal(done.progress.usage.output_tokens, 5);

    const polled = await s.conn.call('codex_poll', { job_id });
    assert.match(polled.output, /codex: after the junk/);
    assert.match(polled.output, /turn completed/);
    assert.ok(polled.output.length <= 8000, `output is at most 8000 characters (got ${polled.output.length})`);
    assert.doesNotMatch(polled.output, /\u0000|\ufffd/, 'no junk bytes in output');

    const result = await s.conn.call('codex_result', { job_id });
    assert.equal(result.status, 'completed');
    assert.equal(result.final_message, 'after the junk');
    assert.equal(result.usage.output_tokens, 5);
    assert.equal(result.thread_id, '0199a213-81c0-7800-8aa1-bbab2a035a53');
  });
});
