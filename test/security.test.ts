import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { jobFile, jobProcessesOnMachine, until, useHarness, waitFinal } from './helpers/harness.ts';

function argvContaining(text: string): number[] {
  const found: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(text)) found.push(Number(name));
    } catch {
      // Gone.
    }
  }
  return found;
}

describe('security defaults', () => {
  const s = useHarness();

  it('keeps state private: home and job directories 0700, files 0600', async () => {
    const conn = await s.h.connect();
    const { job_id } = await conn.call('codex_start', { prompt: 'private', cwd: s.h.workdir() });
    await waitFinal(conn, job_id);
    const mode = (p: string) => fs.statSync(p).mode & 0o777;
    assert.equal(mode(s.h.home), 0o700);
    assert.equal(mode(path.join(s.h.home, 'jobs', job_id)), 0o700);
    assert.equal(mode(path.join(s.h.home, 'jobs', job_id, 'prompt.txt')), 0o600);
    for (const file of ['jobs.db', 'jobs.db-wal', 'jobs.db-shm']) assert.equal(mode(path.join(s.h.home, file)), 0o600, `${file} is private`);
    for (const file of fs.readdirSync(path.join(s.h.home, 'jobs', job_id))) {
      assert.equal(mode(path.join(s.h.home, 'jobs', job_id, file)), 0o600, `${file} is private`);
    }
    await conn.close();
  });

  it('never puts the prompt in any process argv', async () => {
    const conn = await s.h.connect();
    const secret = `SECRET-${Date.now()}`;
    const { job_id } = await conn.call('codex_start', { prompt: `[[shell:sleep 2]] ${secret}`, cwd: s.h.workdir() });
    await until('codex to run the command', async () => /running/.test((await conn.call('codex_poll', { job_id })).progress.current ?? ''));
    assert.deepEqual(argvContaining(secret), []);
    await waitFinal(conn, job_id);
    await conn.close();
  });

  it('allows full-auto only when the operator sets CODEX_ASYNC_ALLOW_DANGEROUS=1', async () => {
    const conn = await s.h.connect({ CODEX_ASYNC_ALLOW_DANGEROUS: '1' });
    const cwd = s.h.workdir();
    const { job_id } = await conn.call('codex_start', { prompt: '[[patch:free.txt]] unrestricted', cwd, approval_policy: 'full-auto' });
    const done = await waitFinal(conn, job_id);
    assert.equal(done.status, 'completed');
    assert.equal(done.sandbox, 'danger-full-access');
    assert.equal(fs.readFileSync(path.join(cwd, 'free.txt'), 'utf8'), 'x\n');
    await conn.close();
  });

  it('refuses writable directories that hold the state directory', async () => {
    const conn = await s.h.connect();
    const parent = path.dirname(s.h.home);
    const refused = await conn.raw('codex_start', { prompt: 'x', cwd: parent, sandbox: 'workspace-write' });
    assert.equal(refused.isError, true);
    assert.match(refused.content[0].text, /contains the job state directory/);
    const inside = await conn.raw('codex_start', { prompt: 'x', cwd: s.h.workdir(), sandbox: 'workspace-write', add_dirs: [path.join(s.h.home, 'jobs')] });
    assert.match(inside.content[0].text, /is inside the job state directory/);
    await conn.close();
  });

  it('refuses a writable cwd holding a state directory whose name starts with ".." (CODEX_ASYNC_HOME=<cwd>/..state)', async () => {
    const cwd = fs.realpathSync(s.h.workdir());
    const conn = await s.h.connect({ CODEX_ASYNC_HOME: path.join(cwd, '..state') });
    const refused = await conn.raw('codex_start', { prompt: 'x', cwd, sandbox: 'workspace-write' });
    assert.equal(refused.isError, true, JSON.stringify(refused.structuredContent));
    assert.match(refused.content[0].text, /contains the job state directory .*\.\.state/);
    await conn.close();
  });

  it('keeps the server\'s token and CODEX_ASYNC_* settings out of a job\'s environment; the user\'s variables reach it', async () => {
    const token = `token-${Date.now()}-never-in-a-job`;
    const conn = await s.h.connect({ CODEX_ASYNC_TOKEN: token, CODEX_ASYNC_MAX_LOG_MB: '300', CAM_USER_SETTING: 'reaches-the-job' });
    const leaks = (text: string) => text.split('\n').filter((line) => line.includes(token) || /^CODEX_ASYNC_(?!JOB_ID=)/.test(line));

    // What a command codex runs sees.
    const { job_id } = await conn.call('codex_start', { prompt: '[[shell:env]] print the environment', cwd: s.h.workdir() });
    const done = await waitFinal(conn, job_id);
    assert.equal(done.status, 'completed');
    const seen = (await conn.call('codex_result', { job_id })).final_message as string;
    assert.match(seen, /^CAM_USER_SETTING=reaches-the-job$/m);
    assert.match(seen, new RegExp(`^CODEX_ASYNC_JOB_ID=${job_id}\\.1$`, "m"), "the launch marker");
    assert.deepEqual(leaks(seen), []);

    // What codex itself, the wrapper and every other process of a job start with.
    const running = (await conn.call('codex_start', { prompt: '[[shell:sleep 31339]] hold', cwd: s.h.workdir() })).job_id;
    await until('the job\'s command to run', () => argvContaining('sleep 31339').length > 0);
    const wrapper = Number(fs.readFileSync(jobFile(s.h.home, running, 'pid'), 'utf8').split(' ')[0]);
    const environs = [wrapper, ...jobProcessesOnMachine(running)].map((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').replaceAll('\0', '\n');
      } catch {
        return '';
      }
    });
    assert.ok(environs.filter((env) => env.includes('CAM_USER_SETTING=reaches-the-job')).length >= 3, 'wrapper, codex and the command were read');
    assert.deepEqual(environs.flatMap(leaks), []);
    // The wrapper hands its callbacks the server's settings on its command line: never the token.
    assert.ok(!fs.readFileSync(`/proc/${wrapper}/cmdline`, 'utf8').includes(token));
    await conn.call('codex_cancel', { job_id: running });
    await conn.close();
  });

  it('refuses a relative CODEX_BIN, which each job\'s cwd could otherwise supply, and says so on every call', async () => {
    const conn = await s.h.connect({ CODEX_BIN: 'bin/codex' });
    const result = await conn.raw('codex_start', { prompt: 'x', cwd: s.h.workdir() });
    assert.equal(result.isError, true);
    assert.match(result.content[0].text, /config: .*CODEX_BIN must be an absolute path or a command name/);
    assert.equal((await conn.raw('codex_list', {})).isError, true);
    await conn.close();
  });
});
