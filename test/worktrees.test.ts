import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { checkoutState, codexBranches, git, gitRepo, worktreePaths } from './helpers/git.ts';
import { cliIn, killQuietly, tempDir, until, useHarness, useServer, waitFinal, type Connection } from './helpers/harness.ts';

/** A prompt that makes the real codex run `cmd` (see the mock's [[shell:…]] marker). */
const shell = (cmd: string, what = '') => `[[shell:${cmd}]] ${what}`;

const WRITE = { sandbox: 'workspace-write', isolation: 'worktree' } as const;

async function finished(conn: Connection, id: string): Promise<any> {
  const job = await waitFinal(conn, id);
  assert.equal(job.status, 'completed', `job ${id}: ${JSON.stringify(job.error)}`);
  return job;
}

/** The text of a tool result that must be an error. */
async function refusal(conn: Connection, tool: string, args: Record<string, unknown>): Promise<string> {
  const r = await conn.raw(tool, args);
  assert.equal(r.isError, true, `${tool} should have been refused: ${JSON.stringify(r.structuredContent ?? r.content)}`);
  return r.content[0].text as string;
}

describe('a git worktree per job: review, apply, discard', () => {
  const s = useServer();

  it('two write jobs on one repository at once, each editing its own file, both applied: the checkout ends with both changes and nothing else', async () => {
    const repo = gitRepo({ 'README.md': '# demo\n' });
    const [a, b] = await Promise.all([
      s.conn.call('codex_start', { prompt: shell("printf 'from A\\n' > a.txt", 'job A'), cwd: repo, ...WRITE }),
      s.conn.call('codex_start', { prompt: shell("printf 'from B\\n' > b.txt", 'job B'), cwd: repo, ...WRITE }),
    ]);
    assert.equal(a.isolation, 'worktree');
    const [ja, jb] = [await finished(s.conn, a.job_id), await finished(s.conn, b.job_id)];
    for (const job of [ja, jb]) {
      assert.equal(job.workspace.kind, 'worktree');
      assert.equal(job.workspace.branch, `codex/${job.job_id}`);
      assert.equal(job.workspace.path, path.join(s.h.home, 'worktrees', job.job_id));
      assert.match(job.workspace.base_commit, /^[0-9a-f]{40}$/);
      assert.equal(job.workspace.repo, repo);
    }
    assert.equal(git(repo, 'status', '--porcelain'), '', 'the jobs did not touch the checkout');
    assert.equal(fs.existsSync(path.join(ja.workspace.path, 'b.txt')), false, "job A does not see job B's work");

    const diff = await s.conn.call('codex_diff', { job_id: a.job_id });
    assert.deepEqual(diff.files, [{ path: 'a.txt', old_path: null, status: 'added', additions: 1, deletions: 0, binary: false }]);
    assert.match(diff.patch, /\+from A/);
    assert.equal(diff.truncated, false);
    const resource = await s.conn.client.readResource({ uri: `codex-job://${a.job_id}/diff` });
    assert.match((resource.contents[0] as { text: string }).text, /\+from A/);

    const dry = await s.conn.call('codex_apply', { job_id: a.job_id, dry_run: true });
    assert.equal(dry.applied, false);
    assert.equal(git(repo, 'status', '--porcelain'), '', 'a dry run changes nothing');
    for (const id of [a.job_id, b.job_id]) assert.equal((await s.conn.call('codex_apply', { job_id: id })).applied, true);
    assert.equal(git(repo, 'status', '--porcelain'), '?? a.txt\n?? b.txt\n');
    assert.equal(fs.readFileSync(path.join(repo, 'a.txt'), 'utf8'), 'from A\n');
    assert.equal(fs.readFileSync(path.join(repo, 'b.txt'), 'utf8'), 'from B\n');
    const listed = await s.conn.call('codex_list', { limit: 5 });
    assert.ok(listed.jobs.find((j: any) => j.job_id === a.job_id).workspace.applied_at, 'the job shows its changes as applied');
  });

  it('two jobs changing the same lines: the first applies, the second reports the conflict and leaves the checkout exactly as it was', async () => {
    const repo = gitRepo({ 'f.txt': 'one\ntwo\nthree\n' });
    const x = await s.conn.call('codex_start', { prompt: shell("printf 'ONE-X\\ntwo\\nthree\\n' > f.txt", 'X'), cwd: repo, ...WRITE });
    const y = await s.conn.call('codex_start', { prompt: shell("printf 'ONE-Y\\ntwo\\nthree\\n' > f.txt", 'Y'), cwd: repo, ...WRITE });
    await finished(s.conn, x.job_id);
    await finished(s.conn, y.job_id);
    await s.conn.call('codex_apply', { job_id: x.job_id });
    const before = checkoutState(repo);
    const dry = await s.conn.call('codex_apply', { job_id: y.job_id, dry_run: true });
    assert.equal(dry.applied, false);
    assert.deepEqual(dry.conflicts.map((c: any) => c.path), ['f.txt']);
    const text = await refusal(s.conn, 'codex_apply', { job_id: y.job_id });
    assert.match(text, /f\.txt/);
    assert.match(text, /conflict/i);
    assert.equal(checkoutState(repo), before, 'nothing was touched');
    assert.equal(fs.readFileSync(path.join(repo, 'f.txt'), 'utf8'), 'ONE-X\ntwo\nthree\n');
  });

  it('apply is refused while the checkout has uncommitted changes to the same files; applying the same changes twice is refused', async () => {
    const repo = gitRepo({ 'g.txt': '1\n2\n3\n4\n5\n6\n7\n', 'other.txt': 'o\n' });
    const job = await s.conn.call('codex_start', { prompt: shell("sed -i 's/^1$/one/' g.txt", 'edit line 1'), cwd: repo, ...WRITE });
    await finished(s.conn, job.job_id);
    fs.writeFileSync(path.join(repo, 'g.txt'), '1\n2\n3\n4\n5\n6\nseven\n');
    fs.writeFileSync(path.join(repo, 'other.txt'), 'mine\n');
    const before = checkoutState(repo);
    const text = await refusal(s.conn, 'codex_apply', { job_id: job.job_id });
    assert.match(text, /g\.txt/);
    assert.match(text, /uncommitted/);
    assert.doesNotMatch(text, /other\.txt/, 'only the overlapping file is named');
    assert.equal(checkoutState(repo), before);

    git(repo, 'checkout', '--', 'g.txt');
    const applied = await s.conn.call('codex_apply', { job_id: job.job_id });
    assert.deepEqual(applied.files.map((f: any) => f.path), ['g.txt']);
    assert.equal(fs.readFileSync(path.join(repo, 'g.txt'), 'utf8'), 'one\n2\n3\n4\n5\n6\n7\n');
    assert.equal(fs.readFileSync(path.join(repo, 'other.txt'), 'utf8'), 'mine\n', "the user's other change stays");
    assert.match(await refusal(s.conn, 'codex_apply', { job_id: job.job_id }), /already applied/);
  });

  it('a reply continues in the same worktree; cancel keeps the worktree, discard removes it and its branch but keeps the record', async () => {
    const repo = gitRepo({ 'README.md': 'r\n' });
    const first = await s.conn.call('codex_start', { prompt: shell("printf 'a\\n' > a.txt", 'first'), cwd: repo, ...WRITE });
    await finished(s.conn, first.job_id);
    const reply = await s.conn.call('codex_reply', { job_id: first.job_id, prompt: shell("test -f a.txt && printf 'saw a\\n' > b.txt", 'second') });
    const replied = await finished(s.conn, reply.job_id);
    assert.equal(replied.workspace.path, path.join(s.h.home, 'worktrees', first.job_id), 'the reply works in the first job\'s worktree');
    const diff = await s.conn.call('codex_diff', { job_id: reply.job_id, stat_only: true });
    assert.deepEqual(diff.files.map((f: any) => f.path), ['a.txt', 'b.txt']);
    assert.equal(diff.patch, null);

    const hung = await s.conn.call('codex_start', { prompt: '[[hang]] never ends', cwd: repo, ...WRITE });
    await until('the hung job to run codex', async () => (await s.conn.call('codex_poll', { job_id: hung.job_id })).workspace.state === 'ready');
    await s.conn.call('codex_cancel', { job_id: hung.job_id });
    const cancelled = await s.conn.call('codex_poll', { job_id: hung.job_id });
    assert.equal(cancelled.status, 'cancelled');
    assert.ok(fs.existsSync(cancelled.workspace.path), 'a cancelled job keeps its worktree for inspection');

    for (const id of [first.job_id, hung.job_id]) assert.equal((await s.conn.call('codex_discard', { job_id: id })).discarded, true);
    assert.deepEqual(worktreePaths(repo), [repo]);
    assert.deepEqual(codexBranches(repo), []);
    const left = fs.readdirSync(path.join(s.h.home, 'worktrees')).filter((name) => name.startsWith(first.job_id) || name.startsWith(hung.job_id));
    assert.deepEqual(left, [], 'no worktree or temp directory of theirs is left');
    const kept = await s.conn.call('codex_poll', { job_id: reply.job_id });
    assert.equal(kept.workspace.state, 'discarded');
    assert.match(await refusal(s.conn, 'codex_diff', { job_id: first.job_id }), /discarded/);
  });

  it('isolation "worktree" is refused, saying why, outside a git repository and in one using Git LFS', async () => {
    const plain = s.h.workdir();
    assert.match(await refusal(s.conn, 'codex_start', { prompt: 'x', cwd: plain, isolation: 'worktree' }), /not inside a git repository/);
    const lfs = gitRepo({ '.gitattributes': '*.bin filter=lfs diff=lfs merge=lfs -text\n' });
    assert.match(await refusal(s.conn, 'codex_start', { prompt: 'x', cwd: lfs, isolation: 'worktree' }), /LFS/);
    assert.match(await refusal(s.conn, 'codex_start', { prompt: 'x', cwd: plain, isolation: 'elsewhere' }), /isolation must be one of none, worktree/);
    const repo = gitRepo({ 'README.md': 'r\n' });
    const around = { prompt: 'x', cwd: repo, isolation: 'worktree', sandbox: 'workspace-write', add_dirs: [repo] };
    assert.match(await refusal(s.conn, 'codex_start', around), /holds the repository/, 'an add_dirs entry would hand the checkout back');
    assert.match(await refusal(s.conn, 'codex_start', { prompt: 'x', cwd: plain, attempts: 9 }), /attempts must be a whole number from 1 to 8/);
  });

  it('without isolation, codex_diff shows what changed under cwd since the job started, not what was there before', async () => {
    const repo = gitRepo({ 'README.md': 'r\n' });
    fs.writeFileSync(path.join(repo, 'mine.txt'), 'there before\n');
    const job = await s.conn.call('codex_start', { prompt: shell("printf 'n\\n' > n.txt", 'none'), cwd: repo, sandbox: 'workspace-write' });
    await finished(s.conn, job.job_id);
    const diff = await s.conn.call('codex_diff', { job_id: job.job_id });
    assert.deepEqual(diff.files.map((f: any) => f.path), ['n.txt']);
    assert.match(diff.note, /isolation "none"/);
    assert.match(await refusal(s.conn, 'codex_apply', { job_id: job.job_id }), /already in/);
    const plain = await s.conn.call('codex_start', { prompt: 'no git here', cwd: s.h.workdir(), sandbox: 'workspace-write' });
    await finished(s.conn, plain.job_id);
    assert.match(await refusal(s.conn, 'codex_diff', { job_id: plain.job_id }), /not a git checkout/);
    const reader = await s.conn.call('codex_start', { prompt: 'only reads', cwd: repo });
    await finished(s.conn, reader.job_id);
    assert.match(await refusal(s.conn, 'codex_diff', { job_id: reader.job_id }), /read-only sandbox, so it changed no file/);
  });
});

describe('best-of-N attempts ranked by a check', () => {
  const s = useServer();

  it('of two attempts, the one whose check passes is best_job_id; each records its check', async () => {
    const repo = gitRepo({ 'README.md': 'r\n' });
    // Exactly one attempt wins the mkdir, whichever runs first: it writes "good", the other "bad".
    const shared = tempDir('lock');
    const started = await s.conn.call('codex_start', {
      prompt: shell(`if mkdir ${shared}/won 2>/dev/null; then echo good > r.txt; else echo bad > r.txt; fi`, 'race'),
      cwd: repo,
      sandbox: 'workspace-write',
      add_dirs: [shared],
      attempts: 2,
      check_command: 'grep -q good r.txt && echo check-ok',
    });
    assert.match(started.group_id, /^[0-9a-f]{12}$/);
    assert.equal(started.job_ids.length, 2);
    assert.equal(started.isolation, 'worktree');
    let waited: any;
    do waited = await s.conn.call('codex_wait', { group_id: started.group_id, timeout_seconds: 30 });
    while (waited.timed_out);
    const group = waited.group;
    assert.equal(group.finished, 2);
    assert.ok(group.best_job_id);
    assert.equal(group.attempts[0].job_id, group.best_job_id);
    const [best, other] = group.attempts;
    assert.equal(best.check.passed, true);
    assert.equal(best.check.exit_code, 0);
    assert.equal(best.check.command, 'grep -q good r.txt && echo check-ok');
    assert.match(best.check.output_tail, /check-ok/);
    assert.equal(typeof best.check.duration_ms, 'number');
    assert.equal(other.check.passed, false);
    assert.equal(other.check.exit_code, 1);
    assert.match((await s.conn.call('codex_diff', { job_id: group.best_job_id })).patch, /\+good/);
    assert.match((await s.conn.call('codex_diff', { job_id: other.job_id })).patch, /\+bad/);
  });

  it('cancelling the group while the attempts run their checks ends them cancelled, not completed', async () => {
    const repo = gitRepo({ 'README.md': 'r\n' });
    const started = await s.conn.call('codex_start', { prompt: 'checked slowly', cwd: repo, attempts: 2, check_command: 'sleep 300' });
    for (const id of started.job_ids) {
      await until(`attempt ${id} to run its check`, async () => /running its check/.test((await s.conn.call('codex_poll', { job_id: id })).progress.current ?? ''), 60_000);
    }
    const cancelled = await s.conn.call('codex_cancel', { group_id: started.group_id });
    assert.deepEqual(cancelled.group.attempts.map((a: any) => a.status), ['cancelled', 'cancelled']);
    for (const id of started.job_ids) {
      const job = await s.conn.call('codex_poll', { job_id: id });
      assert.match(job.error.message, /during its check/);
      assert.equal(job.check.passed, false);
    }
  });

  it('cancelling the group cancels every attempt', async () => {
    const repo = gitRepo({ 'README.md': 'r\n' });
    const started = await s.conn.call('codex_start', { prompt: '[[hang]] forever', cwd: repo, attempts: 3 });
    const cancelled = await s.conn.call('codex_cancel', { group_id: started.group_id });
    assert.deepEqual(cancelled.group.attempts.map((a: any) => a.status), ['cancelled', 'cancelled', 'cancelled']);
    assert.equal(cancelled.group.best_job_id, null);
  });

  it('read-only attempts are warned about at start (nothing to apply); codex_discard with group_id removes every attempt\'s worktree and branch, refused while one runs', async () => {
    const repo = gitRepo({ 'README.md': 'r\n' });
    const raw = await s.conn.raw('codex_start', { prompt: '[[hang]] forever', cwd: repo, attempts: 2 });
    const started = raw.structuredContent as any;
    assert.equal(started.warnings.length, 1);
    assert.match(started.warnings[0], /read-only, yet its 2 attempts run in a worktree.*nothing to apply.*sandbox "workspace-write"/);
    assert.match(raw.content[0].text, /\nWarning: the job is read-only/);
    await until('both worktrees to be made', () => worktreePaths(repo).length === 3, 60_000);

    assert.match(await refusal(s.conn, 'codex_discard', { group_id: started.group_id }), /^not_finished: 2 attempt\(s\) of group \w+ still going: .*cancel the group \(codex_cancel\)/);
    assert.equal(worktreePaths(repo).length, 3, 'nothing was removed');
    assert.match(await refusal(s.conn, 'codex_discard', {}), /give job_id, or group_id/);

    await s.conn.call('codex_cancel', { group_id: started.group_id });
    const discarded = await s.conn.call('codex_discard', { group_id: started.group_id });
    assert.deepEqual(discarded.attempts.map((a: any) => [a.job_id, a.discarded]).sort(), started.job_ids.map((id: string) => [id, true]).sort());
    assert.deepEqual(worktreePaths(repo), [fs.realpathSync(repo)]);
    assert.deepEqual(codexBranches(repo), []);
    const again = await s.conn.call('codex_discard', { group_id: started.group_id });
    assert.deepEqual(again.attempts.map((a: any) => a.discarded), [false, false], 'discarding again changes nothing');

    const write = await s.conn.raw('codex_start', { prompt: 'plain answer', cwd: repo, ...WRITE });
    assert.equal((write.structuredContent as any).warnings, undefined, 'a worktree the agent may write gets no warning');
    await finished(s.conn, (write.structuredContent as any).job_id);
  });

  it("codex_discard with group_id is refused, removing nothing, while a reply still works in an attempt's worktree", async () => {
    const repo = gitRepo({ 'README.md': 'r\n' });
    const started = await s.conn.call('codex_start', { prompt: 'plain answer', cwd: repo, ...WRITE, attempts: 2 });
    let waited: any;
    do waited = await s.conn.call('codex_wait', { group_id: started.group_id, timeout_seconds: 30 });
    while (waited.timed_out);
    // The attempt discarded last: a check of the attempts alone would remove the others first.
    const last = waited.group.attempts.at(-1).job_id;
    const reply = await s.conn.call('codex_reply', { job_id: last, prompt: '[[hang]] keep working' });
    await until('the reply to run', async () => (await s.conn.call('codex_poll', { job_id: reply.job_id })).status === 'running');

    assert.match(await refusal(s.conn, 'codex_discard', { group_id: started.group_id }), new RegExp(`^not_finished: job ${reply.job_id} is still running in this worktree`));
    assert.equal(worktreePaths(repo).length, 3, 'nothing was removed');
    for (const id of started.job_ids) assert.equal((await s.conn.call('codex_poll', { job_id: id })).workspace.state, 'ready');

    await s.conn.call('codex_cancel', { job_id: reply.job_id });
    const discarded = await s.conn.call('codex_discard', { group_id: started.group_id });
    assert.deepEqual(discarded.attempts.map((a: any) => a.discarded), [true, true]);
    assert.deepEqual(worktreePaths(repo), [fs.realpathSync(repo)]);
  });

  it('the check cannot write outside its worktree under a read-only or a workspace-write job', async () => {
    const repo = gitRepo({ 'README.md': 'r\n' });
    const outside = tempDir('outside');
    const check = `touch inside.txt; touch ${repo}/outside.txt; touch ${outside}/outside.txt; echo done`;
    for (const sandbox of ['read-only', 'workspace-write']) {
      const job = await s.conn.call('codex_start', { prompt: `plain answer ${sandbox}`, cwd: repo, sandbox, isolation: 'worktree', check_command: check });
      const done = await finished(s.conn, job.job_id);
      assert.equal(done.check.passed, true, 'the check itself ran to its end');
      assert.match(done.check.output_tail, /Read-only file system/);
      assert.equal(fs.existsSync(path.join(repo, 'outside.txt')), false, `${sandbox}: the user's checkout was not written`);
      assert.equal(fs.existsSync(path.join(outside, 'outside.txt')), false, `${sandbox}: a directory elsewhere was not written`);
      assert.equal(fs.existsSync(path.join(done.workspace.path, 'inside.txt')), sandbox === 'workspace-write', `${sandbox}: the worktree is writable only under workspace-write`);
    }
  });
});

describe('a worktree cut short by a crash, and gc', () => {
  const s = useHarness();
  let crashed: { repo: string; id: string } | undefined;

  it('a server killed while making a worktree leaves nothing half-made once the next server starts', async () => {
    const repo = gitRepo({ 'README.md': 'r\n' });
    const doomed = await s.h.connect({ CODEX_ASYNC_TEST_PAUSE: 'worktree-made' });
    const job = await doomed.call('codex_start', { prompt: shell("printf 'c\\n' > c.txt", 'after the crash'), cwd: repo, ...WRITE });
    await until('the server to stop itself holding a made worktree', () => /\) T /.test(fs.readFileSync(`/proc/${doomed.pid}/stat`, 'utf8')));
    killQuietly(doomed.pid);
    await doomed.close().catch(() => undefined);
    // Only now does another server exist: it finds the claim's owner dead and launches the job again.
    const conn = await s.h.connect();
    const done = await finished(conn, job.job_id);
    assert.deepEqual(worktreePaths(repo), [repo, done.workspace.path]);
    assert.deepEqual(codexBranches(repo), [`codex/${job.job_id}`]);
    assert.deepEqual(fs.readdirSync(path.join(s.h.home, 'worktrees')).sort(), [job.job_id, `${job.job_id}.tmp`]);
    assert.deepEqual((await conn.call('codex_diff', { job_id: job.job_id })).files.map((f: any) => f.path), ['c.txt']);
    crashed = { repo, id: job.job_id };
  });

  it('gc deletes a finished job together with its worktree and branch, and worktrees no job knows of', async () => {
    assert.ok(crashed, 'runs after the crash test, on its job');
    // A worktree whose job row is gone (a repair without it), with its registration already pruned.
    const orphan = path.join(s.h.home, 'worktrees', '0123456789ab');
    git(crashed.repo, 'worktree', 'add', '-q', '-b', 'codex/0123456789ab', orphan);
    fs.rmSync(path.join(crashed.repo, '.git', 'worktrees', '0123456789ab'), { recursive: true });
    // And one of the user's own worktrees, its directory missing for now (an unmounted disk): not ours to prune.
    const mine = path.join(tempDir('mine'), 'wt');
    git(crashed.repo, 'worktree', 'add', '-q', '--detach', mine);
    fs.rmSync(mine, { recursive: true });
    const gc = await cliIn(s.h.env(), ['gc', '--older-than', '0']);
    assert.equal(gc.code, 0, gc.stderr);
    assert.match(gc.stdout, new RegExp(`deleted ${crashed.id}`));
    assert.deepEqual(worktreePaths(crashed.repo), [crashed.repo, mine], "only the user's own worktree is still registered");
    assert.deepEqual(codexBranches(crashed.repo), []);
    assert.deepEqual(fs.readdirSync(path.join(s.h.home, 'worktrees')), []);
  });
});

describe('gc and an orphan sweep at once', () => {
  const s = useHarness();

  it("a worktree whose job's directory is still there is no orphan: its branch, committed on, is kept", async () => {
    const repo = gitRepo({ 'README.md': 'r\n' });
    const ran = await cliIn(s.h.env(), ['run', 'plain answer', '--cwd', repo, '--isolation', 'worktree', '--sandbox', 'workspace-write', '--wait', '--json']);
    assert.equal(ran.code, 0, ran.stderr);
    const job = JSON.parse(ran.stdout);
    git(job.workspace.path, 'commit', '-q', '--allow-empty', '-m', 'mine, after the job');
    // As another process's gc leaves it between deleting the row and removing the worktree.
    const db = new Database(path.join(s.h.home, 'jobs.db'));
    db.prepare('DELETE FROM jobs WHERE id = ?').run(job.job_id);
    db.close();
    const gc = await cliIn(s.h.env(), ['gc', '--older-than', '0']);
    assert.equal(gc.code, 0, gc.stderr);
    assert.deepEqual(codexBranches(repo), [`codex/${job.job_id}`], 'the branch committed on is kept');
    assert.ok(fs.existsSync(job.workspace.path), 'the worktree is left to the gc collecting its job');
  });
});
