import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { worktreePaths } from './helpers/git.ts';
import { cliIn, runProcess, SERVER_MAIN, tempDir, useHarness } from './helpers/harness.ts';

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' });

/** A git repository with one commit: a.txt holding "one". */
function gitRepo(dir: string): string {
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.name', 'Test');
  git(dir, 'config', 'user.email', 'test@example.com');
  fs.writeFileSync(path.join(dir, 'a.txt'), 'one\n');
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'init');
  return dir;
}

const EDIT = "[[shell:printf 'hello\\n' > a.txt]] edit a.txt";

describe('the command line reviews a job\'s worktree', () => {
  const s = useHarness();
  const cli = (args: string[], extra: Record<string, string> = {}) => cliIn(s.h.env(extra), args);

  it('runs a job in a worktree, shows its diff and stat, applies it once, and discards it without a trace', async () => {
    const repo = gitRepo(s.h.workdir());
    const ran = await cli(['run', EDIT, '--cwd', repo, '--isolation', 'worktree', '--sandbox', 'workspace-write', '--wait', '--json']);
    assert.equal(ran.code, 0, ran.stderr);
    const job = JSON.parse(ran.stdout);
    const id: string = job.job_id;
    assert.equal(job.workspace.kind, 'worktree');
    assert.equal(fs.readFileSync(path.join(repo, 'a.txt'), 'utf8'), 'one\n', 'the job wrote its worktree, not the checkout');

    const stat = await cli(['diff', id, '--stat']);
    assert.equal(stat.code, 0, stat.stderr);
    assert.match(stat.stdout, /^ a\.txt \| 2 \+-$/m);
    assert.match(stat.stdout, /^ 1 file changed, 1 insertion\(\+\), 1 deletion\(-\)$/m);

    const diff = await cli(['diff', id]);
    assert.equal(diff.code, 0, diff.stderr);
    assert.match(diff.stdout, /^diff --git a\/a\.txt b\/a\.txt$/m);
    assert.match(diff.stdout, /^-one\n\+hello$/m);
    assert.doesNotMatch(diff.stdout, /\x1b\[/, 'a plain patch when piped');
    const clone = path.join(tempDir('clone'), 'c');
    git(path.dirname(clone), 'clone', '-q', repo, clone);
    fs.writeFileSync(path.join(clone, '..', 'job.patch'), diff.stdout);
    git(clone, 'apply', '--check', path.join(clone, '..', 'job.patch'));

    const listed = (await cli(['ls'])).stdout.split('\n');
    assert.match(listed[0]!, /^ID\s+AGENT\s+STATUS\s+AGE\s+RAN\s+CHANGES\s+CWD\s+LABEL\s+PROMPT$/);
    assert.match(listed.find((l) => l.startsWith(id))!, new RegExp(`^${id}\\s+codex\\s+completed\\s+.*\\+1 -1\\s`));

    const shown = (await cli(['show', id])).stdout;
    assert.match(shown, new RegExp(`^worktree\\s+\\S+${id}$`, 'm'));
    assert.match(shown, new RegExp(`^branch\\s+codex/${id}, base [0-9a-f]{12}, from `, 'm'));
    assert.match(shown, /^changes\s+\+1 -1 in 1 file$/m);
    // A shell command wrote the file, which the agent's own count misses: git's count is the one shown.
    assert.match(shown, /^progress\s+1 command, 1 file changed, /m);

    // The same file changed and not committed in the checkout: refused, dry or not, nothing touched.
    fs.writeFileSync(path.join(repo, 'a.txt'), 'hello\n');
    for (const args of [['--dry-run'], []]) {
      const refused = await cli(['apply', id, ...args]);
      assert.equal(refused.code, 1, refused.stdout);
      assert.match(refused.stdout + refused.stderr, /uncommitted changes to a file the job also changed: a\.txt/);
    }
    git(repo, 'checkout', 'a.txt');

    const dry = await cli(['apply', id, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /would apply 1 file\(s\)/);
    assert.match(dry.stdout, /^\s+modified\s+a\.txt\s+\+1 -1$/m);
    assert.equal(fs.readFileSync(path.join(repo, 'a.txt'), 'utf8'), 'one\n', 'a dry run changes nothing');
    assert.equal(git(repo, 'status', '--porcelain'), '');

    const applied = await cli(['apply', id]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /applied 1 file\(s\)/);
    assert.equal(fs.readFileSync(path.join(repo, 'a.txt'), 'utf8'), 'hello\n');
    assert.match((await cli(['ls'])).stdout, new RegExp(`^${id}\\s+codex\\s+completed\\s+.*\\sapplied\\s`, 'm'));

    const again = await cli(['apply', id]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already applied/);

    const discarded = await cli(['discard', id]);
    assert.equal(discarded.code, 0, discarded.stderr);
    assert.match(discarded.stdout, new RegExp(`removed worktree .* and branch codex/${id}`));
    assert.equal(git(repo, 'worktree', 'list', '--porcelain').match(/^worktree /gm)?.length, 1, 'only the main worktree is left');
    assert.equal(git(repo, 'branch', '--list', 'codex/*'), '');
    assert.match((await cli(['ls'])).stdout, new RegExp(`^${id}\\s+codex\\s+completed\\s+.*\\sdiscarded\\s`, 'm'));
    const gone = await cli(['diff', id]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /was discarded/);
  });

  it('apply of a job that only added a file names it as new and untracked, which git diff does not show', async () => {
    const repo = gitRepo(s.h.workdir());
    const ran = await cli(['run', "[[shell:printf 'new\\n' > b.txt]] add b.txt", '--cwd', repo, '--isolation', 'worktree', '--sandbox', 'workspace-write', '--wait', '--json']);
    assert.equal(ran.code, 0, ran.stderr);
    const applied = await cli(['apply', JSON.parse(ran.stdout).job_id]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /applied 1 file\(s\) to .* as uncommitted changes: new file \(untracked, so git diff does not show it; git status lists it\): b\.txt/);
    assert.doesNotMatch(applied.stdout, /review them with git diff/);
    assert.equal(git(repo, 'diff'), '', 'git diff indeed shows nothing');
    assert.equal(git(repo, 'status', '--porcelain'), '?? b.txt\n');
  });

  it('a group whose every attempt failed its check says none passed; discard --group removes every attempt\'s worktree; read-only worktrees are warned about', async () => {
    const repo = gitRepo(s.h.workdir());
    const ran = await cli(['run', '[[shell:basename "$PWD" > a.txt]] rewrite', '--cwd', repo, '--attempts', '2', '--check', 'false', '--sandbox', 'workspace-write', '--wait']);
    assert.equal(ran.code, 1, 'no attempt to recommend');
    assert.doesNotMatch(ran.stderr, /warning:/, 'workspace-write attempts can change their worktrees');
    const head = /^group ([0-9a-f]{12}): 2 of 2 attempts finished; none passed its check$/.exec(ran.stdout.split('\n')[0]!);
    assert.ok(head, ran.stdout);
    assert.equal(worktreePaths(repo).length, 3);

    const discarded = await cli(['discard', '--group', head[1]!]);
    assert.equal(discarded.code, 0, discarded.stderr);
    assert.equal(discarded.stdout.match(/^job [0-9a-f]{12}: removed worktree .* and branch codex\/[0-9a-f]{12}$/gm)?.length, 2, discarded.stdout);
    assert.deepEqual(worktreePaths(repo), [fs.realpathSync(repo)]);
    assert.equal(git(repo, 'branch', '--list', 'codex/*'), '');
    assert.equal((await cli(['discard', 'abcd', '--group', head[1]!])).code, 2, 'an id or --group, not both');
    const none = await cli(['discard']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /give one job id, or --group with a group id/, 'discard takes one id, not "at least one"');

    for (const args of [['--attempts', '2'], ['--isolation', 'worktree']]) {
      const started = await cli(['run', '[[hang]] read only', '--cwd', repo, ...args]);
      assert.equal(started.code, 0, started.stderr);
      assert.match(started.stderr, /^warning: the job is read-only, yet (its 2 attempts run|it runs) in a worktree .*nothing to apply/m);
      // Piped, a group prints its id first, then its attempts'.
      const ids = started.stdout.trim().split('\n');
      await cli(['cancel', ...(ids.length > 1 ? ids.slice(1) : ids)]);
    }
  });

  it("a warning naming the user's checkout is shown, not obeyed: gc keeps a branch committed on, in a checkout whose name holds escapes", async () => {
    const repo = path.join(s.h.workdir(), 'repo\x1b]0;title\x07\x1b[2J');
    fs.mkdirSync(repo);
    gitRepo(repo);
    // A home of its own: gc here collects this job alone, not the other tests'.
    const home = { CODEX_ASYNC_HOME: path.join(tempDir('gc-home'), 'state') };
    const ran = await cli(['run', 'plain answer', '--cwd', repo, '--isolation', 'worktree', '--sandbox', 'workspace-write', '--wait', '--json'], home);
    assert.equal(ran.code, 0, ran.stderr);
    const job = JSON.parse(ran.stdout);
    git(job.workspace.path, 'commit', '-q', '--allow-empty', '-m', 'mine, after the job');
    const gc = await cli(['gc', '--older-than', '0'], home);
    assert.equal(gc.code, 0, gc.stderr);
    assert.match(gc.stderr, /^codex-async-mcp: warn: kept branch codex\/[0-9a-f]{12} in \S*repo␛\]0;title␇␛\[2J: it has commits/m);
    assert.doesNotMatch(gc.stderr, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/, 'no control character reaches the terminal');
    assert.match(git(repo, 'branch', '--list', 'codex/*'), /codex\//, 'the branch committed on is kept');
  });

  it('a group whose every attempt was cancelled exits 3 from wait --group, as a cancelled job does', async () => {
    const repo = gitRepo(s.h.workdir());
    const started = await cli(['run', '[[hang]] forever', '--cwd', repo, '--attempts', '2', '--sandbox', 'workspace-write']);
    assert.equal(started.code, 0, started.stderr);
    const group = started.stdout.trim().split('\n')[0]!;
    assert.equal((await cli(['cancel', '--group', group])).code, 0);
    const waited = await cli(['wait', '--group', group]);
    assert.match(waited.stdout, /^group [0-9a-f]{12}: 2 of 2 attempts finished; none completed$/m);
    assert.equal(waited.code, 3, waited.stdout + waited.stderr);
  });

  it('refuses a worktree outside a git repository, saying so', async () => {
    const r = await cli(['run', 'anything', '--cwd', s.h.workdir(), '--isolation', 'worktree']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is not inside a git repository.*isolation "worktree"/);
    const bad = await cli(['run', 'anything', '--isolation', 'container']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Allowed choices are none, worktree/);
  });

  it('runs attempts as a group, ranks them with their checks, and lists conflicts of the second apply per file', async () => {
    const repo = gitRepo(s.h.workdir());
    // Each attempt writes its own worktree's name (its job id) over the same line.
    const ran = await cli(['run', '[[shell:basename "$PWD" > a.txt]] rewrite', '--cwd', repo, '--attempts', '2', '--check', 'test -s a.txt', '--sandbox', 'workspace-write', '--wait']);
    assert.equal(ran.code, 0, ran.stderr);
    const [head, header, ...rows] = ran.stdout.split('\n');
    const best = /^group ([0-9a-f]{12}): 2 of 2 attempts finished; best ([0-9a-f]{12}) \(check passed, \+1 -1 in 1 file\)$/.exec(head!);
    assert.ok(best, ran.stdout);
    assert.match(header!, /^#\s+ID\s+STATUS\s+CHECK\s+CHANGES\s+FILES$/);
    assert.match(rows[0]!, new RegExp(`^★\\s+${best[2]}\\s+completed\\s+passed\\s+\\+1 -1\\s+1$`));
    assert.match(rows[1]!, /^2\s+[0-9a-f]{12}\s+completed\s+passed\s+\+1 -1\s+1$/);
    const other = /^2\s+([0-9a-f]{12})/.exec(rows[1]!)![1]!;

    const waited = await cli(['wait', '--group', best[1]!, '--json']);
    assert.equal(waited.code, 0, waited.stderr);
    assert.equal(JSON.parse(waited.stdout).best_job_id, best[2]);

    assert.equal((await cli(['apply', best[2]!])).code, 0);
    assert.equal(fs.readFileSync(path.join(repo, 'a.txt'), 'utf8'), `${best[2]}\n`);
    // Both attempts rewrote the same line differently: the second cannot come in as well.
    const dry = await cli(['apply', other, '--dry-run']);
    assert.equal(dry.code, 1, dry.stdout);
    assert.match(dry.stdout, /conflicts:\n\s+a\.txt\s+\S/);
    const real = await cli(['apply', other]);
    assert.equal(real.code, 1);
    assert.match(real.stdout, /conflicts:\n\s+a\.txt\s+\S/);
    assert.equal(fs.readFileSync(path.join(repo, 'a.txt'), 'utf8'), `${best[2]}\n`, 'the tree is as the first apply left it');

    const cancelled = await cli(['cancel', '--group', best[1]!]);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.match(cancelled.stdout, /2 of 2 attempts finished/);
    assert.equal((await cli(['wait', best[2]!, '--group', best[1]!])).code, 2, 'ids or --group, not both');
  });

  it('on a terminal, colours the diff and shows it through GIT_PAGER', async () => {
    const repo = gitRepo(s.h.workdir());
    const ran = await cli(['run', EDIT, '--cwd', repo, '--isolation', 'worktree', '--sandbox', 'workspace-write', '--wait', '--json']);
    const id: string = JSON.parse(ran.stdout).job_id;
    const paged = path.join(tempDir('pager'), 'paged.txt');
    // script(1) gives the command a terminal; the pager writes what it was given to a file.
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(SERVER_MAIN)} diff ${id}`;
    const r = await runProcess('script', ['-qec', command, '/dev/null'], s.h.env({ GIT_PAGER: `cat > ${paged}`, TERM: 'xterm' }));
    assert.equal(r.code, 0, r.stdout);
    const text = fs.readFileSync(paged, 'utf8');
    assert.match(text, /\x1b\[32m\+hello\x1b\[39m/, 'added lines green');
    assert.match(text, /\x1b\[31m-one\x1b\[39m/, 'removed lines red');
    assert.match(text, /\x1b\[36m@@ [^\n]*\x1b\[39m/, 'hunk headers cyan');
    assert.match(text, /\x1b\[1mdiff --git a\/a\.txt b\/a\.txt\x1b\[22m/, 'file headers bold');
    // A pager that cannot start: the diff is printed directly.
    const direct = await runProcess('script', ['-qec', command, '/dev/null'], s.h.env({ GIT_PAGER: 'no-such-pager-here', TERM: 'xterm' }));
    assert.equal(direct.code, 0, direct.stdout);
    assert.match(direct.stdout, /\+hello/);
  });
});
