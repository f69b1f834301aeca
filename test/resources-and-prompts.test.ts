import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { until, useServer, waitFinal } from './helpers/harness.ts';

describe('jobs as MCP resources, and the delegate_to_codex prompt', () => {
  const s = useServer();

  it('lists recent jobs as resources and reads a job, its activity and its raw events', async () => {
    const { job_id } = await s.conn.call('codex_start', { prompt: '[[shell:echo res]] as a resource', cwd: s.h.workdir() });
    await waitFinal(s.conn, job_id);
    const { resources } = await s.conn.client.listResources();
    const mine = resources.find((r) => r.uri === `codex-job://${job_id}`);
    assert.ok(mine, 'the job is listed');
    assert.match(mine.title ?? '', /^completed: /);
    const { resourceTemplates } = await s.conn.client.listResourceTemplates();
    assert.deepEqual(resourceTemplates.map((t) => t.uriTemplate).sort(), [
      'codex-job://{job_id}',
      'codex-job://{job_id}/diff',
      'codex-job://{job_id}/events',
      'codex-job://{job_id}/output',
    ]);

    const snapshot = await s.conn.client.readResource({ uri: `codex-job://${job_id}` });
    const json = JSON.parse((snapshot.contents[0] as { text: string }).text);
    assert.equal(json.job_id, job_id);
    assert.equal(json.status, 'completed');

    const output = await s.conn.client.readResource({ uri: `codex-job://${job_id}/output` });
    assert.match((output.contents[0] as { text: string }).text, /echo res'? → exit 0/);

    const events = await s.conn.client.readResource({ uri: `codex-job://${job_id}/events` });
    const lines = (events.contents[0] as { text: string }).text.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines[0].type, 'thread.started');
    assert.equal(lines.at(-1).type, 'turn.completed');
  });

  it('refuses a resource for a job id that is malformed or unknown', async () => {
    await assert.rejects(s.conn.client.readResource({ uri: 'codex-job://..%2F..%2Fetc/output' }));
    await assert.rejects(s.conn.client.readResource({ uri: 'codex-job://abcdefabcdef' }), /no job "abcdefabcdef"/);
  });

  it('offers delegate_to_codex, which tells the assistant to wait rather than poll, and to land split work with codex_land', async () => {
    const { prompts } = await s.conn.client.listPrompts();
    assert.ok(prompts.some((p) => p.name === 'delegate_to_codex'));
    const prompt = await s.conn.client.getPrompt({ name: 'delegate_to_codex', arguments: { task: 'Fix the flaky test', cwd: '/srv/app' } });
    const text = (prompt.messages[0]!.content as { text: string }).text;
    assert.match(text, /Fix the flaky test/);
    assert.match(text, /"\/srv\/app"/);
    assert.match(text, /codex_wait .* not codex_poll in a loop/);
    assert.match(text, /isolation "worktree".*codex_land.*check_command.*resolve: true/);
  });

  it('sends a log message to the session that started a job when it finishes', async () => {
    const messages: any[] = [];
    s.conn.client.setNotificationHandler('notifications/message', (n: any) => {
      messages.push(n.params);
    });
    await s.conn.client.setLoggingLevel('info');
    const ok = await s.conn.call('codex_start', { prompt: 'tell me when done', cwd: s.h.workdir() });
    const bad = await s.conn.call('codex_start', { prompt: '[[fail:nope]] and when failed', cwd: s.h.workdir() });
    await waitFinal(s.conn, ok.job_id);
    await waitFinal(s.conn, bad.job_id);
    const about = (id: string) => until(`a message about ${id}`, () => messages.find((m) => m.data?.job_id === id));
    const done = await about(ok.job_id);
    assert.equal(done.level, 'info');
    assert.equal(done.data.status, 'completed');
    const failed = await about(bad.job_id);
    assert.equal(failed.level, 'warning');
    assert.match(failed.data.message, /failed \(turn_failed: .*nope/);
  });

  it('notifies a subscribed session when its job changes, even when another server runs the job', async () => {
    const updates: string[] = [];
    s.conn.client.setNotificationHandler('notifications/resources/updated', (n: any) => {
      updates.push(n.params.uri);
    });
    assert.equal(s.conn.client.getServerCapabilities()?.resources?.subscribe, true);
    const other = await s.h.connect();
    const { job_id } = await other.call('codex_start', { prompt: '[[slow:800]] watched from elsewhere', cwd: s.h.workdir() });
    const uri = `codex-job://${job_id}`;
    await s.conn.client.subscribeResource({ uri });
    await s.conn.client.subscribeResource({ uri: `${uri}/output` });
    await waitFinal(other, job_id);
    await until('an update for the job', () => updates.includes(uri) && updates.includes(`${uri}/output`));
    await s.conn.client.unsubscribeResource({ uri });
    await s.conn.client.unsubscribeResource({ uri: `${uri}/output` });

    // After unsubscribing, changes to the job reach nobody: a queued job, cancelled.
    const busy = await s.h.connect({ CODEX_ASYNC_MAX_CONCURRENT: '1' });
    const blocker = await busy.call('codex_start', { prompt: '[[hang]] hold the slot', cwd: s.h.workdir() });
    const queued = await busy.call('codex_start', { prompt: 'queued, then cancelled', cwd: s.h.workdir() });
    await s.conn.client.subscribeResource({ uri: `codex-job://${queued.job_id}` });
    await s.conn.client.unsubscribeResource({ uri: `codex-job://${queued.job_id}` });
    const before = updates.length;
    await busy.call('codex_cancel', { job_id: queued.job_id });
    await busy.call('codex_cancel', { job_id: blocker.job_id });
    assert.equal(updates.length, before, 'no update after unsubscribing');
    await assert.rejects(s.conn.client.subscribeResource({ uri: 'file:///etc/passwd' }), /only codex-job/);
    await other.close();
    await busy.close();
  });
});
