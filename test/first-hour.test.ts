/**
 * What a new user meets in the first hour, following the README: pipes that close early, a
 * misconfigured HTTP server, launching the server as the README says, typing a job id's start,
 * and a warning said where it helps.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { ROOT, runProcess, SERVER_MAIN, tempDir, until, useHarness } from './helpers/harness.ts';


/**
 * `codex-async-mcp ARGS | READER` in bash; resolves with the command's own exit status (PIPESTATUS)
 * and its stderr. READER "gone" closes its end of the pipe and exits before the command is even
 * started, so the command's first write meets a pipe nobody reads, whatever the machine's load.
 */
async function piped(env: Record<string, string>, args: string[], reader: 'head -1' | 'gone'): Promise<{ code: number; stderr: string }> {
  const dir = tempDir('pipe');
  const err = path.join(dir, 'stderr');
  const closed = path.join(dir, 'closed');
  const left =
    reader === 'gone'
      ? `{ while [ ! -e "$CLOSED" ]; do sleep 0.01; done; exec "$NODE" "$MAIN" "$@"; }`
      : `"$NODE" "$MAIN" "$@"`;
  const right = reader === 'gone' ? `{ exec 0<&-; touch "$CLOSED"; }` : 'head -1 >/dev/null';
  const script = `${left} 2>"$ERR" | ${right}; exit "\${PIPESTATUS[0]}"`;
  const r = await runProcess('bash', ['-c', script, 'piped', ...args], { ...env, NODE: process.execPath, MAIN: SERVER_MAIN, ERR: err, CLOSED: closed });
  return { code: r.code!, stderr: fs.readFileSync(err, 'utf8') };
}

describe('the first hour of a new user', () => {
  const s = useHarness();
  const cli = (args: string[], extra: Record<string, string> = {}, input?: string) => runProcess(process.execPath, [SERVER_MAIN, ...args], s.h.env(extra), { input });
  const startJob = async (prompt: string) => {
    const r = await cli(['run', prompt, '--cwd', s.h.workdir()]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };

  it('commands end quietly with status 141 when the reader of their output goes away', async () => {
    const id = await startJob('[[shell:seq 1 40000]] a long log');
    assert.equal((await cli(['wait', id])).code, 0);
    const env = s.h.env();
    // A reader that leaves after one line, with far more than a pipe holds still to write.
    const head = await piped(env, ['logs', '--raw', id], 'head -1');
    assert.deepEqual(head, { code: 141, stderr: '' });
    // A reader gone before anything was written: every command that writes to stdout.
    // install is given the shell's settings, or it rightly warns (on stderr) that the server would not see them.
    const given = Object.entries(env).flatMap(([k, v]) => (/^CODEX_(ASYNC_|BIN$)/.test(k) ? ['--env', `${k}=${v}`] : []));
    for (const args of [['ls'], ['ls', '--json'], ['show', id], ['logs', id], ['result', id], ['wait', id], ['install', 'gemini', '--dry-run', ...given], ['--help']]) {
      const r = await piped(env, args, 'gone');
      assert.deepEqual(r, { code: 141, stderr: '' }, `${args.join(' ')}: ${r.stderr}`);
    }
  });

  it('serve --http with a bad setting stops with the message and exit 2, instead of serving', async () => {
    const child = spawn(process.execPath, [SERVER_MAIN, 'serve', '--http', '127.0.0.1:0'], { env: s.h.env({ CODEX_ASYNC_TOKEN: 'short' }), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let code: number | null | undefined;
    void exited.then((c) => (code = c));
    // Either it ends, or it says it is serving (on main: a generated token replaced the bad one).
    await until('the server to exit or to serve', () => code !== undefined || /clients must send|listening/i.test(stderr), 60_000);
    if (code === undefined) child.kill('SIGKILL');
    await exited;
    assert.equal(code, 2, stderr);
    assert.match(stderr, /CODEX_ASYNC_TOKEN: use at least 16 characters/);
    assert.doesNotMatch(stderr, /clients must send/);
  });

  it('the server started as the README says, and as clients launch it, writes only the protocol on stdout', async () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const line = readme.split('\n').find((l) => l.includes('# install and run the server'));
    assert.ok(line, 'the README has a line that starts the server');
    const documented = line.split('#')[0]!.replace(/^npm install && /, '').trim().split(/\s+/);
    const forms: Array<[string, string[]]> = [
      [documented[0]!, documented.slice(1)],
      [process.execPath, [SERVER_MAIN]], // what `install` writes into clients' configurations
      [SERVER_MAIN, []], // the `codex-async-mcp` bin: the same file, run through its #! line
    ];
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'first-hour', version: '1' } },
    };
    for (const [command, args] of forms) {
      const env = s.h.env({ npm_config_update_notifier: 'false' });
      const r = await runProcess(command, args, env, { cwd: ROOT, input: `${JSON.stringify(initialize)}\n` });
      const form = [command, ...args].join(' ');
      assert.equal(r.stdout[0], '{', `${form} wrote ${JSON.stringify(r.stdout.slice(0, 80))} first; stderr: ${r.stderr}`);
      assert.equal(JSON.parse(r.stdout.split('\n')[0]!).id, 1, form);
    }
  });

  it('takes a unique prefix of a job id on the command line and in MCP tools, and lists the jobs an ambiguous one matches', async () => {
    const id = await startJob('prefix me');
    const prefix = id.slice(0, 6);
    const waited = await cli(['wait', prefix]);
    assert.equal(waited.code, 0, waited.stderr);
    assert.match(waited.stdout, new RegExp(`job ${id} completed`));
    assert.match((await cli(['show', prefix])).stdout, new RegExp(`^job ${id}  completed`));
    assert.equal((await cli(['result', id.slice(0, 4)])).stdout, 'mock answer: prefix me\n');
    assert.match((await cli(['logs', prefix])).stdout, /mock answer: prefix me/);
    assert.match((await cli(['cancel', prefix])).stdout, new RegExp(`job ${id} completed`));
    const reply = await cli(['reply', prefix, 'and again', '--wait']);
    assert.equal(reply.code, 0, reply.stderr);
    assert.match(reply.stdout, /mock answer: and again/);

    const conn = await s.h.connect();
    try {
      assert.equal((await conn.call('codex_poll', { job_id: prefix })).job_id, id);
      assert.equal((await conn.call('codex_result', { job_id: prefix })).final_message, 'mock answer: prefix me');
      assert.equal((await conn.call('codex_wait', { job_ids: [prefix] })).finished[0].job_id, id);

      // A second job whose id starts the same way: a copy of the first under a sibling id, which
      // differs from it at its fifth character (so the 6-character prefix tells them apart).
      const twin = `${id.slice(0, 4)}${id[4] === '0' ? '11111111' : '00000000'}`;
      const db = new Database(path.join(s.h.home, 'jobs.db'));
      const columns = (db.prepare(`SELECT name FROM pragma_table_info('jobs') WHERE name NOT IN ('seq', 'id')`).all() as Array<{ name: string }>).map((c) => c.name).join(', ');
      db.prepare(`INSERT INTO jobs (id, ${columns}) SELECT ?, ${columns} FROM jobs WHERE id = ?`).run(twin, id);
      db.close();
      fs.cpSync(path.join(s.h.home, 'jobs', id), path.join(s.h.home, 'jobs', twin), { recursive: true });

      const ambiguous = await cli(['show', id.slice(0, 4)]);
      assert.equal(ambiguous.code, 2);
      const [first, second] = [id, twin].sort();
      assert.match(ambiguous.stderr, new RegExp(`prefix "${id.slice(0, 4)}" is ambiguous: 2 jobs start with it \\(${first}, ${second}\\); give more characters`));
      const viaMcp = await conn.raw('codex_poll', { job_id: id.slice(0, 4) });
      assert.equal(viaMcp.isError, true);
      assert.match(viaMcp.content[0].text, new RegExp(`2 jobs start with it \\(${first}, ${second}\\)`));
      // Long enough to tell them apart, it works again; too short, it is refused with the rule.
      assert.equal((await conn.call('codex_poll', { job_id: prefix })).job_id, id);
      const short = await cli(['show', id.slice(0, 3)]);
      assert.equal(short.code, 2);
      assert.match(short.stderr, /12 hex characters .*or their first 4 or more/);
      const taken = new Set((JSON.parse((await cli(['ls', '--all', '--json'])).stdout) as Array<{ job_id: string }>).map((j) => j.job_id.slice(0, 4)));
      const free = ['ffff', 'fffe', 'fffd', 'fffc'].find((p) => !taken.has(p))!;
      assert.match((await cli(['show', free])).stderr, new RegExp(`no job "${free}"`));
    } finally {
      await conn.close();
    }
  });

  it('warns about a state directory under a temporary directory once, where it helps: doctor and server start, not every command', async () => {
    // The harness keeps its state under the system's temporary directory.
    await startJob('warn me');
    for (const args of [['ls'], ['show', (await cli(['ls', '--json'])).stdout.match(/"job_id": "([0-9a-f]{12})"/)![1]!]]) {
      const r = await cli(args);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /temporary directory/, args.join(' '));
    }
    assert.match((await cli(['doctor'])).stdout, /WARN\s+state dir\s+.*temporary directory/);
    const transport = new StdioClientTransport({ command: process.execPath, args: [SERVER_MAIN], env: s.h.env(), stderr: 'pipe' });
    let stderr = '';
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const client = new Client({ name: 'first-hour', version: '1' });
    await client.connect(transport);
    await client.listTools();
    await client.close();
    assert.equal(stderr.match(/under a temporary directory/g)?.length, 1, stderr);
  });
});
