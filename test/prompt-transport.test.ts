import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { useServer, waitFinal } from './helpers/harness.ts';

/** The prompt travels on stdin, so codex sees exactly what the client sent, and no process argv holds it. */
describe('prompts reach codex byte for byte', () => {
  const s = useServer();

  const cases: Array<[string, string]> = [
    ['a prompt that looks like a flag', '--help echo-prompt --dangerously-bypass-approvals-and-sandbox'],
    ['quotes, newlines and shell syntax', `echo-prompt "double" 'single' $(rm -rf /) \`x\`\nline two\n\ttabbed; & | > <`],
    ['a 300 KB prompt', `echo-prompt ${'0123456789abcdef'.repeat(300 * 64)}`],
  ];

  for (const [name, prompt] of cases) {
    it(name, async () => {
      const { job_id } = await s.conn.call('codex_start', { prompt, cwd: s.h.workdir() });
      const done = await waitFinal(s.conn, job_id);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      const sha = createHash('sha256').update(prompt).digest('hex');
      assert.equal(done.last_message, `echo-prompt sha256=${sha} bytes=${Buffer.byteLength(prompt)}`);
    });
  }
});
