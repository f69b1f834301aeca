import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { openDb } from '../src/jobs/db.ts';
import { pickBlock, startingBlock } from '../src/jobs/ports.ts';
import { JobStore } from '../src/jobs/store.ts';
import { listeningPorts } from '../src/supervise/proc.ts';
import { gitRepo } from './helpers/git.ts';
import { cliIn, tempDir, until, useServer, waitFinal, type Connection } from './helpers/harness.ts';

/** A prompt that makes the real codex run `cmd` (see the mock's [[shell:…]] marker). */
const shell = (cmd: string, what = '') => `[[shell:${cmd}]] ${what}`;

const WRITE = { sandbox: 'workspace-write', isolation: 'worktree' } as const;

/** What the agent's own shell saw: "$PORT $PORT_RANGE", written to port.txt in its working directory. */
const SAY_PORTS = 'echo "PORT=$PORT PORT_RANGE=$PORT_RANGE" > port.txt';

const seen = (dir: string) => fs.readFileSync(path.join(dir, 'port.txt'), 'utf8').trim();

/** The job's port.txt, once its command wrote it (its worktree is known once the job runs). */
async function portFile(conn: Connection, id: string, dir?: string): Promise<string> {
  return until(`job ${id} to write port.txt`, async () => {
    const where = dir ?? (await conn.call('codex_poll', { job_id: id })).workspace.path;
    return where && fs.existsSync(path.join(where, 'port.txt')) && seen(where).length > 0 ? seen(where) : null;
  }, 120_000);
}

async function completed(conn: Connection, id: string): Promise<any> {
  const job = await waitFinal(conn, id);
  assert.equal(job.status, 'completed', `job ${id}: ${JSON.stringify(job.error)}`);
  return job;
}

/** The port a finished worktree job's command was given. */
async function portOfFinished(conn: Connection, id: string): Promise<number> {
  const job = await completed(conn, id);
  const m = /^PORT=(\d+) /.exec(seen(job.workspace.path));
  assert.ok(m, `job ${id} was given a PORT: ${seen(job.workspace.path)}`);
  return Number(m[1]);
}

/** The port table's rows: of an open database, or read beside the server of a home. */
function portRows(where: string | Database.Database): Array<{ first: number; job_id: string }> {
  const db = typeof where === 'string' ? new Database(path.join(where, 'jobs.db'), { readonly: true }) : where;
  try {
    return db.prepare(`SELECT first, job_id FROM ports ORDER BY first`).all() as Array<{ first: number; job_id: string }>;
  } finally {
    if (typeof where === 'string') db.close();
  }
}

describe('ports: choosing a block', () => {
  const range = { first: 20000, last: 20029 };

  it('the search starts at a block of the range hashed from the home, and wraps round to the range\'s beginning', () => {
    const starts = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const start = startingBlock({ first: 20000, last: 31999 }, `/home/user${i}/.codex-async`);
      assert.ok(start >= 20000 && start <= 31990 && start % 10 === 0, `a block's first port: ${start}`);
      starts.add(start);
    }
    assert.ok(starts.size > 40, `homes rarely meet: ${starts.size} distinct starts of 50`);
    assert.equal(startingBlock(range, '/a'), startingBlock(range, '/a'), 'the same home starts at the same block');
    assert.equal(pickBlock(range, 20020, new Set([20020]), new Set()), 20000);
    assert.equal(pickBlock(range, 20010, new Set(), new Set([20019])), 20020, 'a listener at the block\'s last port counts');
    assert.equal(pickBlock(range, 20000, new Set([20000, 20010]), new Set([20029])), null);
  });

  it('sees this process listening, on IPv4 and IPv6 loopback', async () => {
    const servers = [net.createServer(), net.createServer()];
    const ports: number[] = [];
    try {
      for (const [server, host] of [[servers[0]!, '127.0.0.1'], [servers[1]!, '::1']] as const) {
        const port = await new Promise<number>((resolve, reject) =>
          server.once('error', reject).listen(0, host, () => resolve((server.address() as net.AddressInfo).port)),
        ).catch(() => null);
        if (port !== null) ports.push(port);
      }
      assert.ok(ports.length > 0);
      const seen = listeningPorts();
      for (const port of ports) assert.ok(seen.has(port), `${port} listens`);
    } finally {
      for (const server of servers) server.close();
    }
  });

  it('a job keeps its block however often it asks; another running job gets another; a final job holds none', () => {
    const db = openDb(path.join(tempDir('ports-db'), 'jobs.db'));
    try {
      const store = new JobStore(db);
      const add = db.prepare(
        `INSERT INTO jobs (id, status, prompt_head, prompt_bytes, cwd, sandbox, timeout_seconds, created_at) VALUES (?, 'running', 'p', 1, '/', 'read-only', 60, 0)`,
      );
      for (const id of ['job1', 'job2', 'job3']) add.run(id);
      const pick = (held: ReadonlySet<number>) => pickBlock(range, 20000, held, new Set());
      assert.deepEqual(store.reservePorts('job1', pick), { first: 20000, held: new Set() });
      assert.deepEqual(store.reservePorts('job1', () => 20020), { first: 20000, held: new Set() }, 'asked again (a setup first, then the spawn): the same block');
      assert.deepEqual(store.reservePorts('job2', pick), { first: 20010, held: new Set([20000]) });
      assert.deepEqual(store.get('job2')!.ports, { first: 20010, last: 20019 });
      db.prepare(`UPDATE jobs SET status = 'completed' WHERE id = 'job1'`).run();
      assert.equal(store.get('job1')!.ports, null, 'a final job shows no block');
      assert.deepEqual(store.reservePorts('job3', pick), { first: 20000, held: new Set([20010]) }, "job1's row, left behind, holds nothing");
      store.releasePorts('job3');
      assert.equal(store.get('job3')!.ports, null);
      db.prepare(`DELETE FROM jobs WHERE id = 'job2'`).run();
      assert.deepEqual(portRows(db), [], 'a deleted job takes its row with it');
    } finally {
      db.close();
    }
  });
});

describe('ports: each running worktree job has a block of its own', () => {
  const s = useServer();

  it('two worktree jobs running at once (started through two servers on one home) get different blocks of 10, as PORT and PORT_RANGE in their commands, shown by poll and show; a job outside a worktree gets none; once they end the blocks are free again', async () => {
    const repo = gitRepo({ 'README.md': '# demo\n' });
    const plain = s.h.workdir();
    // A second server on the same home: each launches what it was given, both reserving at once.
    const other = await s.h.connect();
    // Each holds its block until cancelled: both are running when their blocks are compared.
    const [a, b, c] = await Promise.all([
      s.conn.call('codex_start', { prompt: shell(`${SAY_PORTS}; sleep 300`, 'A'), cwd: repo, ...WRITE }),
      other.call('codex_start', { prompt: shell(`${SAY_PORTS}; sleep 300`, 'B'), cwd: repo, ...WRITE }),
      s.conn.call('codex_start', { prompt: shell(`${SAY_PORTS}; sleep 300`, 'C'), cwd: plain, sandbox: 'workspace-write' }),
    ]);
    const [fa, fb, fc] = [await portFile(s.conn, a.job_id), await portFile(s.conn, b.job_id), await portFile(s.conn, c.job_id, plain)];
    const [pa, pb, pc] = await Promise.all([a, b, c].map((j) => s.conn.call('codex_poll', { job_id: j.job_id })));
    for (const p of [pa, pb]) {
      assert.equal(p.status, 'running', `${p.job_id} still runs: ${JSON.stringify(p.error)}`);
      assert.ok(p.workspace.ports, `${p.job_id} holds a block`);
      assert.equal(p.workspace.ports.last, p.workspace.ports.first + 9);
    }
    assert.notEqual(pa.workspace.ports.first, pb.workspace.ports.first, 'two running jobs never share a block');
    assert.ok(Math.abs(pa.workspace.ports.first - pb.workspace.ports.first) >= 10, 'nor overlap');
    for (const [file, p] of [[fa, pa], [fb, pb]] as const) {
      const { first, last } = p.workspace.ports;
      assert.ok(first >= 20000 && last <= 31999, `within the default range: ${first}-${last}`);
      assert.equal(file, `PORT=${first} PORT_RANGE=${first}-${last}`, "the agent's own command sees its block");
    }
    assert.equal(fc, 'PORT= PORT_RANGE=', 'a job in the checkout gets no PORT');
    assert.equal(pc.workspace.ports, null);

    const shown = await cliIn(s.h.env(), ['show', a.job_id]);
    assert.equal(shown.code, 0, shown.stderr);
    const { first, last } = pa.workspace.ports;
    assert.match(shown.stdout, new RegExp(`^ports {5}${first}-${last} \\(PORT=${first}\\)$`, 'm'));
    assert.doesNotMatch((await cliIn(s.h.env(), ['show', c.job_id])).stdout, /^ports/m);

    for (const j of [a, b, c]) await s.conn.call('codex_cancel', { job_id: j.job_id });
    for (const j of [a, b, c]) assert.equal((await waitFinal(s.conn, j.job_id)).status, 'cancelled');
    for (const j of [a, b]) assert.equal((await s.conn.call('codex_poll', { job_id: j.job_id })).workspace.ports, null, 'an ended job holds no block');
    assert.deepEqual(portRows(s.h.home), [], 'their rows went with them');
    await other.close();
    // The search starts at the same block each time: the first of the two blocks is free again.
    const d = await s.conn.call('codex_start', { prompt: shell(SAY_PORTS, 'D'), cwd: repo, ...WRITE });
    assert.equal(await portOfFinished(s.conn, d.job_id), Math.min(pa.workspace.ports.first, pb.workspace.ports.first));
  });

  it("the job's check runs with the job's block as PORT and PORT_RANGE", async () => {
    const repo = gitRepo({ 'README.md': '# demo\n' });
    const job = await s.conn.call('codex_start', {
      prompt: shell(SAY_PORTS, 'checked'),
      cwd: repo,
      ...WRITE,
      check_command: 'echo "check saw PORT=$PORT PORT_RANGE=$PORT_RANGE"; test -n "$PORT"',
    });
    const port = await portOfFinished(s.conn, job.job_id);
    const done = await s.conn.call('codex_poll', { job_id: job.job_id });
    assert.equal(done.check.passed, true, done.check.output_tail);
    assert.match(done.check.output_tail, new RegExp(`check saw PORT=${port} PORT_RANGE=${port}-${port + 9}`));
  });

  it("as README says: under codex's workspace-write sandbox (network off) a listen on 127.0.0.1:$PORT is refused (EPERM)", async () => {
    const repo = gitRepo({ 'README.md': '# demo\n' });
    const script = path.join(tempDir('listen'), 'listen.js');
    fs.writeFileSync(
      script,
      `const s = require('net').createServer();
s.on('error', (e) => { console.log('listen failed: ' + e.message); process.exit(1); });
s.listen(Number(process.env.PORT), '127.0.0.1', () => { console.log('listening on ' + process.env.PORT); process.exit(0); });
`,
    );
    const job = await s.conn.call('codex_start', { prompt: shell(`node ${script}`, 'serve'), cwd: repo, ...WRITE });
    const done = await completed(s.conn, job.job_id);
    const port = /listen failed: listen EPERM: operation not permitted 127\.0\.0\.1:(\d+)/.exec(done.last_message);
    assert.ok(port, done.last_message);
    assert.ok(Number(port[1]) >= 20000 && Number(port[1]) % 10 === 0, `it tried its own PORT: ${port[1]}`);
  });

  it('a block still in the table under a job that already ended (its release lost to a crash) is given out again', async () => {
    const repo = gitRepo({ 'README.md': '# demo\n' });
    const e = await s.conn.call('codex_start', { prompt: shell(SAY_PORTS, 'E'), cwd: repo, ...WRITE });
    const start = await portOfFinished(s.conn, e.job_id);
    // As a crash between recording E's outcome and releasing its block would leave it.
    const db = new Database(path.join(s.h.home, 'jobs.db'));
    try {
      db.prepare(`INSERT INTO ports (first, job_id) VALUES (?, ?)`).run(start, e.job_id);
    } finally {
      db.close();
    }
    const f = await s.conn.call('codex_start', { prompt: shell(SAY_PORTS, 'F'), cwd: repo, ...WRITE });
    assert.equal(await portOfFinished(s.conn, f.job_id), start, 'the ended job holds nothing');
  });

  it('a block where something on the machine already listens is passed over', async () => {
    const repo = gitRepo({ 'README.md': '# demo\n' });
    const g = await s.conn.call('codex_start', { prompt: shell(SAY_PORTS, 'G'), cwd: repo, ...WRITE });
    const start = await portOfFinished(s.conn, g.job_id);
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(start + 7, '127.0.0.1', resolve));
    try {
      const h = await s.conn.call('codex_start', { prompt: shell(SAY_PORTS, 'H'), cwd: repo, ...WRITE });
      const port = await portOfFinished(s.conn, h.job_id);
      assert.ok(port < start || port > start + 9, `not the block holding ${start + 7}: got ${port}`);
    } finally {
      server.close();
    }
  });

  it('when no block is free the job fails with spawn_error saying CODEX_ASYNC_PORTS is exhausted and how many jobs hold blocks', async () => {
    const home = path.join(tempDir('ports'), 'state');
    const conn = await s.h.connect({ CODEX_ASYNC_HOME: home, CODEX_ASYNC_PORTS: '29990-29999' });
    try {
      const repo = gitRepo({ 'README.md': '# demo\n' });
      const holder = await conn.call('codex_start', { prompt: shell(`${SAY_PORTS}; sleep 300`, 'holder'), cwd: repo, ...WRITE });
      assert.match(await portFile(conn, holder.job_id), /^PORT=29990 PORT_RANGE=29990-29999$/);
      const late = await conn.call('codex_start', { prompt: shell(SAY_PORTS, 'late'), cwd: repo, ...WRITE });
      const failed = await waitFinal(conn, late.job_id);
      assert.equal(failed.status, 'failed');
      assert.equal(failed.error.kind, 'spawn_error');
      assert.match(failed.error.message, /CODEX_ASYNC_PORTS \(29990-29999\) is exhausted: of its 1 block of 10 ports, 1 is held by running worktree jobs and 0 have something else listening/);
      assert.equal(fs.existsSync(path.join(failed.workspace.path, 'port.txt')), false, 'its agent never ran');
      await conn.call('codex_cancel', { job_id: holder.job_id });
      await waitFinal(conn, holder.job_id);
    } finally {
      await conn.close();
    }
  });

  it('a bad CODEX_ASYNC_PORTS is refused with what to write instead', async () => {
    for (const bad of ['20000-20004', '20005-20014', '80-89', '20000', '65530-65549', 'lots']) {
      const r = await cliIn(s.h.env({ CODEX_ASYNC_PORTS: bad }), ['ls']);
      assert.notEqual(r.code, 0, `${bad} refused`);
      assert.match(r.stderr, new RegExp(`CODEX_ASYNC_PORTS must be a range FIRST-LAST between 1024 and 65535 of whole blocks of 10 ports \\(FIRST a multiple of 10.*e\\.g\\. 20000-31999; got "${bad}"`));
    }
  });
});
