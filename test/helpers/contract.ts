/**
 * The contract every agent keeps, run the same way for each: the real CLI, started by our server
 * for an MCP client, against a loopback mock of that agent's model API. An agent's test file calls
 * agentContract() with its mock and the environment that points the CLI at it, and adds what is
 * special to that agent.
 *
 * The mocks share their markers (see mockResponses.ts): a prompt with [[shell:CMD]] makes the model
 * run CMD with the CLI's shell tool, [[patch:FILE]] write FILE with its file tool, [[fail:MSG]] fail
 * with MSG, [[hang]] never answer, [[slow:MS]] answer late, [[recall]] answer with every user
 * message of the conversation so far.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it as test } from 'node:test';
import type { Sandbox } from '../../src/agents/access.ts';
import { binEnvOf, type EventStream, type RunSpec } from '../../src/agents/agent.ts';
import { AgentLocator } from '../../src/agents/binary.ts';
import { agentOf } from '../../src/agents/registry.ts';
import { emptyProgress, type Progress } from '../../src/agents/progress.ts';
import { checkoutState, gitRepo } from './git.ts';
import { cliIn, commandLine, jobProcessesOnMachine, ROOT, until, useHarness, waitFinal, type Connection, type Harness } from './harness.ts';
import { SANDBOX_MISSING } from './sandbox.ts';

export interface AgentMock {
  url: string;
  requests: Array<{ prompt: string; body: any }>;
  otherRequests: unknown[];
  close(): Promise<void>;
}

export interface AgentUnderTest {
  agent: 'codex' | 'claude' | 'copilot' | 'gemini';
  startMock(): Promise<AgentMock>;
  /** Environment for the server (so for the agent) to reach the mock offline. userHome is the tests' private HOME. */
  env(mock: AgentMock, userHome: string): Record<string, string>;
  /** The least access under which the agent may run a shell command (default workspace-write). */
  shellAccess?: Sandbox;
}

/** The progress a job shows after reading these lines, as the job store folds them. */
export function foldLines(stream: EventStream, lines: readonly string[]): Progress {
  const progress = emptyProgress();
  for (const line of lines) stream.fold(line, progress);
  return progress;
}

/** A recording of several runs of a CLI (test/fixtures/NAME), split into runs at each line `starts`. */
export function recordedRuns(name: string, starts: (line: string) => boolean): string[][] {
  const runs: string[][] = [];
  for (const line of fs.readFileSync(path.join(ROOT, 'test/fixtures', name), 'utf8').split('\n').filter(Boolean)) {
    if (starts(line)) runs.push([]);
    runs.at(-1)!.push(line);
  }
  return runs;
}

/** One launch as the engine describes it to an adapter, for tests of an adapter's argv and environment. */
export const runSpec = (over: Partial<RunSpec> = {}): RunSpec => ({
  jobId: 'abc123def456',
  cwd: '/w',
  access: { sandbox: 'workspace-write', bypass: false },
  lastMessageFile: '/jobs/abc123def456/last.txt',
  jobDir: '/jobs/abc123def456',
  model: null,
  reasoningEffort: null,
  outputSchemaFile: null,
  images: [],
  addDirs: [],
  resume: null,
  privateTmp: false,
  ...over,
});


/**
 * For the enclosing describe(): a harness, the agent's mock, and one server pointed at it (`s.h`,
 * `s.mock`, `s.env`, `s.conn`), its settings `extra` on top.
 */
export function useAgentServer(a: Pick<AgentUnderTest, 'startMock' | 'env'>, extra: Record<string, string> = {}): { h: Harness; mock: AgentMock; env: Record<string, string>; conn: Connection } {
  const s = useHarness() as { h: Harness; mock: AgentMock; env: Record<string, string>; conn: Connection };
  before(async () => {
    s.mock = await a.startMock();
    s.env = { ...extra, ...a.env(s.mock, s.h.env().HOME!) };
    s.conn = await s.h.connect(s.env);
  });
  after(() => s.mock?.close());
  return s;
}

/**
 * The contract's cases, by what they exercise. `argv` ones depend on the CLI's options and output
 * (its flags for each access mode, resuming, its exit on a signal, the stream it prints); `server`
 * ones on our server alone (its command line, its timeout, its surviving a kill), whatever release
 * of the CLI runs under it.
 */
export type ContractCase = 'complete' | 'commands' | 'access' | 'worktree' | 'fail' | 'cancel' | 'reply' | 'cli' | 'timeout' | 'survive';
export const CLI_CASES: readonly ContractCase[] = ['complete', 'commands', 'access', 'worktree', 'fail', 'cancel', 'reply'];

export interface ContractOptions {
  /** Named in the describe(): which release of the CLI runs (the pinned newest unless said). */
  release?: string;
  /** Only these cases (default all). */
  only?: readonly ContractCase[];
  /** Tests of its own, run first on the same server. */
  before?: (s: ReturnType<typeof useAgentServer>) => void;
}

/**
 * The contract's CLI cases for the oldest release the adapter supports: `a`'s environment points
 * <NAME>_BIN at it (agentMocks.ts, mockedFloor). The server cases are left to the newest release's
 * run: they would take as long again and test nothing a release changes.
 */
export function agentFloorContract(a: AgentUnderTest): void {
  const agent = agentOf(a.agent);
  agentContract(a, {
    release: `the oldest release supported (${agent.floor})`,
    only: CLI_CASES,
    before: (s) =>
      test('runs the release the adapter names as its oldest (test/cli-floors pins the same)', async () => {
        const found = await new AgentLocator(agent, s.env[binEnvOf(a.agent)], s.h.env().PATH!).find();
        assert.equal(found.version, agent.floor, `${found.path}`);
      }),
  });
}

export function agentContract(a: AgentUnderTest, opts: ContractOptions = {}): void {
  // Every agent but codex runs in our sandbox in the contract's modes: without bubblewrap the server refuses it.
  const skip = a.agent === 'codex' ? false : SANDBOX_MISSING;
  describe(opts.release ? `${a.agent} contract, ${opts.release}` : `${a.agent} contract`, { skip }, () => {
    const s = useAgentServer(a, { CODEX_ASYNC_ALLOW_DANGEROUS: '1' });
    const shellAccess = a.shellAccess ?? 'workspace-write';
    const it = (which: ContractCase, name: string, fn: () => Promise<void>) => {
      if (!opts.only || opts.only.includes(which)) test(name, fn);
    };
    opts.before?.(s);

    const start = (prompt: string, extra: Record<string, unknown> = {}) =>
      s.conn.call('codex_start', { prompt, cwd: s.h.workdir(), agent: a.agent, ...extra });

    it('complete', 'starts at once and completes with the model\'s answer and a session to continue', async () => {
      const started = await start('say hello to the contract');
      assert.match(started.job_id, /^[0-9a-f]{12}$/);
      assert.ok(['queued', 'running'].includes(started.status), started.status);
      const done = await waitFinal(s.conn, started.job_id);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.equal(done.agent, a.agent);
      assert.match(done.last_message, /mock answer: say hello to the contract/);
      assert.ok(done.thread_id, 'the session id is recorded');
      const result = await s.conn.call('codex_result', { job_id: started.job_id });
      assert.match(result.final_message, /mock answer: say hello to the contract/);
    });

    it('cli', 'runs from the command line: run --agent … --wait prints the answer and exits 0', async () => {
      const r = await cliIn(s.h.env(s.env), ['run', '--agent', a.agent, 'hello from the shell', '--cwd', s.h.workdir(), '--wait']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /✔ job [0-9a-f]{12} completed in \d+s[^\n]*\nmock answer: hello from the shell\n/);
    });

    it('commands', 'shows the commands it ran and the tokens it used', async () => {
      // No $(...) or backticks: Gemini CLI's shell tool refuses any command substitution, in every mode.
      const { job_id } = await start('[[shell:expr 40 + 2 | sed s/^/contract-/]] [[usage:1234,56]]', { sandbox: shellAccess });
      const done = await waitFinal(s.conn, job_id);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.match(done.last_message, /shell output: [\s\S]*contract-42/);
      assert.ok(done.progress.commands_run >= 1, JSON.stringify(done.progress));
      assert.ok(done.progress.usage, 'usage recorded');
      assert.ok(done.progress.usage.input_tokens >= 1234, JSON.stringify(done.progress.usage));
      assert.ok(done.progress.usage.output_tokens >= 56, JSON.stringify(done.progress.usage));
    });

    it('access', 'writes a file under workspace-write and is refused under read-only', async () => {
      const writable = s.h.workdir();
      const wrote = await waitFinal(s.conn, (await start('[[patch:made.txt]]', { cwd: writable, sandbox: 'workspace-write' })).job_id);
      assert.equal(wrote.status, 'completed', JSON.stringify(wrote.error));
      assert.equal(fs.readFileSync(path.join(writable, 'made.txt'), 'utf8').trim(), 'x');
      assert.ok(wrote.progress.files_changed.some((f: { path: string }) => f.path.endsWith('made.txt')), JSON.stringify(wrote.progress));

      const readOnly = s.h.workdir();
      await waitFinal(s.conn, (await start('[[patch:refused.txt]]', { cwd: readOnly, sandbox: 'read-only' })).job_id);
      assert.equal(fs.existsSync(path.join(readOnly, 'refused.txt')), false, 'nothing written under read-only');
    });

    it('worktree', 'works in a worktree of its own, its check run after it: the checkout untouched until the change is applied', async () => {
      const repo = gitRepo({ 'README.md': 'hello\n' });
      const before = checkoutState(repo);
      const started = await start('[[patch:from-worktree.txt]]', {
        cwd: repo,
        sandbox: 'workspace-write',
        isolation: 'worktree',
        check_command: 'test -f from-worktree.txt',
      });
      const done = await waitFinal(s.conn, started.job_id);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.equal(done.check.passed, true, `the check ran after the completed turn: ${JSON.stringify(done.check)}`);
      assert.equal(checkoutState(repo), before, 'the checkout is untouched');
      const diff = await s.conn.call('codex_diff', { job_id: started.job_id, stat_only: true });
      assert.deepEqual(diff.files.map((f: { path: string }) => f.path), ['from-worktree.txt']);
      const applied = await s.conn.call('codex_apply', { job_id: started.job_id });
      assert.equal(applied.applied, true, applied.message);
      assert.equal(fs.readFileSync(path.join(repo, 'from-worktree.txt'), 'utf8').trim(), 'x');
    });

    it('fail', 'ends failed with the model\'s reason when the model fails', async () => {
      const done = await waitFinal(s.conn, (await start('[[fail:contract-boom]]')).job_id);
      assert.equal(done.status, 'failed');
      assert.match(done.error.message, /contract-boom/);
    });

    it('cancel', 'cancel ends every process the agent started, its tools\' process groups included', async () => {
      // Not a bare `sleep 307`: Claude Code refuses a command that starts with a sleep of 25 s or more.
      const { job_id } = await start('[[shell:true && sleep 307]]', { sandbox: shellAccess });
      await until('the shell command to run', () => jobProcessesOnMachine(job_id).some((pid) => /\bsleep 307\b/.test(commandLine(pid))), 60_000);
      const cancelled = await s.conn.call('codex_cancel', { job_id });
      assert.ok(['cancelled', 'running'].includes(cancelled.status), cancelled.status);
      const done = await waitFinal(s.conn, job_id);
      assert.equal(done.status, 'cancelled', JSON.stringify(done.error));
      await until('every process of the job to end', () => jobProcessesOnMachine(job_id).length === 0, 30_000);
    });

    it('timeout', 'stops at its timeout', async () => {
      const { job_id } = await start('[[hang]]', { timeout_seconds: 5 });
      const done = await waitFinal(s.conn, job_id);
      assert.equal(done.status, 'failed');
      assert.equal(done.error.kind, 'timeout');
      await until('every process of the job to end', () => jobProcessesOnMachine(job_id).length === 0, 30_000);
    });

    it('reply', 'a reply continues the same session: the model sees the earlier turn', async () => {
      const first = await waitFinal(s.conn, (await start('remember the word kumquat')).job_id);
      assert.equal(first.status, 'completed', JSON.stringify(first.error));
      const reply = await s.conn.call('codex_reply', { job_id: first.job_id, prompt: '[[recall]]' });
      const done = await waitFinal(s.conn, reply.job_id);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.equal(done.agent, a.agent);
      assert.match(done.last_message, /recall: .*remember the word kumquat/);
      assert.equal(done.thread_id, first.thread_id);
    });

    it('survive', 'survives the server being killed', async () => {
      const { job_id } = await start('[[slow:3000]] outlive the server');
      await until('the agent to start', () => jobProcessesOnMachine(job_id).length > 0, 60_000);
      process.kill(s.conn.pid, 'SIGKILL');
      await s.conn.close().catch(() => undefined);
      s.conn = await s.h.connect(s.env);
      const done = await waitFinal(s.conn, job_id);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.match(done.last_message, /mock answer: .*outlive the server/);
    });
  });
}
