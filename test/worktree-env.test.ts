import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { bringIn, includePatterns, SMALL_DIR } from '../src/workspace/include.ts';
import { createWorktree } from '../src/workspace/worktree.ts';
import { cloningFsMissing, onCloningFs } from './helpers/cowfs.ts';
import { checkoutState, git, gitRepo } from './helpers/git.ts';
import { cliIn, tempDir, until, useServer, waitFinal, type Connection } from './helpers/harness.ts';

/** A prompt that makes the real codex run `cmd` (see the mock's [[shell:…]] marker). */
const shell = (cmd: string, what = '') => `[[shell:${cmd}]] ${what}`;

const WRITE = { sandbox: 'workspace-write', isolation: 'worktree' } as const;

/**
 * A JavaScript project as real ones are: node_modules and .env ignored, so a plain worktree has
 * neither. Its node_modules holds `dep` and enough files to be past SMALL_DIR (so it is linked on a
 * file system without clones, as this machine's ext4), and a package.json whose script the setup runs.
 */
function jsProject(extra: Record<string, string> = {}): string {
  const repo = gitRepo({
    '.gitignore': 'node_modules/\n.env\ngenerated.txt\n',
    'package.json': JSON.stringify({ name: 'app', version: '1.0.0', scripts: { 'make-generated': "node -e \"require('fs').writeFileSync('generated.txt', 'made by setup\\n')\"" } }),
    'index.js': "module.exports = require('dep');\n",
    ...extra,
  });
  const dep = path.join(repo, 'node_modules', 'dep');
  fs.mkdirSync(path.join(dep, 'lib'), { recursive: true });
  fs.writeFileSync(path.join(dep, 'package.json'), '{"name":"dep","version":"1.0.0","main":"index.js"}');
  fs.writeFileSync(path.join(dep, 'index.js'), "module.exports = 'dep-" + "ok';\n");
  for (let i = 0; i <= SMALL_DIR.files; i++) fs.writeFileSync(path.join(dep, 'lib', `f${i}.js`), `module.exports = ${i};\n`);
  fs.writeFileSync(path.join(repo, '.env'), 'SECRET=from-dotenv\n');
  return repo;
}

/** The check every attempt must pass: dep resolves, .env is there, the setup's output is there. */
const CHECK = `node -e "require('dep'); process.exit(0)" && grep -q SECRET=from-dotenv .env && grep -q 'made by setup' generated.txt && echo env-ok`;

async function final(conn: Connection, id: string): Promise<any> {
  return waitFinal(conn, id);
}

describe('bringing ignored files into a worktree (workspace/include.ts)', () => {
  it('copies files and small directories, links a large directory for a sandboxed job, copies it without a sandbox; links inside the checkout are redirected', async () => {
    const repo = jsProject({ '.worktreeinclude': '# what the worktree needs\nnode_modules\n.env\nsmall/\n' });
    fs.mkdirSync(path.join(repo, 'small'), { recursive: true });
    fs.writeFileSync(path.join(repo, '.gitignore'), 'node_modules/\n.env\ngenerated.txt\nsmall/\nnot-listed.txt\n');
    fs.writeFileSync(path.join(repo, 'small', 'a.txt'), 'a\n');
    fs.symlinkSync(path.join(repo, 'index.js'), path.join(repo, 'small', 'abs-link'));
    fs.writeFileSync(path.join(repo, 'not-listed.txt'), 'stays out\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'include');
    const base = git(repo, 'rev-parse', 'HEAD').trim();
    for (const share of [true, false]) {
      const worktree = path.join(tempDir('wt'), 'w');
      await createWorktree({ repo, path: worktree, branch: `codex/t-${share}` }, base);
      const brought = await bringIn({ repo, worktree, patterns: includePatterns(repo), share });
      const how = Object.fromEntries(brought.entries.map((e) => [e.path, e.how]));
      assert.deepEqual(how, { '.env': 'copied', node_modules: share ? 'linked' : 'copied', small: 'copied' });
      assert.equal(brought.files, brought.entries.reduce((n, e) => n + (e.files ?? 0), 0));
      const nm = brought.entries.find((e) => e.path === 'node_modules')!;
      // A link is the checkout's own directory: not counted; a copy counts every file (dep's package.json, index.js and lib/).
      assert.deepEqual([nm.files, nm.bytes === null], share ? [null, true] : [SMALL_DIR.files + 3, false]);
      assert.deepEqual(brought.entries.find((e) => e.path === '.env'), { path: '.env', how: 'copied', files: 1, bytes: 19 });
      assert.deepEqual(brought.entries.find((e) => e.path === 'small'), { path: 'small', how: 'copied', files: 2, bytes: 2 });
      assert.equal(fs.readFileSync(path.join(worktree, '.env'), 'utf8'), 'SECRET=from-dotenv\n');
      assert.equal(fs.lstatSync(path.join(worktree, 'node_modules')).isSymbolicLink(), share);
      assert.equal(fs.readFileSync(path.join(worktree, 'node_modules/dep/index.js'), 'utf8'), "module.exports = 'dep-ok';\n");
      assert.equal(fs.readlinkSync(path.join(worktree, 'small', 'abs-link')), path.join(worktree, 'index.js'), 'a link into the checkout leads into the worktree instead');
      assert.equal(fs.existsSync(path.join(worktree, 'not-listed.txt')), false, 'only what .worktreeinclude names comes over');
    }
  });

  it('on a file system that clones (XFS with reflink), a large directory is cloned, for a sandboxed job too: private and writable', { skip: cloningFsMissing() }, async () => {
    await onCloningFs(async (dir) => {
      const repo = path.join(dir, 'repo');
      fs.cpSync(jsProject(), repo, { recursive: true, verbatimSymlinks: true });
      fs.symlinkSync(path.join(repo, 'index.js'), path.join(repo, 'node_modules', 'abs-link'));
      const worktree = path.join(dir, 'worktrees', 'w');
      await createWorktree({ repo, path: worktree, branch: 'codex/t-clone' }, git(repo, 'rev-parse', 'HEAD').trim());
      const brought = await bringIn({ repo, worktree, patterns: ['node_modules'], share: true });
      // bytes null: cloned by cp, whose blocks stay the checkout's until written.
      assert.deepEqual(brought.entries, [{ path: 'node_modules', how: 'cloned', files: SMALL_DIR.files + 4, bytes: null }]);
      assert.equal(fs.readlinkSync(path.join(worktree, 'node_modules', 'abs-link')), path.join(worktree, 'index.js'), 'a link into the checkout leads into the worktree');
      const file = path.join(worktree, 'node_modules/dep/index.js');
      assert.equal(fs.lstatSync(path.join(worktree, 'node_modules')).isDirectory(), true);
      fs.appendFileSync(file, '// the job\'s own\n');
      assert.equal(fs.readFileSync(path.join(repo, 'node_modules/dep/index.js'), 'utf8'), "module.exports = 'dep-ok';\n", "the checkout's file is not the clone's");
    });
  });

  it('skips a virtualenv; copies a large directory whose links lead out of it (workspace packages), and keeps every copied link working', async () => {
    const repo = jsProject({ '.gitignore': 'node_modules/\n.env\ngenerated.txt\n.venv/\n', 'packages/local/index.js': "module.exports = 'worktree copy';\n" });
    fs.mkdirSync(path.join(repo, '.venv', 'bin'), { recursive: true });
    fs.writeFileSync(path.join(repo, '.venv', 'pyvenv.cfg'), 'home = /usr/bin\n');
    // A workspace package, as npm links it, and a link out of the repository (npm link).
    fs.symlinkSync('../packages/local', path.join(repo, 'node_modules', 'local'));
    const outside = tempDir('linked-elsewhere');
    fs.symlinkSync(path.relative(path.join(repo, 'node_modules'), outside), path.join(repo, 'node_modules', 'elsewhere'));
    const worktree = path.join(tempDir('wt'), 'w');
    await createWorktree({ repo, path: worktree, branch: 'codex/t-venv' }, git(repo, 'rev-parse', 'HEAD').trim());
    const brought = await bringIn({ repo, worktree, patterns: ['node_modules', '.venv'], share: true });
    const how = Object.fromEntries(brought.entries.map((e) => [e.path, e.how]));
    assert.deepEqual(how, { '.venv': 'skipped', node_modules: 'copied' });
    assert.equal(fs.existsSync(path.join(worktree, '.venv')), false);
    assert.equal(fs.realpathSync(path.join(worktree, 'node_modules', 'local')), path.join(fs.realpathSync(worktree), 'packages', 'local'), "the job's own package, not the checkout's");
    assert.equal(fs.realpathSync(path.join(worktree, 'node_modules', 'elsewhere')), fs.realpathSync(outside), 'a link out of the repository still leads where it did');
  });

  it('does not link a directory the job is given to write (its root would be the checkout), and refuses patterns that reach outside', async () => {
    const repo = jsProject();
    const worktree = path.join(tempDir('wt'), 'w');
    await createWorktree({ repo, path: worktree, branch: 'codex/t-writable' }, git(repo, 'rev-parse', 'HEAD').trim());
    const brought = await bringIn({ repo, worktree, patterns: ['node_modules'], share: true, writable: ['', 'node_modules/dep'] });
    assert.equal(brought.entries[0]!.how, 'copied');
    assert.throws(() => includePatterns(repo, ['../secrets']), /reaches outside the repository/);
    fs.writeFileSync(path.join(repo, '.worktreeinclude'), 'node_modules\n../../etc/passwd\n');
    assert.throws(() => includePatterns(repo), /\.worktreeinclude: "\.\.\/\.\.\/etc\/passwd" reaches outside the repository/);
  });
});

describe("a job's worktree as a working environment", () => {
  const s = useServer();

  it('best-of-N on a repository with ignored dependencies and .env: the setup runs, every check passes, the agent can require its dependency', async () => {
    const repo = jsProject({ '.worktreeinclude': 'node_modules\n.env\n', '.codex-async.toml': '[worktree]\nsetup = "npm run --silent make-generated && echo setup-done"\n' });
    const before = checkoutState(repo);
    const started = await s.conn.call('codex_start', {
      prompt: shell(`node -e "console.log(require('dep'))"`, 'use dep'),
      cwd: repo,
      sandbox: 'workspace-write',
      attempts: 2,
      check_command: CHECK,
    });
    let waited: any;
    do waited = await s.conn.call('codex_wait', { group_id: started.group_id, timeout_seconds: 30 });
    while (waited.timed_out);
    for (const a of waited.group.attempts) assert.equal(a.check?.passed, true, `attempt ${a.job_id}: ${JSON.stringify(a.check)}`);
    for (const id of started.job_ids) {
      const job = await s.conn.call('codex_poll', { job_id: id });
      assert.equal(job.status, 'completed', JSON.stringify(job.error));
      assert.match(job.last_message, /dep-ok/, "the agent's own command required dep");
      assert.equal(job.workspace.setup.passed, true);
      assert.equal(job.workspace.setup.command, 'npm run --silent make-generated && echo setup-done');
      assert.match(job.workspace.setup.output_tail, /setup-done/);
      assert.equal(typeof job.workspace.setup.duration_ms, 'number');
      const how = Object.fromEntries(job.workspace.brought_in.entries.map((e: any) => [e.path, e.how]));
      assert.deepEqual(how, { '.env': 'copied', node_modules: 'linked' });
      // What was linked is not the job's change: the diff stays empty.
      assert.deepEqual((await s.conn.call('codex_diff', { job_id: id })).files, []);
    }
    assert.equal(checkoutState(repo), before, 'the checkout is as it was');
    const shown = await cliIn(s.h.env(), ['show', started.job_ids[0]]);
    assert.match(shown.stdout, /included\s+\.env \(copied, 1 file, 19 B\), node_modules \(linked, read-only\)/);
    assert.match(shown.stdout, /setup\s+passed in .*: npm run --silent make-generated/);
  });

  it("writes through what was brought in fail, in the agent's sandbox and the check's: the checkout stays byte for byte, and discarding the worktree leaves it", async () => {
    const repo = jsProject({ '.worktreeinclude': 'node_modules\n.env\n' });
    const before = checkoutState(repo);
    const attack = [
      'echo tampered >> node_modules/dep/index.js',
      'echo planted > node_modules/planted.js',
      'find node_modules/dep/lib -type f -delete',
      'echo changed > .env',
      'echo agent-done',
    ].join('; ');
    const job = await s.conn.call('codex_start', { prompt: shell(attack, 'tamper'), cwd: repo, ...WRITE, check_command: 'echo tampered >> node_modules/dep/index.js; find node_modules/dep -type f -delete; true' });
    const done = await final(s.conn, job.job_id);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.match(done.last_message, /agent-done/);
    assert.match(done.last_message, /Read-only file system/, 'the sandbox refused the writes (they were tried)');
    assert.equal(fs.readFileSync(path.join(done.workspace.path, ".env"), "utf8"), "changed\n", done.last_message);
    assert.equal(checkoutState(repo), before, 'nothing in the checkout changed');
    await s.conn.call('codex_discard', { job_id: job.job_id });
    assert.equal(fs.existsSync(done.workspace.path), false);
    assert.equal(checkoutState(repo), before, 'removing the worktree removed the link, not what it leads to');
  });

  it('a failing setup fails the job (kind workspace, its exit code and output) and the model is never asked', async () => {
    const repo = jsProject();
    const asked = s.h.mock.requests.length;
    const job = await s.conn.call('codex_start', { prompt: 'never reached', cwd: repo, ...WRITE, setup_command: 'echo installing on port=$PORT; echo "npm ERR! missing thing" >&2; exit 3' });
    const done = await final(s.conn, job.job_id);
    assert.equal(done.status, 'failed');
    assert.equal(done.error.kind, 'workspace');
    assert.match(done.error.message, /setup \(echo installing on port=\$PORT;.*\) exited with 3, so the agent did not start/);
    assert.match(done.error.message, /npm ERR! missing thing/);
    assert.match(done.workspace.setup.output_tail, /installing on port=\d+/, "the setup has the job's PORT");
    assert.equal(done.workspace.setup.exit_code, 3);
    assert.equal(s.h.mock.requests.filter((r) => r.prompt.includes('never reached')).length, 0);
    assert.ok(s.h.mock.requests.length >= asked);
  });

  it('a setup that moves a parent of cwd aside and links the checkout in its place fails the job before the agent starts; the checkout stays as it was', async () => {
    const repo = gitRepo({ 'packages/app/a.txt': 'original\n' });
    const before = checkoutState(repo);
    const swap = `cd ../.. && mv packages packages.old && ln -s ${repo}/packages packages`;
    const job = await s.conn.call('codex_start', { prompt: shell('echo pwned > a.txt', 'write through the swap'), cwd: path.join(repo, 'packages', 'app'), ...WRITE, setup_command: swap });
    const done = await final(s.conn, job.job_id);
    assert.equal(done.status, 'failed');
    assert.equal(done.error.kind, 'workspace');
    assert.match(done.error.message, /is no longer the directory it was/);
    assert.equal(s.h.mock.requests.filter((r) => r.prompt.includes('write through the swap')).length, 0, 'the model was never asked');
    assert.equal(checkoutState(repo), before);
  });

  it('a setup that installs into a linked directory fails, saying the link is why and how to do without it', async () => {
    const repo = jsProject({ '.worktreeinclude': 'node_modules\n' });
    const before = checkoutState(repo);
    const job = await s.conn.call('codex_start', { prompt: 'after an install', cwd: repo, ...WRITE, setup_command: 'echo installed > node_modules/new.js' });
    const done = await final(s.conn, job.job_id);
    assert.equal(done.status, 'failed');
    assert.match(done.error.message, /node_modules is your checkout's, linked read-only by \.worktreeinclude: a setup that installs there needs it left out of \.worktreeinclude/);
    assert.match(done.error.message, /Read-only file system/);
    assert.equal(checkoutState(repo), before);
  });

  it('a setup past the deadline ends the job as a timeout, and a cancelled setup as cancelled; neither starts the agent', async () => {
    const repo = jsProject();
    const timed = await s.conn.call('codex_start', { prompt: 'after a slow setup', cwd: repo, ...WRITE, setup_command: 'echo begun; sleep 300', timeout_seconds: 3 });
    const cancelled = await s.conn.call('codex_start', { prompt: 'after a cancelled setup', cwd: repo, ...WRITE, setup_command: 'echo begun; sleep 300' });
    await until('the setup runs', async () => {
      const p = await s.conn.call('codex_poll', { job_id: cancelled.job_id });
      return p.progress.current?.startsWith('setting up: echo begun') ? p : null;
    });
    await s.conn.call('codex_cancel', { job_id: cancelled.job_id });
    const [t, c] = [await final(s.conn, timed.job_id), await final(s.conn, cancelled.job_id)];
    assert.equal(t.status, 'failed');
    assert.equal(t.error.kind, 'timeout');
    assert.match(t.error.message, /its setup was stopped/);
    assert.equal(c.status, 'cancelled');
    assert.match(c.error.message, /during its setup/);
    assert.equal(s.h.mock.requests.filter((r) => /after a (slow|cancelled) setup/.test(r.prompt)).length, 0);
  });

  it('a reply continues in the worktree as its setup left it, without running it again; without .worktreeinclude or setup, a worktree job is as before', async () => {
    const repo = gitRepo({ '.gitignore': 'node_modules/\n', 'a.txt': 'a\n' });
    fs.mkdirSync(path.join(repo, 'node_modules'));
    fs.writeFileSync(path.join(repo, 'node_modules', 'x.js'), '1\n');
    const plain = await final(s.conn, (await s.conn.call('codex_start', { prompt: shell('ls -A', 'list'), cwd: repo, ...WRITE })).job_id);
    assert.equal(plain.status, 'completed');
    assert.equal(plain.workspace.brought_in, null);
    assert.equal(plain.workspace.setup, null);
    assert.equal(fs.existsSync(path.join(plain.workspace.path, 'node_modules')), false);

    const first = await final(s.conn, (await s.conn.call('codex_start', { prompt: 'first turn', cwd: repo, ...WRITE, setup_command: 'echo run >> setup-runs.log' })).job_id);
    assert.equal(first.status, 'completed');
    const reply = await final(s.conn, (await s.conn.call('codex_reply', { job_id: first.job_id, prompt: 'second turn' })).job_id);
    assert.equal(reply.status, 'completed', JSON.stringify(reply.error));
    assert.equal(reply.workspace.setup, null);
    assert.equal(first.workspace.setup.passed, true);
    assert.equal(fs.readFileSync(path.join(first.workspace.path, 'setup-runs.log'), 'utf8'), 'run\n', 'the setup ran once, for the worktree');
  });

  it('refuses what cannot be honoured, saying what to do', async () => {
    const repo = jsProject();
    const refused = async (args: Record<string, unknown>) => {
      const r = await s.conn.raw('codex_start', { prompt: 'x', cwd: repo, ...args });
      assert.equal(r.isError, true, JSON.stringify(r.structuredContent));
      return r.content[0].text as string;
    };
    assert.match(await refused({ include: ['../outside'], isolation: 'worktree' }), /reaches outside the repository/);
    assert.match(await refused({ setup_command: 'npm ci', isolation: 'none' }), /setup_command prepares the job's worktree.*isolation "worktree"/);
    assert.match(await refused({ include: ['node_modules'] }), /include prepares the job's worktree/);
    fs.writeFileSync(path.join(repo, '.codex-async.toml'), '[worktree]\nsetup = 3\n');
    assert.match(await refused({ isolation: 'worktree' }), /\.codex-async\.toml: worktree\.setup must be a string/);
    fs.writeFileSync(path.join(repo, '.codex-async.toml'), '[worktree]\nsetpu = "npm ci"\n');
    assert.match(await refused({ isolation: 'worktree' }), /unknown key worktree\.setpu/);
    // An explicit "" skips the repository's default.
    const ok = await s.conn.raw('codex_start', { prompt: 'no setup', cwd: repo, isolation: 'worktree', setup_command: '' });
    assert.notEqual(ok.isError, true, JSON.stringify(ok.content));
  });
});
