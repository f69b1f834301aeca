import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { cliIn, jobProcessesOnMachine, killJobProcesses, runProcess, SERVER_MAIN, tempDir, until, useHarness } from './helpers/harness.ts';

const ID = /^[0-9a-f]{12}$/;

describe('the command line', () => {
  const s = useHarness();
  const cli = (args: string[], input?: string, extra: Record<string, string> = {}) => cliIn(s.h.env(extra), args, input);

  it('runs a job and waits for it: the final message on stdout, progress on stderr, exit 0', async () => {
    const cwd = s.h.workdir();
    const r = await cli(['run', 'say hello', '--cwd', cwd, '--wait', '--label', 'greeting']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /✔ job [0-9a-f]{12} completed in \d+s — 0 commands, 0 files changed, 1\d\d tokens\nmock answer: say hello\n/);
    assert.doesNotMatch(r.stdout, /\x1b\[/, 'no colour codes when not a terminal');
    const listed = JSON.parse((await cli(['ls', '--label', 'greeting', '--json'])).stdout);
    assert.equal(listed.length, 1);
    assert.equal(listed[0].cwd, cwd);
  });

  it('takes the prompt from a pipe whose writer is slower than the command (`git diff | run -`), not failing with EAGAIN', async () => {
    const cwd = s.h.workdir();
    const env = { ...s.h.env(), NODE: process.execPath, MAIN: SERVER_MAIN, CWD: cwd };
    const r = await runProcess('/bin/sh', ['-c', '(sleep 1; echo slow prompt) | "$NODE" "$MAIN" run - --cwd "$CWD" --wait'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /mock answer: slow prompt/);
  });

  it('takes the prompt from stdin or a file, prints only the id when piped, and --json when asked', async () => {
    const cwd = s.h.workdir();
    const fromStdin = await cli(['run', '--cwd', cwd], 'prompt from stdin');
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.match(fromStdin.stdout.trim(), ID);
    const file = path.join(cwd, 'task.md');
    fs.writeFileSync(file, 'prompt from a file');
    const fromFile = JSON.parse((await cli(['run', '--file', file, '--cwd', cwd, '--json'])).stdout);
    assert.match(fromFile.job_id, ID);
    for (const id of [fromStdin.stdout.trim(), fromFile.job_id]) assert.equal((await cli(['wait', id])).code, 0);
    assert.equal((await cli(['result', fromStdin.stdout.trim()])).stdout, 'mock answer: prompt from stdin\n');
    assert.equal(JSON.parse((await cli(['result', fromFile.job_id, '--json'])).stdout).final_message, 'mock answer: prompt from a file');
  });

  it('mirrors a failed job in the exit code, and says why', async () => {
    const r = await cli(['run', '[[fail:model overloaded]] do it', '--cwd', s.h.workdir(), '--wait']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /✖ job [0-9a-f]{12} failed in \d+s \(turn_failed: .*model overloaded/);
    const id = /job ([0-9a-f]{12})/.exec(r.stdout)![1]!;
    assert.equal((await cli(['result', id])).code, 1);
  });

  it('lists jobs as a table, filters them, and shows one', async () => {
    const cwd = s.h.workdir();
    const id = (await cli(['run', 'listed job with a rather long prompt that the table has to cut short somewhere', '--cwd', cwd, '--label', 'tbl'])).stdout.trim();
    await cli(['wait', id]);
    const table = (await cli(['ls', '--label', 'tbl'])).stdout.split('\n');
    assert.match(table[0]!, /^ID\s+AGENT\s+STATUS\s+AGE\s+RAN\s+CHANGES\s+CWD\s+LABEL\s+PROMPT$/);
    assert.match(table[1]!, new RegExp(`^${id}\\s+codex\\s+completed\\s+\\d+s ago\\s+\\d+s\\s+—\\s+\\S+\\s+tbl\\s+listed job`));
    assert.match((await cli(['ls', '--status', 'running'])).stdout, /^(ID|No jobs)/);
    assert.doesNotMatch((await cli(['ls', '--status', 'running'])).stdout, new RegExp(id));
    const shown = (await cli(['show', id])).stdout;
    assert.match(shown, new RegExp(`^job ${id}  completed`));
    assert.match(shown, /last message:\n  mock answer: listed job/);
    assert.equal(JSON.parse((await cli(['show', id, '--json'])).stdout).status, 'completed');
  });

  it('prints a job\'s activity, raw events, and follows a running job to its end', async () => {
    const cwd = s.h.workdir();
    const id = (await cli(['run', '[[shell:echo one; sleep 1; echo two]] run it', '--cwd', cwd])).stdout.trim();
    const followed = await cli(['logs', '-f', id]);
    assert.equal(followed.code, 0, followed.stderr);
    assert.match(followed.stdout, /\$ .*echo one; sleep 1; echo two/);
    assert.match(followed.stdout, /↳ exit 0\n\s+one\n\s+two/);
    assert.match(followed.stdout, /codex: shell output: (.|\n)*\none\ntwo\n/);
    assert.match(followed.stdout, new RegExp(`— job ${id} completed\\n$`));
    const logs = (await cli(['logs', id])).stdout;
    assert.match(logs, /\$ .*echo one; sleep 1; echo two.* → exit 0/);
    const raw = (await cli(['logs', '--raw', id])).stdout.trim().split('\n');
    assert.equal(JSON.parse(raw[0]!).type, 'thread.started');
    assert.equal(JSON.parse(raw.at(-1)!).type, 'turn.completed');
    assert.equal((await cli(['logs', '--tail', '1', id])).stdout.trim().split('\n').length, 1);
  });

  it('cancels a running job and everything it started (exit 3 for its waiter, not 130 as an interrupted wait)', async () => {
    const id = (await cli(['run', '[[shell:sleep 300]] long', '--cwd', s.h.workdir()])).stdout.trim();
    const waiting = cli(['wait', id]);
    await until('the command runs', async () => /sleep 300/.test((await cli(['show', id])).stdout));
    const gaveUp = await cli(['wait', id, '--timeout', '0.5']);
    assert.equal(gaveUp.code, 124);
    assert.match(gaveUp.stderr, new RegExp(`job ${id} is still running; it goes on in the background`));
    const cancelled = await cli(['cancel', '0123456789ab', id]);
    assert.match(cancelled.stdout, new RegExp(`job ${id} cancelled`), 'an unknown id first does not stop the others');
    assert.equal(cancelled.code, 2);
    assert.match(cancelled.stderr, /0123456789ab: no job/);
    assert.equal((await waiting).code, 3);
    assert.deepEqual(jobProcessesOnMachine(id), []);
  });

  it('continues a conversation with reply', async () => {
    const id = (await cli(['run', 'first message', '--cwd', s.h.workdir()])).stdout.trim();
    await cli(['wait', id]);
    const r = await cli(['reply', id, '[[recall]]', '--wait']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /recall: \[.*first message.*\[\[recall\]\]/);
  });

  it('reply offers no --sandbox: a reply keeps its parent job\'s sandbox', async () => {
    assert.doesNotMatch((await cli(['reply', '--help'])).stdout, /--sandbox/);
    const id = (await cli(['run', 'first message', '--cwd', s.h.workdir()])).stdout.trim();
    const r = await cli(['reply', id, 'more', '--sandbox', 'workspace-write']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown option '--sandbox'/);
    await cli(['wait', id]);
  });

  it('gc deletes old finished jobs and their files, keeps what it is told to, never a running job', async () => {
    const home = tempDir('gc');
    const env = { CODEX_ASYNC_HOME: path.join(home, 'state') };
    const done: string[] = [];
    for (const n of [1, 2, 3]) {
      const id = (await cli(['run', `job ${n}`, '--cwd', s.h.workdir()], undefined, env)).stdout.trim();
      await cli(['wait', id], undefined, env);
      done.push(id);
    }
    const running = (await cli(['run', '[[shell:sleep 300]] keep me', '--cwd', s.h.workdir()], undefined, env)).stdout.trim();
    const dry = JSON.parse((await cli(['gc', '--older-than', '0s', '--keep', '1', '--dry-run', '--json'], undefined, env)).stdout);
    assert.deepEqual(dry.deleted.sort(), done.slice(0, 2).sort());
    assert.ok(fs.existsSync(path.join(env.CODEX_ASYNC_HOME, 'jobs', done[0]!)), 'dry run deletes nothing');
    const real = await cli(['gc', '--older-than', '0s', '--keep', '1'], undefined, env);
    assert.match(real.stdout, /deleted 2 jobs/);
    assert.ok(!fs.existsSync(path.join(env.CODEX_ASYNC_HOME, 'jobs', done[0]!)), 'files deleted');
    const left = JSON.parse((await cli(['ls', '--all', '--json'], undefined, env)).stdout).map((j: { job_id: string }) => j.job_id);
    assert.deepEqual(left.sort(), [done[2]!, running].sort());
    assert.match((await cli(['gc', '--older-than', '30d'], undefined, env)).stdout, /deleted 0 jobs/);
    await cli(['cancel', running], undefined, env);
  });

  it('finished jobs older than CODEX_ASYNC_RETENTION_DAYS go by themselves; running ones stay', async () => {
    const env = { CODEX_ASYNC_HOME: path.join(tempDir('retention'), 'state') };
    const old = (await cli(['run', 'soon forgotten', '--cwd', s.h.workdir(), '--wait', '--json'], undefined, env)).stdout;
    const oldId = JSON.parse(old).job_id;
    const running = (await cli(['run', '[[shell:sleep 300]] still running', '--cwd', s.h.workdir()], undefined, env)).stdout.trim();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // 0.00001 days is under a second: the server's first sweep collects the finished job.
    const server = await s.h.connect({ ...env, CODEX_ASYNC_RETENTION_DAYS: '0.00001' });
    await until('the finished job is deleted', async () => (await server.raw('codex_poll', { job_id: oldId })).isError);
    assert.ok(!fs.existsSync(path.join(env.CODEX_ASYNC_HOME, 'jobs', oldId)));
    assert.equal((await server.call('codex_poll', { job_id: running })).status, 'running');
    await server.call('codex_cancel', { job_id: running });
    await server.close();
  });

  it('answers mistakes with exit 2 and what to do', async () => {
    const unknown = await cli(['show', '0123456789ab']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no job "0123456789ab": check the id with `codex-async-mcp ls`/);
    const noPrompt = await cli(['run', '--cwd', s.h.workdir()], '');
    assert.equal(noPrompt.code, 2);
    const badSandbox = await cli(['run', 'x', '--sandbox', 'yolo']);
    assert.equal(badSandbox.code, 2);
    assert.match(badSandbox.stderr, /Allowed choices are read-only, workspace-write, danger-full-access/);
    const badAge = await cli(['gc', '--older-than', 'soon']);
    assert.equal(badAge.code, 2);
    assert.match(badAge.stderr, /--older-than takes an age like 30d/);
    const unfinished = (await cli(['run', '[[shell:sleep 300]] busy', '--cwd', s.h.workdir()])).stdout.trim();
    const early = await cli(['result', unfinished]);
    assert.equal(early.code, 2);
    assert.match(early.stderr, new RegExp(`still (queued|running): wait for it with \`codex-async-mcp wait ${unfinished}\``));
    await cli(['cancel', unfinished]);
    const unknownCommand = await cli(['frobnicate']);
    assert.equal(unknownCommand.code, 2);
    assert.match(unknownCommand.stderr, /unknown command 'frobnicate'/);
  });

  it('has --help with an example for every command, and colours only when asked', async () => {
    for (const command of ['run', 'ls', 'show', 'logs', 'wait', 'cancel', 'reply', 'result', 'gc', 'top', 'doctor', 'install', 'uninstall', 'serve', 'diff', 'apply', 'discard']) {
      const help = await cli([command, '--help']);
      assert.equal(help.code, 0, `${command} --help`);
      assert.match(help.stdout, /Examples?:\n  codex-async-mcp /, `${command} --help shows an example`);
    }
    const forced = await cli(['ls', '--all'], undefined, { FORCE_COLOR: '1' });
    assert.match(forced.stdout, /\x1b\[1mID/);
    const no = await cli(['ls', '--all'], undefined, { FORCE_COLOR: '1', NO_COLOR: '1' });
    assert.doesNotMatch(no.stdout, /\x1b\[/);
    assert.doesNotMatch((await cli(['--no-color', 'ls', '--all'], undefined, { FORCE_COLOR: '1' })).stdout, /\x1b\[/);
  });

  it('top without a terminal prints the running and queued jobs once', async () => {
    const id = (await cli(['run', '[[shell:sleep 300]] watched', '--cwd', s.h.workdir()])).stdout.trim();
    await until('it runs', async () => /running/.test((await cli(['show', id])).stdout));
    const top = await cli(['top']);
    assert.equal(top.code, 0, top.stderr);
    assert.match(top.stdout, /^ID\s+AGENT\s+STATUS\s+TIME\s+FILES\s+TOKENS\s+CHANGES\s+CWD\s+ACTIVITY/);
    assert.match(top.stdout, new RegExp(`${id}\\s+codex\\s+running`));
    assert.equal(JSON.parse((await cli(['top', '--json'])).stdout).some((j: { job_id: string }) => j.job_id === id), true);
    await cli(['cancel', id]);
  });

  it('doctor reports a job marked running whose processes are gone; the next command records it as lost', async () => {
    const env = { CODEX_ASYNC_HOME: path.join(tempDir('stuck'), 'state') };
    const id = (await cli(['run', '[[shell:sleep 300]] killed behind our back', '--cwd', s.h.workdir()], undefined, env)).stdout.trim();
    await until('it runs', async () => /sleep 300/.test((await cli(['show', id], undefined, env)).stdout));
    await killJobProcesses(env.CODEX_ASYNC_HOME, id);
    const doctor = await cli(['doctor'], undefined, env);
    assert.match(doctor.stdout, new RegExp(`^WARN\\s+jobs\\s+1 running; marked running but their process is gone: ${id}`, 'm'));
    const listed = JSON.parse((await cli(['ls', '--json'], undefined, env)).stdout);
    assert.equal(listed[0].status, 'failed');
    assert.equal(listed[0].error.kind, 'lost');
  });

  it('doctor passes a working custom model provider that needs no key (the test harness\'s own)', async () => {
    const r = await cli(['doctor']);
    assert.match(r.stdout, /^OK\s+node\s+Node\.js/m);
    assert.match(r.stdout, /^OK\s+codex\s+codex 0\.169\.0 at /m);
    assert.match(r.stdout, /^OK\s+git\s+git 2\.\d+/m);
    assert.match(r.stdout, new RegExp(`^OK\\s+provider\\s+provider mock \\(${s.h.mock.url}\\), no key needed$`, 'm'));
    assert.doesNotMatch(r.stdout, /^\w+\s+login\s/m, 'a provider that takes no OpenAI credentials needs no login');
    assert.match(r.stdout, /^OK\s+database\s+/m);
    assert.match(r.stdout, /^OK\s+disk\s+[\d.]+ GiB free/m);
    assert.equal(r.code, 0, r.stdout);
  });

  it('doctor fails a provider whose env_key is not set, naming the variable, and passes once it is', async () => {
    const codexHome = tempDir('codex-azure');
    fs.writeFileSync(
      path.join(codexHome, 'config.toml'),
      [
        'profile = "work"',
        'model_provider = "mock"',
        '[profiles.work]',
        'model_provider = "azure"',
        '[model_providers.azure]',
        'name = "Azure"',
        'base_url = "https://example.openai.azure.com/openai"',
        'env_key = "AZURE_OPENAI_API_KEY"',
        '',
      ].join('\n'),
    );
    const r = await cli(['doctor'], undefined, { CODEX_HOME: codexHome });
    assert.match(r.stdout, /^FAIL\s+provider\s+provider azure \(https:\/\/example\.openai\.azure\.com\/openai\), profile work needs AZURE_OPENAI_API_KEY, not set$/m);
    assert.match(r.stdout, /→ set AZURE_OPENAI_API_KEY where the server is started/);
    assert.equal(r.code, 1);
    const ok = await cli(['doctor'], undefined, { CODEX_HOME: codexHome, AZURE_OPENAI_API_KEY: 'not-a-real-key' });
    assert.match(ok.stdout, /^OK\s+provider\s+provider azure .*key from AZURE_OPENAI_API_KEY$/m);
    assert.equal(ok.code, 0, ok.stdout);
  });

  it('doctor asks codex for its login when the provider is OpenAI, and fails when it is not logged in', async () => {
    const codexHome = tempDir('codex-openai');
    fs.writeFileSync(path.join(codexHome, 'config.toml'), 'model = "gpt-5.5"\n');
    const env = { CODEX_HOME: codexHome };
    const r = await cli(['doctor'], undefined, env);
    assert.match(r.stdout, /^OK\s+provider\s+provider openai \(OpenAI's API\), needs an OpenAI login$/m);
    assert.match(r.stdout, /^FAIL\s+login\s+not logged in/m);
    assert.match(r.stdout, /→ run `codex login`/);
    assert.equal(r.code, 1);
    // Logged in with an API key (offline: codex only stores it), everything is OK.
    const login = spawn(path.join(path.dirname(SERVER_MAIN), '../../node_modules/.bin/codex'), ['login', '--with-api-key'], { env: s.h.env(env), stdio: ['pipe', 'ignore', 'ignore'] });
    login.stdin.end('sk-test-not-a-real-key\n');
    await new Promise((resolve) => login.on('close', resolve));
    const ok = await cli(['doctor', '--json'], undefined, env);
    const checks = JSON.parse(ok.stdout);
    assert.equal(checks.checks.find((c: { name: string }) => c.name === 'login').level, 'ok', ok.stdout);
    assert.equal(ok.code, 0, ok.stdout);
  });
});
