import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { checkoutState, codexBranches, git, gitRepo, worktreePaths } from './helpers/git.ts';
import { findProcesses } from '../src/supervise/proc.ts';
import { cliIn, isLivePid, killQuietly, until, useServer, waitFinal, type Connection } from './helpers/harness.ts';

/** A prompt that makes the real codex run `cmd` (see the mock's [[shell:…]] marker). */
const shell = (cmd: string, what = '') => `[[shell:${cmd}]] ${what}`;
const WRITE = { sandbox: 'workspace-write', isolation: 'worktree' } as const;
const F_TXT = 'one\ntwo\nthree\n';

async function job(conn: Connection, repo: string, cmd: string, label: string): Promise<string> {
  const started = await conn.call('codex_start', { prompt: shell(cmd, label), cwd: repo, label, ...WRITE });
  return started.job_id;
}

async function finished(conn: Connection, ids: string[]): Promise<void> {
  for (const id of ids) {
    const j = await waitFinal(conn, id);
    assert.equal(j.status, 'completed', `job ${id}: ${JSON.stringify(j.error)}`);
  }
}

/** The four jobs of the issue: two on files of their own (a.txt, b.txt), two rewriting f.txt's first line. */
async function fourJobs(conn: Connection, repo: string): Promise<{ a: string; b: string; c: string; d: string }> {
  const [a, b, c, d] = await Promise.all([
    job(conn, repo, "printf 'from A\\n' > a.txt", 'add a.txt'),
    job(conn, repo, "printf 'from B\\n' > b.txt", 'add b.txt'),
    job(conn, repo, "printf 'ONE-C\\ntwo\\nthree\\n' > f.txt", 'first line, C'),
    job(conn, repo, "printf 'ONE-D\\ntwo\\nthree\\n' > f.txt", 'first line, D'),
  ]);
  await finished(conn, [a!, b!, c!, d!]);
  return { a: a!, b: b!, c: c!, d: d! };
}

async function refusal(conn: Connection, args: Record<string, unknown>): Promise<string> {
  const r = await conn.raw('codex_land', args);
  assert.equal(r.isError, true, `codex_land should have been refused: ${JSON.stringify(r.structuredContent ?? r.content)}`);
  return r.content[0].text as string;
}

const landingFile = (home: string, id: string) => path.join(home, 'landings', id, 'landing.json');
const readLanding = (home: string, id: string) => JSON.parse(fs.readFileSync(landingFile(home, id), 'utf8'));

describe('codex_land: several jobs as one change', () => {
  const s = useServer();

  it('four jobs, a check failing for one clean job: the right two land, the others are set aside with their reasons, the checkout holds exactly the landed changes', async () => {
    const repo = gitRepo({ 'f.txt': F_TXT });
    const { a, b, c, d } = await fourJobs(s.conn, repo);
    const progress: string[] = [];
    const raw = await s.conn.raw('codex_land', { job_ids: [a, b, c, d], check_command: 'test ! -e b.txt', timeout_seconds: 120 }, { onprogress: (p: any) => progress.push(p.message) });
    const r = raw.structuredContent;
    assert.equal(r.status, 'done', r.message);
    assert.ok(progress.some((m) => m.startsWith(`checking job ${b} (2/4): test ! -e b.txt`)), `each step is a progress notification: ${progress.join(' | ')}`);
    assert.deepEqual(r.landed, [a, c]);
    assert.deepEqual(
      r.set_aside.map((x: any) => [x.job_id, x.reason]),
      [
        [b, 'check_failed'],
        [d, 'conflict'],
      ],
    );
    const failed = r.set_aside[0];
    assert.equal(failed.check.exit_code, 1);
    assert.equal(failed.check.command, 'test ! -e b.txt');
    assert.deepEqual(r.set_aside[1].files, ['f.txt']);
    assert.equal(git(repo, 'status', '--porcelain'), ' M f.txt\n?? a.txt\n');
    assert.equal(fs.readFileSync(path.join(repo, 'f.txt'), 'utf8'), 'ONE-C\ntwo\nthree\n');
    assert.equal(fs.readFileSync(path.join(repo, 'a.txt'), 'utf8'), 'from A\n');
    assert.deepEqual(r.files.map((f: any) => f.path).sort(), ['a.txt', 'f.txt']);
    assert.equal(git(repo, 'log', '--oneline').trim().split('\n').length, 1, 'HEAD did not move');
    assert.deepEqual(worktreePaths(repo).filter((p) => p.includes('land-')), [], 'the integration worktree is gone');
    assert.equal(codexBranches(repo).filter((b) => b.startsWith('codex/land')).length, 0, 'and its branch');

    const shown = await s.conn.call('codex_poll', { job_id: a });
    assert.equal(shown.workspace.landed.landing_id, r.landing_id);
    assert.equal((await s.conn.call('codex_poll', { job_id: b })).workspace.landed, null);
    const listed = await cliIn(s.h.env(), ['ls']);
    assert.match(listed.stdout, /landed/);
    // Landed into the checkout counts as applied: applying it again is refused.
    const again = await s.conn.raw('codex_apply', { job_id: a });
    assert.equal(again.isError, true);
    assert.match(again.content[0].text, /already applied/);
  });

  it("the integration worktree is a working environment: the repository's setup ran on the base, .worktreeinclude brought the ignored files, PORT is set; the check cannot write your checkout", async () => {
    const repo = gitRepo({
      'f.txt': F_TXT,
      '.gitignore': 'deps/\n.env\n',
      '.worktreeinclude': '.env\n',
      '.codex-async.toml': '[worktree]\nsetup = "mkdir -p deps && echo ready > deps/marker && if [ -e a.txt ]; then touch deps/saw-a-job; fi"\n',
    });
    fs.writeFileSync(path.join(repo, '.env'), 'SECRET=1\n');
    const a = await job(s.conn, repo, "printf 'from A\\n' > a.txt", 'A');
    await finished(s.conn, [a]);
    const check = `test -f deps/marker && test ! -e deps/saw-a-job && grep -q SECRET=1 .env && test -n "$PORT" && test -f a.txt && ! touch ${repo}/escaped 2>/dev/null`;
    const r = await s.conn.call('codex_land', { job_ids: [a], check_command: check, timeout_seconds: 120 });
    assert.equal(r.status, 'done', `${r.message} ${JSON.stringify(r.set_aside)}`);
    assert.deepEqual(r.landed, [a]);
    assert.equal(r.setup.passed, true, r.setup.output_tail);
    assert.match(r.setup.command, /^mkdir -p deps/);
    assert.equal(fs.existsSync(path.join(repo, 'escaped')), false, 'the check could not write the checkout');
    assert.equal(git(repo, 'status', '--porcelain'), '?? a.txt\n');
  });

  it("a check sees only the tree it checks: what an earlier job's check left is gone; two landings asked for at once into one checkout: one is refused", async () => {
    const repo = gitRepo({ 'f.txt': F_TXT });
    const [a, b] = [await job(s.conn, repo, "printf 'from A\\n' > a.txt", 'A'), await job(s.conn, repo, "printf 'from B\\n' > b.txt", 'B')];
    await finished(s.conn, [a, b]);
    // A's check leaves stray.txt behind and fails; B's passes only if it does not find it.
    const check = 'test ! -e stray.txt && touch stray.txt && test ! -e a.txt';
    const [one, two] = await Promise.all([
      s.conn.raw('codex_land', { job_ids: [a, b], check_command: check, timeout_seconds: 0 }),
      s.conn.raw('codex_land', { job_ids: [b], check_command: 'sleep 1', timeout_seconds: 0 }),
    ]);
    const refused = [one, two].filter((r) => r.isError);
    assert.equal(refused.length, 1, `exactly one is refused: ${JSON.stringify([one, two].map((r) => r.content[0].text))}`);
    assert.match(refused[0].content[0].text, /landing \w+ is (still )?landing jobs into/);
    const went = (one.isError ? two : one).structuredContent;
    const r = await s.conn.call('codex_land', { landing_id: went.landing_id, timeout_seconds: 120 });
    if (!one.isError) {
      assert.deepEqual(r.landed, [b], `${r.message} ${JSON.stringify(r.set_aside)}`);
      assert.deepEqual(r.set_aside.map((x: any) => [x.job_id, x.reason]), [[a, 'check_failed']]);
    }
    assert.equal(fs.existsSync(path.join(repo, 'stray.txt')), false);
  });

  it('cancel stops a landing in its check: the check ended, nothing written; cancel without landing_id is refused', async () => {
    const repo = gitRepo({ 'f.txt': F_TXT });
    const a = await job(s.conn, repo, "printf 'from A\\n' > a.txt", 'A');
    await finished(s.conn, [a]);
    const before = checkoutState(repo);
    const r = await s.conn.call('codex_land', { job_ids: [a], check_command: 'sleep 120', timeout_seconds: 0 });
    const marked = () => findProcesses({ pgid: null, trustGroup: false, markers: [`CODEX_ASYNC_LANDING_ID=${r.landing_id}`], anySession: true, since: null });
    await until('its check to run', () => readLanding(s.h.home, r.landing_id).phase === 'checking' && marked().length > 0);
    const cancelled = await s.conn.call('codex_land', { landing_id: r.landing_id, cancel: true, timeout_seconds: 60 });
    assert.equal(cancelled.status, 'cancelled', cancelled.message);
    assert.deepEqual(cancelled.landed, []);
    assert.equal(checkoutState(repo), before);
    await until('its check to be gone', () => marked().length === 0);
    assert.match(await refusal(s.conn, { job_ids: [a], cancel: true }), /cancel goes with landing_id/);
    assert.equal((await s.conn.call('codex_land', { landing_id: r.landing_id, cancel: true })).status, 'cancelled', 'cancelling an ended landing says how it ended');
  });

  it('group_id lands the attempts best-ranked first; gc removes a landed worktree that still holds what landed, and keeps the record', async () => {
    const repo = gitRepo({ 'f.txt': F_TXT });
    const started = await s.conn.call('codex_start', { prompt: shell("printf 'ONE\\ntwo\\nthree\\n' > f.txt", 'upper'), cwd: repo, attempts: 2, ...WRITE });
    await finished(s.conn, started.job_ids);
    const group = await s.conn.call('codex_wait', { group_id: started.group_id, timeout_seconds: 60 });
    const r = await s.conn.call('codex_land', { group_id: started.group_id, timeout_seconds: 120 });
    assert.deepEqual(r.landed, [group.group.best_job_id], 'the best attempt lands');
    assert.deepEqual(r.set_aside.map((x: any) => x.reason), ['no_changes'], 'the other made the same change: nothing left to land');
    const gc = await cliIn(s.h.env(), ['gc', '--json']);
    assert.equal(gc.code, 0, gc.stderr);
    assert.ok(JSON.parse(gc.stdout).landed_worktrees_removed.includes(r.landed[0]));
    const shown = await s.conn.call('codex_poll', { job_id: r.landed[0] });
    assert.equal(shown.workspace.state, 'discarded');
    assert.equal(fs.existsSync(shown.workspace.path), false);
    const other = started.job_ids.find((id: string) => id !== r.landed[0]);
    assert.equal((await s.conn.call('codex_poll', { job_id: other })).workspace.state, 'ready', 'the attempt that did not land keeps its worktree');
  });

  it('the command line: land --dry-run, then land --check, exit 1 when a job is set aside', async () => {
    const repo = gitRepo({ 'f.txt': F_TXT });
    const [c, d] = [await job(s.conn, repo, "printf 'ONE-C\\ntwo\\nthree\\n' > f.txt", 'C'), await job(s.conn, repo, "printf 'ONE-D\\ntwo\\nthree\\n' > f.txt", 'D')];
    await finished(s.conn, [c, d]);
    const dry = await cliIn(s.h.env(), ['land', c, d, '--dry-run']);
    assert.equal(dry.code, 1, `a dry run where a job would be set aside exits 1 too: ${dry.stdout}${dry.stderr}`);
    assert.match(dry.stdout, new RegExp(`conflict ${c} × ${d}: f\\.txt`));
    const ran = await cliIn(s.h.env(), ['land', c.slice(0, 6), d, '--check', 'true']);
    assert.equal(ran.code, 1, `${ran.stdout}${ran.stderr}`);
    assert.match(ran.stdout, new RegExp(`set aside ${d} \\(conflict\\)`));
    assert.match(ran.stderr, new RegExp(`merging job ${d} \\(2/2\\)`), 'where it is, as it goes');
    assert.equal(fs.readFileSync(path.join(repo, 'f.txt'), 'utf8'), 'ONE-C\ntwo\nthree\n');
  });

  it('into "branch": one commit per landed job, authored by its agent, the checkout and HEAD untouched; a second landing adds to the branch', async () => {
    const repo = gitRepo({ 'f.txt': F_TXT });
    fs.writeFileSync(path.join(repo, 'mine.txt'), 'work in progress\n');
    const [x, y] = [await job(s.conn, repo, "printf 'x\\n' > x.txt", 'add x.txt'), await job(s.conn, repo, "printf 'y\\n' > y.txt", 'add y.txt')];
    await finished(s.conn, [x, y]);
    const before = checkoutState(repo);
    const r = await s.conn.call('codex_land', { job_ids: [x], into: 'branch', branch: 'feature/xy', timeout_seconds: 120 });
    assert.equal(r.status, 'done', r.message);
    assert.equal(r.branch, 'feature/xy');
    assert.equal(checkoutState(repo), before, 'the checkout, its index and HEAD are as they were');
    // Names git would take but cannot make, or would read as another branch, are refused before anything runs.
    assert.match(await refusal(s.conn, { job_ids: [y], branch: 'codex' }), /branch codex cannot be made: .*codex\//);
    assert.match(await refusal(s.conn, { job_ids: [y], branch: '@{-1}' }), /not a valid branch name/);
    assert.match(await refusal(s.conn, { job_ids: [y], branch: 'main' }), /branch main is checked out at/);
    const second = await s.conn.call('codex_land', { job_ids: [y], branch: 'feature/xy', timeout_seconds: 120 });
    assert.equal(second.status, 'done', second.message);
    const log = git(repo, 'log', '--format=%an|%s', 'main..feature/xy').trim().split('\n');
    assert.deepEqual(log, ['Codex CLI|add y.txt', 'Codex CLI|add x.txt']);
    assert.equal(git(repo, 'rev-parse', 'feature/xy~2'), git(repo, 'rev-parse', 'main'), 'the branch starts at HEAD, without the uncommitted mine.txt');
    assert.deepEqual(git(repo, 'ls-tree', '--name-only', 'feature/xy').trim().split('\n').sort(), ['f.txt', 'x.txt', 'y.txt']);
    assert.match(git(repo, 'log', '-1', '--format=%B', 'feature/xy'), new RegExp(`Codex-Async-Job: ${y}`));
    assert.equal(checkoutState(repo), before);
  });

  it('resolve: the job set aside continues its thread in a new worktree that holds what landed, told which file conflicts', async () => {
    const repo = gitRepo({ 'f.txt': F_TXT });
    const [c, d] = [await job(s.conn, repo, "printf 'ONE-C\\ntwo\\nthree\\n' > f.txt", 'C'), await job(s.conn, repo, "printf 'ONE-D\\ntwo\\nthree\\n' > f.txt", 'D')];
    await finished(s.conn, [c, d]);
    const r = await s.conn.call('codex_land', { job_ids: [c, d], resolve: true, timeout_seconds: 120 });
    assert.deepEqual(r.landed, [c]);
    assert.equal(r.resolving.length, 1);
    assert.equal(r.resolving[0].job_id, d);
    const cont = r.resolving[0].continuation_job_id;
    const done = await waitFinal(s.conn, cont);
    assert.equal(done.parent_job_id, d);
    assert.match(done.prompt, /conflicts[^\n]*f\.txt/);
    assert.match(done.prompt, /-one\n\+ONE-D/, 'it is given its own earlier diff');
    assert.notEqual(done.workspace.path, (await s.conn.call('codex_poll', { job_id: d })).workspace.path, 'a new worktree');
    assert.equal(fs.readFileSync(path.join(done.workspace.path, 'f.txt'), 'utf8'), 'ONE-C\ntwo\nthree\n', 'which already holds the landed change');
  });

  it('dry_run names the pairs that conflict and those that conflict with the checkout, and changes nothing', async () => {
    const repo = gitRepo({ 'f.txt': F_TXT, 'g.txt': 'g\n' });
    const { a, b, c, d } = await fourJobs(s.conn, repo);
    const e = await job(s.conn, repo, "printf 'G-E\\n' > g.txt", 'g.txt');
    await finished(s.conn, [e]);
    fs.writeFileSync(path.join(repo, 'g.txt'), 'mine\n');
    const before = checkoutState(repo);
    const landings = () => (fs.existsSync(path.join(s.h.home, 'landings')) ? fs.readdirSync(path.join(s.h.home, 'landings')).length : 0);
    const recorded = landings();
    const r = await s.conn.call('codex_land', { job_ids: [a, b, c, d, e], dry_run: true });
    assert.equal(r.dry_run, true);
    assert.equal(r.landing_id, null);
    assert.deepEqual(r.conflicts, [{ a: c, b: d, files: ['f.txt'] }]);
    assert.deepEqual(r.with_checkout.map((w: any) => [w.job_id, w.files]), [[e, ['g.txt']]]);
    assert.deepEqual(r.landed, [a, b, c]);
    assert.equal(checkoutState(repo), before);
    assert.equal(landings(), recorded, 'a dry run records nothing');
  });

  it("your uncommitted changes to a file a job changed: refused, the checkout untouched", async () => {
    const repo = gitRepo({ 'f.txt': F_TXT, 'other.txt': 'o\n' });
    const c = await job(s.conn, repo, "printf 'ONE-C\\ntwo\\nthree\\n' > f.txt", 'C');
    await finished(s.conn, [c]);
    fs.writeFileSync(path.join(repo, 'f.txt'), 'one\ntwo\nthree\nfour\n');
    fs.writeFileSync(path.join(repo, 'other.txt'), 'mine\n');
    const before = checkoutState(repo);
    const text = await refusal(s.conn, { job_ids: [c] });
    assert.match(text, /uncommitted/);
    assert.match(text, /f\.txt/);
    assert.doesNotMatch(text, /other\.txt/);
    assert.equal(checkoutState(repo), before);
  });

  it('bad input: an unknown job, one without a worktree, one still running, an empty list, an unknown parameter, branch with into checkout', async () => {
    const repo = gitRepo({ 'f.txt': F_TXT });
    const plain = await s.conn.call('codex_start', { prompt: 'hello', cwd: repo });
    await waitFinal(s.conn, plain.job_id);
    const hung = await s.conn.call('codex_start', { prompt: '[[hang]] forever', cwd: repo, ...WRITE });
    try {
      assert.match(await refusal(s.conn, { job_ids: ['0123456789ab'] }), /0123456789ab/);
      assert.match(await refusal(s.conn, { job_ids: [plain.job_id] }), /isolation "worktree"/);
      assert.match(await refusal(s.conn, { job_ids: [hung.job_id] }), /still (queued|running).*wait/);
      assert.match(await refusal(s.conn, { job_ids: [] }), /give job_ids/);
      assert.match(await refusal(s.conn, { job_id: plain.job_id }), /unknown parameter "job_id": did you mean "job_ids"\?/);
      assert.match(await refusal(s.conn, { job_ids: [plain.job_id], into: 'checkout', branch: 'x' }), /branch goes with into "branch"/);
      assert.match(await refusal(s.conn, { landing_id: 'ffffffffffff' }), /no landing/);
    } finally {
      await s.conn.call('codex_cancel', { job_id: hung.job_id });
    }
  });

  it('the server SIGKILLed during a landing: the landing goes on in its own process, and the checkout ends fully landed', async () => {
    const repo = gitRepo({ 'f.txt': F_TXT });
    const [a, c] = [await job(s.conn, repo, "printf 'from A\\n' > a.txt", 'A'), await job(s.conn, repo, "printf 'ONE-C\\ntwo\\nthree\\n' > f.txt", 'C')];
    await finished(s.conn, [a, c]);
    const doomed = await s.h.connect();
    const r = await doomed.call('codex_land', { job_ids: [a, c], check_command: 'sleep 1', timeout_seconds: 0 });
    assert.equal(r.status, 'running');
    killQuietly(doomed.pid);
    await until('the server to be gone', () => !isLivePid(doomed.pid));
    const after = await s.conn.call('codex_land', { landing_id: r.landing_id, timeout_seconds: 120 });
    assert.equal(after.status, 'done', after.message);
    assert.deepEqual(after.landed, [a, c]);
    assert.equal(git(repo, 'status', '--porcelain'), ' M f.txt\n?? a.txt\n');
  });
});

describe('codex_land: its process killed while it writes the checkout', () => {
  const s = useServer({ CODEX_ASYNC_TEST_PAUSE: 'land-delivering' });

  it('half written (one file landed, the other not): the next reader finishes it from the journal, fully landed; gc later removes its record', async () => {
    const repo = gitRepo({ 'f.txt': F_TXT, 'g.txt': 'g\n' });
    const [x, y] = [await job(s.conn, repo, "printf 'ONE-X\\ntwo\\nthree\\n' > f.txt", 'X'), await job(s.conn, repo, "printf 'G-Y\\n' > g.txt", 'Y')];
    await finished(s.conn, [x, y]);
    const r = await s.conn.call('codex_land', { job_ids: [x, y], timeout_seconds: 0 });
    const stopped = await until('the landing to stop itself at its delivery', () => {
      const l = readLanding(s.h.home, r.landing_id);
      return l.phase === 'delivering' && l.owner ? l : null;
    });
    assert.deepEqual([...stopped.delivery.paths].sort(), ['f.txt', 'g.txt']);
    // What a death in the middle of git's writes leaves: one file new, the other old.
    fs.writeFileSync(path.join(repo, 'f.txt'), 'ONE-X\ntwo\nthree\n');
    assert.equal(git(repo, 'status', '--porcelain'), ' M f.txt\n');
    const owner = Number(stopped.owner.split(' ')[0]);
    killQuietly(owner);
    await until('the landing process to be gone', () => !isLivePid(owner));

    // A reader that died while finishing it left its lock: a dead holder's lock is taken over.
    fs.writeFileSync(path.join(path.dirname(landingFile(s.h.home, r.landing_id)), 'recover.lock'), `${owner} 1`);
    const later = await s.h.connect();
    try {
      const done = await later.call('codex_land', { landing_id: r.landing_id, timeout_seconds: 30 });
      assert.equal(done.status, 'done', done.message);
      assert.match(done.message, /journal/);
      assert.equal(fs.readFileSync(path.join(repo, 'f.txt'), 'utf8'), 'ONE-X\ntwo\nthree\n');
      assert.equal(fs.readFileSync(path.join(repo, 'g.txt'), 'utf8'), 'G-Y\n');
      assert.equal(git(repo, 'status', '--porcelain'), ' M f.txt\n M g.txt\n');
      assert.ok((await later.call('codex_poll', { job_id: y })).workspace.landed, 'the jobs are recorded as landed');
      // gc takes a landing's record with the jobs of its age.
      const gc = await cliIn(s.h.env(), ['gc', '--older-than', '0s']);
      assert.equal(gc.code, 0, gc.stderr);
      assert.equal(fs.existsSync(path.dirname(landingFile(s.h.home, r.landing_id))), false, "the landing's record is gone");
    } finally {
      await later.close();
    }
  });
});
