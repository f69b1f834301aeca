import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startHarness, waitFinal, type Connection, type Harness } from './helpers/harness.ts';

/** The prompt travels on stdin, so codex sees exactly what the client sent, and no process argv holds it. */
describe('prompts reach codex byte for byte', () => {
  let h: Harness;
  let conn: Connection;
  before(async () => {
    h = await startHarness();
    conn = await h.connect();
  });
  after(() => h.close());

  const cases: Array<[string, string]> = [
    ['a prompt that looks like a flag', '--help echo-prompt --dangerously-bypass-approvals-and-sandbox'],
    ['quotes, newlines and shell syntax', `echo-prompt "double" 'single' $(rm -rf /) \`x\`\nline two\n\ttabbed; & | > <`],
    ['a 300 KB prompt', `echo-prompt ${'0123456789abcdef'.repeat(300 * 64)}`],
  ];

  for (const [name, prompt] of cases) {
    it(name, async () => {
      const { job_id } = await conn.call('codex_start', { prompt, cwd: h.workdir() });
      const done = await waitFinal(conn, job_id);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      const sha = createHash('sha256').update(prompt).digest('hex');
      assert.equal(done.last_message, `echo-prompt sha256=${sha} bytes=${Buffer.byteLength(prompt)}`);
    });
  }
});
