import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { gitRepo } from './helpers/git.ts';
import { cliIn, isLivePid, tempDir, until, useHarness, waitFinal, type Harness, TOOL_COUNT } from './helpers/harness.ts';

const SIDECARS = ['', '-wal', '-shm'];
const PAGE = 4096;

interface Store {
  home: string;
  db: string;
  env: Record<string, string>;
  jobs: Array<{ id: string; label: string; answer: string; cwd: string }>;
}

/** A state home with three jobs completed by the real codex, its server gone and its WAL folded in. */
async function storeWithJobs(h: Harness): Promise<Store> {
  const home = path.join(tempDir('damaged'), 'state');
  const conn = await h.connect({ CODEX_ASYNC_HOME: home });
  const jobs: Store['jobs'] = [];
  for (const n of [1, 2, 3]) {
    const cwd = h.workdir();
    const { job_id } = await conn.call('codex_start', { prompt: `remember job ${n}`, cwd, label: `kept-${n}` });
    const done = await waitFinal(conn, job_id);
    assert.equal(done.status, 'completed');
    jobs.push({ id: job_id, label: `kept-${n}`, answer: `mock answer: remember job ${n}`, cwd: fs.realpathSync(cwd) });
  }
  const pid = conn.pid;
  await conn.close();
  await until('the server to exit', () => !isLivePid(pid));
  const db = path.join(home, 'jobs.db');
  const sqlite = new Database(db);
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  sqlite.close();
  return { home, db, env: h.env({ CODEX_ASYNC_HOME: home }), jobs };
}

function removeDb(db: string): void {
  for (const s of SIDECARS) fs.rmSync(db + s, { force: true });
}

/** Zeroes the root page of a table or index, as a torn write or a bad sector would. */
function zeroRootPage(db: string, name: string): void {
  const sqlite = new Database(db, { readonly: true });
  const { rootpage } = sqlite.prepare('SELECT rootpage FROM sqlite_master WHERE name = ?').get(name) as { rootpage: number };
  sqlite.close();
  const fd = fs.openSync(db, 'r+');
  fs.writeSync(fd, Buffer.alloc(PAGE), 0, PAGE, (rootpage - 1) * PAGE);
  fs.closeSync(fd);
}

const DAMAGE: Array<{ kind: string; damage: (db: string) => void; saying: RegExp; atQueryTime?: boolean; salvage?: boolean }> = [
  { kind: 'cut to 0 bytes', damage: (db) => (removeDb(db), fs.writeFileSync(db, '')), saying: /is empty \(0 bytes\), but 3 job directories in .* hold jobs/ },
  { kind: 'missing', damage: removeDb, saying: /is missing, but 3 job directories in .* hold jobs/ },
  { kind: 'overwritten with garbage', damage: (db) => (removeDb(db), fs.writeFileSync(db, 'not a database at all '.repeat(500))), saying: /file is not a database/ },
  {
    kind: 'without its jobs table',
    damage: (db) => {
      const sqlite = new Database(db);
      sqlite.exec('DROP TABLE jobs');
      sqlite.close();
    },
    saying: /has lost its jobs table/,
  },
  { kind: 'with the jobs table\'s page zeroed (found at query time)', damage: (db) => zeroRootPage(db, 'jobs'), saying: /is damaged \(database disk image is malformed\)/, atQueryTime: true },
  // The id index is damaged, the table is not: every row is read back, settings included.
  { kind: 'with an index page zeroed (rows still readable)', damage: (db) => zeroRootPage(db, 'sqlite_autoindex_jobs_1'), saying: /is damaged \(database disk image is malformed\)/, atQueryTime: true, salvage: true },
];

describe('a damaged job database', () => {
  const s = useHarness();

  for (const { kind, damage, saying, atQueryTime, salvage } of DAMAGE) {
    it(`${kind}: every tool call, command and doctor name the file and the fix; doctor --repair brings every job back`, async () => {
      const store = await storeWithJobs(s.h);
      damage(store.db);
      const fix = /run `codex-async-mcp doctor --repair`/;
      const conn = await s.h.connect({ CODEX_ASYNC_HOME: store.home });
      // A damaged index shows only to the queries that use it: codex_list scans the table alone.
      for (const [tool, args] of [
        ...(salvage ? [] : ([['codex_list', {}]] as const)),
        ['codex_poll', { job_id: store.jobs[0]!.id }],
        ['codex_result', { job_id: store.jobs[1]!.id }],
      ] as const) {
        const r = await conn.raw(tool, args);
        assert.equal(r.isError, true, `${tool} reports the damage: ${JSON.stringify(r.structuredContent)}`);
        assert.match(r.content[0].text, new RegExp(`^storage: the job database ${store.db} `));
        assert.match(r.content[0].text, saying);
        assert.match(r.content[0].text, fix);
      }
      assert.equal((await conn.client.listTools()).tools.length, TOOL_COUNT, 'the server still serves');

      const show = await cliIn(store.env, ['show', store.jobs[2]!.id]);
      assert.equal(show.code, 1);
      assert.match(show.stderr, new RegExp(`job database ${store.db} `));
      assert.match(show.stderr, fix);
      const doctor = await cliIn(store.env, ['doctor']);
      assert.equal(doctor.code, 1);
      assert.match(doctor.stdout, new RegExp(`^FAIL\\s+database\\s+${store.db}`, 'm'));
      assert.match(doctor.stdout, /→ run `codex-async-mcp doctor --repair`/);

      if (atQueryTime) {
        // This server opened the file before the damage showed: repairing under it would lose its writes.
        const refused = await cliIn(store.env, ['doctor', '--repair']);
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, new RegExp(`processes ${conn.pid} have ${store.db} open .*close the MCP clients`));
      }
      await conn.close();
      await until('the server to exit', () => !isLivePid(conn.pid));

      if (salvage) for (const job of store.jobs) fs.rmSync(path.join(store.home, 'jobs', job.id, 'job.json'));
      const damagedBytes = fs.existsSync(store.db) ? fs.readFileSync(store.db) : null;
      const repair = await cliIn(store.env, ['doctor', '--repair']);
      assert.equal(repair.code, 0, repair.stdout + repair.stderr);
      assert.match(repair.stdout, salvage ? /rebuilt the job list: 3 jobs from the rows still readable, 0 from their directories/ : /rebuilt the job list: 0 jobs from the rows still readable, 3 from their directories/);
      assert.match(repair.stdout, /^OK\s+database\s+integrity ok/m);
      if (damagedBytes) {
        const kept = /kept the damaged database as (\S+);/.exec(repair.stdout)?.[1];
        assert.ok(kept && kept.startsWith(`${store.db}.damaged-`), repair.stdout);
        assert.deepEqual(fs.readFileSync(kept), damagedBytes, 'the damaged file is kept as it was');
      }

      const listed = JSON.parse((await cliIn(store.env, ['ls', '--json'])).stdout) as Array<{ job_id: string; status: string; label: string; cwd: string }>;
      assert.deepEqual(
        listed.map((j) => [j.job_id, j.status, j.label, j.cwd]),
        store.jobs.map((j) => [j.id, 'completed', j.label, j.cwd]).reverse(),
        'every job is back, newest first, with the settings its row or its job.json held',
      );
      const again = await s.h.connect({ CODEX_ASYNC_HOME: store.home });
      for (const job of store.jobs) {
        const result = await again.call('codex_result', { job_id: job.id });
        assert.equal(result.status, 'completed');
        assert.equal(result.final_message, job.answer);
        assert.ok(result.thread_id, 'the thread is known, so the job can be replied to');
      }
      // The repaired store takes new work.
      const next = await again.call('codex_start', { prompt: 'after the repair', cwd: s.h.workdir() });
      assert.equal((await waitFinal(again, next.job_id)).status, 'completed');
      await again.close();
    });
  }

  it("a worktree job rebuilt by the repair keeps its worktree for review, with git's own variables pointing elsewhere (the repair run from a git hook)", async () => {
    const home = path.join(tempDir('damaged'), 'state');
    const repo = gitRepo({ 'README.md': 'r\n' });
    const conn = await s.h.connect({ CODEX_ASYNC_HOME: home });
    const { job_id } = await conn.call('codex_start', { prompt: "[[shell:printf 'w\\n' > w.txt]] write", cwd: repo, sandbox: 'workspace-write', isolation: 'worktree' });
    assert.equal((await waitFinal(conn, job_id)).status, 'completed');
    await conn.close();
    await until('the server to exit', () => !isLivePid(conn.pid));
    removeDb(path.join(home, 'jobs.db'));

    const elsewhere = gitRepo({ 'other.txt': 'o\n' });
    const repair = await cliIn(s.h.env({ CODEX_ASYNC_HOME: home, GIT_DIR: path.join(elsewhere, '.git'), GIT_WORK_TREE: elsewhere }), ['doctor', '--repair']);
    assert.equal(repair.code, 0, repair.stdout + repair.stderr);
    const again = await s.h.connect({ CODEX_ASYNC_HOME: home });
    assert.equal((await again.call('codex_poll', { job_id })).workspace.state, 'ready', "its base was read from the job's repository");
    assert.deepEqual((await again.call('codex_diff', { job_id })).files.map((f: any) => f.path), ['w.txt']);
    await again.close();
  });

  it('a fresh home (no database, no job directories) is simply new', async () => {
    const home = path.join(tempDir('fresh'), 'state');
    fs.mkdirSync(path.join(home, 'jobs'), { recursive: true, mode: 0o700 });
    const env = s.h.env({ CODEX_ASYNC_HOME: home });
    const doctor = await cliIn(env, ['doctor']);
    assert.match(doctor.stdout, /^OK\s+database\s+no database yet/m);
    assert.equal(doctor.code, 0, doctor.stdout);
    assert.match((await cliIn(env, ['doctor', '--repair'])).stdout, /nothing to repair/);
    const conn = await s.h.connect({ CODEX_ASYNC_HOME: home });
    assert.deepEqual((await conn.call('codex_list', {})).jobs, []);
    const { job_id } = await conn.call('codex_start', { prompt: 'first', cwd: s.h.workdir() });
    assert.equal((await waitFinal(conn, job_id)).status, 'completed');
    await conn.close();
  });
});
