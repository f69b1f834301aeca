import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { useServer, waitFinal } from './helpers/harness.ts';

describe('a job from codex_start to its result, with the real codex binary', () => {
  const s = useServer();

  it('lists the eleven tools with output schemas', async () => {
    const { tools } = await s.conn.client.listTools();
    const names = tools.map((t) => t.name).sort();
    assert.deepEqual(names, [
      'codex_apply',
      'codex_cancel',
      'codex_diff',
      'codex_discard',
      'codex_land',
      'codex_list',
      'codex_poll',
      'codex_reply',
      'codex_result',
      'codex_start',
      'codex_wait',
    ]);
    for (const tool of tools) assert.ok(tool.outputSchema, `${tool.name} declares an outputSchema`);
  });

  it('starts at once, then wait returns the completed job and result returns the answer', async () => {
    const cwd = s.h.workdir();
    const started = await s.conn.call('codex_start', { prompt: 'say hello please', cwd });
    assert.match(started.job_id, /^[0-9a-f]{12}$/);
    assert.ok(['queued', 'running'].includes(started.status));
    const done = await waitFinal(s.conn, started.job_id);
    assert.equal(done.status, 'completed');
    assert.equal(done.exit_code, 0);
    assert.equal(done.error, null);
    assert.equal(done.last_message, 'mock answer: say hello please');
    assert.match(done.output, /codex: mock answer: say hello please/);
    assert.equal(done.sandbox, 'read-only');
    const result = await s.conn.call('codex_result', { job_id: started.job_id });
    assert.equal(result.final_message, 'mock answer: say hello please');
    assert.equal(result.usage.input_tokens, 100);
    assert.equal(result.usage.output_tokens, 10);
    assert.match(result.thread_id, /^[0-9a-f-]{36}$/);
    assert.ok(result.duration_ms > 0);
  });

  it('reports commands with their exit codes, files changed and token usage', async () => {
    const cwd = s.h.workdir();
    const cmd = await waitFinal(s.conn, (await s.conn.call('codex_start', { prompt: '[[shell:echo from-the-shell]] [[usage:1234,56]] run it', cwd })).job_id);
    assert.equal(cmd.status, 'completed');
    assert.equal(cmd.progress.commands_run, 1);
    assert.match(cmd.output, /^\$ .*echo from-the-shell'? → exit 0$/m);
    assert.equal(cmd.output.match(/echo from-the-shell/g)?.length, 1, 'the command is listed once, with its result');
    // Two model requests in the turn (the call, then the answer after the output): codex sums them.
    assert.equal(cmd.progress.usage.input_tokens, 2 * 1234);
    assert.equal(cmd.progress.usage.output_tokens, 2 * 56);
    assert.equal(cmd.progress.current, null);

    const edit = await waitFinal(
      s.conn,
      (await s.conn.call('codex_start', { prompt: '[[patch:made.txt]] write a file', cwd, sandbox: 'workspace-write' })).job_id,
    );
    assert.equal(edit.status, 'completed');
    assert.deepEqual(edit.progress.files_changed, [{ path: `${cwd}/made.txt`, kind: 'add' }]);
    assert.match(edit.output, /files completed: add .*made\.txt/);
    const result = await s.conn.call('codex_result', { job_id: edit.job_id });
    assert.deepEqual(result.files_changed, [{ path: `${cwd}/made.txt`, kind: 'add' }]);
  });

  it('keeps the read-only sandbox by default: a patch is refused and nothing is written', async () => {
    const cwd = s.h.workdir();
    const done = await waitFinal(s.conn, (await s.conn.call('codex_start', { prompt: '[[patch:nope.txt]] try to write', cwd })).job_id);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.progress.files_changed, []);
    assert.equal(fs.existsSync(`${cwd}/nope.txt`), false);
  });

  it('maps the seed approval_policy auto-edit to workspace-write', async () => {
    const cwd = s.h.workdir();
    const done = await waitFinal(s.conn, (await s.conn.call('codex_start', { prompt: '[[patch:ok.txt]] edit', cwd, approval_policy: 'auto-edit' })).job_id);
    assert.equal(done.sandbox, 'workspace-write');
    assert.equal(done.approval_policy, 'auto-edit');
    assert.equal(fs.readFileSync(`${cwd}/ok.txt`, 'utf8'), 'x\n');
  });

  it('returns structured_output parsed when output_schema is given, and passes model options to codex', async () => {
    const cwd = s.h.workdir();
    const schema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'], additionalProperties: false };
    const { job_id } = await s.conn.call('codex_start', {
      prompt: '[[json]] answer as json',
      cwd,
      output_schema: schema,
      reasoning_effort: 'high',
      model: 'gpt-5.5',
    });
    await waitFinal(s.conn, job_id);
    const result = await s.conn.call('codex_result', { job_id });
    assert.deepEqual(result.structured_output, { ok: true });
    const request = s.h.mock.requests.find((r) => r.prompt === '[[json]] answer as json')!;
    assert.deepEqual(request.body.text.format.schema, schema);
    assert.equal(request.body.reasoning.effort, 'high');
    assert.equal(request.body.model, 'gpt-5.5');
  });

  it('attaches images and extra writable directories', async () => {
    const cwd = s.h.workdir();
    // A 1x1 PNG.
    fs.writeFileSync(`${cwd}/dot.png`, Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64'));
    const extra = s.h.workdir();
    const { job_id } = await s.conn.call('codex_start', {
      prompt: 'look at the image',
      cwd,
      images: ['dot.png'],
      add_dirs: [extra],
      sandbox: 'workspace-write',
    });
    assert.equal((await waitFinal(s.conn, job_id)).status, 'completed');
    const request = s.h.mock.requests.find((r) => r.prompt.includes('look at the image'))!;
    assert.match(JSON.stringify(request.body.input), /input_image/);
    assert.match(JSON.stringify(request.body.input), new RegExp(`writable roots are [^.]*${extra}`));
  });

  it('limits output to tail_lines and lists jobs by status and cwd', async () => {
    const cwd = s.h.workdir();
    const { job_id } = await s.conn.call('codex_start', { prompt: '[[shell:echo one]] tail me', cwd, label: 'tail' });
    await waitFinal(s.conn, job_id);
    const snap = await s.conn.call('codex_poll', { job_id, tail_lines: 1 });
    assert.equal(snap.output.split('\n').length, 1);
    assert.equal((await s.conn.call('codex_poll', { job_id, tail_lines: 0 })).output, '');
    const byCwd = await s.conn.call('codex_list', { cwd });
    assert.deepEqual(byCwd.jobs.map((j: any) => j.job_id), [job_id]);
    assert.equal(byCwd.jobs[0].label, 'tail');
    const completed = await s.conn.call('codex_list', { status: 'completed', limit: 200 });
    assert.ok(completed.jobs.every((j: any) => j.status === 'completed'));
    assert.ok(completed.jobs.some((j: any) => j.job_id === job_id));
  });
});
