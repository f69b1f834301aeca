import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { jobIdsOfHome, useHarness, waitFinal } from './helpers/harness.ts';

function statOf(pid: string): { state: string; startTime: string } | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, startTime: fields[19]! };
  } catch {
    return null;
  }
}

const isCodex = (argv: string[]) =>
  path.basename(argv[0] ?? '') === 'codex' || (path.basename(argv[0] ?? '') === 'node' && path.basename(argv[1] ?? '') === 'codex');

/**
 * Jobs of this home with a codex process (the npm launcher or the native binary; not the wrapper
 * shell, nor helpers codex spawns) alive at one same moment. A pass over /proc is not atomic, so
 * each process found is checked again after the pass: alive (same start time) at both looks means
 * alive all along, so every job counted had its codex alive at the moment between the two passes.
 */
function jobsWithLiveCodex(home: string): Set<string> {
  const found = new Map<string, { job: string; startTime: string }>();
  const ofHome = new Set(jobIdsOfHome(home));
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = statOf(pid);
      if (!stat || stat.state === 'Z') continue;
      const env = fs.readFileSync(`/proc/${pid}/environ`);
      const job = /(?:^|\0)CODEX_ASYNC_JOB_ID=([0-9a-f]{12})(?:\.\d+)?\0/.exec(env.toString('latin1'))?.[1];
      if (job && ofHome.has(job) && isCodex(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'))) found.set(pid, { job, startTime: stat.startTime });
    } catch {
      // Gone while we looked.
    }
  }
  const jobs = new Set<string>();
  for (const [pid, { job, startTime }] of found) {
    const now = statOf(pid);
    if (now && now.state !== 'Z' && now.startTime === startTime) jobs.add(job);
  }
  return jobs;
}

describe('stress', () => {
  const s = useHarness();

  it('3 servers on one home, 100 concurrent starts spread over them, max 4 concurrent', async () => {
    const env = { CODEX_ASYNC_MAX_CONCURRENT: '4' };
    const servers = [await s.h.connect(env), await s.h.connect(env), await s.h.connect(env)];
    const cwd = s.h.workdir();
    const prompts = Array.from({ length: 100 }, (_, i) => `stress ${i}`);

    let maxRunning = 0;
    let maxLiveCodex = 0;
    let samples = 0;
    let allFinal = false;
    const sampling = (async () => {
      for (let i = 0; !allFinal; i++) {
        const running = (await servers[i % 3]!.call('codex_list', { status: 'running', limit: 200 })).jobs.length;
        maxRunning = Math.max(maxRunning, running);
        maxLiveCodex = Math.max(maxLiveCodex, jobsWithLiveCodex(s.h.home).size);
        samples++;
        await new Promise((r) => setTimeout(r, 25));
      }
    })();

    const started = await Promise.all(prompts.map((prompt, i) => servers[i % 3]!.call('codex_start', { prompt, cwd, label: 'stress' })));
    assert.equal(new Set(started.map((r) => r.job_id)).size, 100, '100 distinct jobs');
    try {
      for (const [i, { job_id }] of started.entries()) {
        const done = await waitFinal(servers[(i + 1) % 3]!, job_id, 180);
        assert.equal(done.status, 'completed', `job ${i}: ${JSON.stringify(done.error)}`);
        assert.equal(done.last_message, `mock answer: ${prompts[i]}`);
      }
    } finally {
      allFinal = true;
      await sampling;
    }

    const all = (await servers[0]!.call('codex_list', { label: 'stress', limit: 200 })).jobs;
    assert.equal(all.length, 100);
    assert.ok(all.every((j: any) => j.status === 'completed'));
    assert.ok(maxRunning >= 1 && maxRunning <= 4, `at most 4 running at once (saw ${maxRunning})`);
    assert.ok(maxLiveCodex >= 1 && maxLiveCodex <= 4, `at most 4 jobs' codex processes alive at once (saw ${maxLiveCodex})`);
    assert.ok(samples > 10, `sampled the running set (${samples} samples)`);
    for (const prompt of prompts) {
      assert.equal(s.h.mock.requests.filter((r) => r.prompt === prompt).length, 1, `"${prompt}" ran exactly once`);
    }
    for (const conn of servers) await conn.close();
  });
});
