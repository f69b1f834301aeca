import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ToolError } from '../src/errors.ts';
import type { Job } from '../src/jobs/store.ts';
import type { ReplyInput, StartInput } from '../src/engine/api.ts';
import { plan, planReply, type Look, type Plan, type PlanConfig } from '../src/engine/plan.ts';
import { tempDir } from './helpers/harness.ts';

// A start's plan decided without an engine, a store, git or an agent binary: what needs a process
// comes through Look, and each case says what it answers. The MCP-level tests (input-validation,
// worktrees, agent-*) show the same checks through a server.

const cwd = fs.realpathSync(tempDir('plan'));
const config: PlanConfig = {
  allowDangerous: false,
  allowedRoots: null,
  home: path.join(cwd, '..', `plan-home-${process.pid}`),
  defaultIsolation: 'none',
  defaultTimeoutSeconds: 3600,
};

/** A machine with everything in place: cwd is a checkout's top, every agent found, the sandbox works. */
function look(over: Partial<Look> = {}, asked: string[] = []): Look {
  return {
    repo: async (dir) => (asked.push(`repo ${dir}`), { root: dir, subdir: '' }),
    unsupported: async () => (asked.push('unsupported'), null),
    agent: async (name) => void asked.push(`agent ${name}`),
    sandbox: async () => (asked.push('sandbox'), { ok: true, kind: 'bubblewrap', binary: '/usr/bin/bwrap' }),
    job: (id) => {
      throw new ToolError('not_found', `no job "${id}"`);
    },
    ...over,
  };
}

const refused = (result: Plan | ToolError, kind: string, words: RegExp) => {
  assert.ok(result instanceof ToolError, `expected a refusal, got a plan: ${JSON.stringify(result).slice(0, 200)}`);
  assert.equal(result.kind, kind);
  assert.match(result.message, words);
};

describe('plan: a start refused', () => {
  const cases: Array<[what: string, input: Partial<StartInput>, machine: Partial<Look>, kind: string, words: RegExp]> = [
    ['an empty prompt', { prompt: '  ' }, {}, 'invalid_input', /prompt is empty/],
    ['runner labels without a fleet', { runner_labels: ['gpu'] }, {}, 'invalid_input', /CODEX_ASYNC_REDIS_URL/],
    ['an unknown agent', { agent: 'cobol' }, {}, 'invalid_input', /agent must be one of/],
    ['an option the agent cannot take', { agent: 'gemini', output_schema: { type: 'object' } }, {}, 'invalid_input', /cannot take output_schema/],
    ['a relative cwd', { cwd: 'src' }, {}, 'invalid_input', /absolute path/],
    ['several attempts in the checkout', { attempts: 2, isolation: 'none' }, {}, 'invalid_input', /worktree of its own/],
    ['a worktree outside any checkout', { isolation: 'worktree' }, { repo: async () => null }, 'invalid_input', /not inside a git repository/],
    ['a checkout that cannot have a worktree', { isolation: 'worktree' }, { unsupported: async () => 'it has submodules' }, 'invalid_input', /submodules/],
    ['a setup without a worktree', { setup_command: 'npm ci' }, {}, 'invalid_input', /isolation "worktree"/],
    [
      'an agent not installed',
      {},
      {
        agent: async () => {
          throw new ToolError('codex_unavailable', 'codex not found');
        },
      },
      'codex_unavailable',
      /codex not found/,
    ],
    [
      'our sandbox not working for an agent it confines',
      { agent: 'claude', sandbox: 'workspace-write' },
      { sandbox: async () => ({ ok: false, kind: 'bubblewrap', reason: 'bwrap is missing', fix: 'install bubblewrap' }) },
      'sandbox_unavailable',
      /bwrap is missing/,
    ],
    ['a bad model name', { model: '--yolo' }, {}, 'invalid_input', /not a model name/],
    ['a timeout past a week', { timeout_seconds: 8 * 24 * 3600 }, {}, 'invalid_input', /timeout_seconds must be/],
  ];
  for (const [what, input, machine, kind, words] of cases) {
    it(`refuses ${what}, as a value`, async () => {
      refused(await plan({ prompt: 'fix it', cwd, ...input }, config, look(machine)), kind, words);
    });
  }

  it('checks the request before asking the machine anything', async () => {
    const asked: string[] = [];
    refused(await plan({ prompt: 'fix it', cwd, attempts: 9 }, config, look({}, asked)), 'invalid_input', /attempts must be/);
    assert.deepEqual(asked, []);
  });

  it('refuses fleet ids that do not match the attempts', async () => {
    refused(await plan({ prompt: 'fix it', cwd, attempts: 2 }, config, look(), { ids: ['aaaaaaaaaaaa'], groupId: null }), 'invalid_input', /1 job ids for 2 attempts/);
  });
});

describe('plan: a start planned', () => {
  it('plans one job per attempt in a worktree not yet placed, and writes nothing', async () => {
    const asked: string[] = [];
    const before = fs.readdirSync(cwd);
    const result = await plan({ prompt: 'fix it', cwd, agents: ['codex', 'claude'], sandbox: 'workspace-write', label: 'try' }, config, look({}, asked));
    assert.ok(!(result instanceof ToolError), String(result));
    assert.deepEqual(
      result.jobs.map((job) => [job.agent, job.isolation, job.label, job.prompt_bytes]),
      [
        ['codex', 'worktree', 'try', 6],
        ['claude', 'worktree', 'try', 6],
      ],
    );
    // Each attempt gets its place and branch from its id when the engine acts on the plan.
    assert.deepEqual([result.workspace.kind, result.workspace.state, result.workspace.path, result.workspace.branch], ['worktree', 'preparing', null, null]);
    assert.deepEqual(asked, [`repo ${cwd}`, 'unsupported', 'agent codex', 'agent claude', 'sandbox']);
    assert.deepEqual(fs.readdirSync(cwd), before);
    assert.equal(fs.existsSync(config.home), false);
  });
});

describe('plan: a reply', () => {
  const parent = (over: Partial<Job>): Job =>
    ({
      id: 'abcdef012345',
      agent: 'codex',
      status: 'completed',
      thread_id: 'thread-0001',
      cwd,
      sandbox: 'workspace-write',
      approval_policy: null,
      add_dirs: [],
      include: [],
      workspace: { kind: 'worktree', state: 'discarded', repo: cwd, subdir: '', path: '/w/abcdef012345', branch: 'codex/abcdef012345' },
      ...over,
    }) as unknown as Job;

  const cases: Array<[what: string, input: Partial<ReplyInput>, job: Job | null, kind: string, words: RegExp]> = [
    ['neither job_id nor thread_id', {}, null, 'invalid_input', /give job_id .* or thread_id/],
    ['both job_id and thread_id', { job_id: 'abcdef012345', thread_id: 'thread-0001' }, null, 'invalid_input', /not both/],
    ['cwd with job_id', { job_id: 'abcdef012345', cwd }, null, 'invalid_input', /cwd comes from the parent job/],
    ['a parent whose worktree was discarded', { job_id: 'abcdef012345' }, parent({}), 'conflict', /was discarded/],
    ['a parent with no session yet', { job_id: 'abcdef012345' }, parent({ status: 'running', thread_id: null }), 'not_finished', /no Codex session yet|has no .* session yet/],
    ['a thread id that is not one', { thread_id: 'x;rm', cwd }, null, 'invalid_input', /is not a .* session id/],
  ];
  for (const [what, input, job, kind, words] of cases) {
    it(`refuses ${what}`, async () => {
      const machine = look(job ? { job: () => job } : {});
      refused(await planReply({ prompt: 'go on', ...input }, config, machine), kind, words);
    });
  }

  it("continues in its parent's worktree, its setup not run again", async () => {
    const ready = parent({ workspace: { ...parent({}).workspace, state: 'ready' }, include: ['.env'], setup_command: 'npm ci' } as Partial<Job>);
    const result = await planReply({ prompt: 'go on', job_id: 'abcdef', timeout_seconds: 60 }, config, look({ job: () => ready }));
    assert.ok(!(result instanceof ToolError), String(result));
    assert.equal(result.threadId, 'thread-0001');
    assert.equal(result.workspace, ready.workspace);
    assert.deepEqual(
      [result.jobs[0]!.parent_job_id, result.jobs[0]!.setup_command, result.jobs[0]!.include, result.jobs[0]!.timeout_seconds],
      ['abcdef012345', null, ['.env'], 60],
    );
  });
});
