/**
 * What a client sees of one server, as samples: cold start, the first codex_start, codex_poll beside
 * real work, completion visibility, idle memory. Each takes the harness whose server it measures
 * (bench/builds.ts makes one for another build) and its sample count, so bench/run.ts reports them
 * for today's build and bench/lean.ts runs the same code on two builds in turn.
 */
import fs from 'node:fs';
import path from 'node:path';
import { tempDir, waitFinal, type Harness } from '../test/helpers/harness.ts';
import { rssMb, sleep, timed } from './lib.ts';

/** Named samples in ms, and the p99 target the issue set for them, if any. */
export interface Measured {
  name: string;
  samples: number[];
  target?: number;
}

export async function coldStart(h: Harness, n = 15): Promise<Measured[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const [t, conn] = await timed(async () => {
      const c = await h.connect();
      await c.client.listTools();
      return c;
    });
    samples.push(t);
    await conn.close();
  }
  return [{ name: 'cold start: spawn → tools/list answered', samples, target: 300 }];
}

/**
 * The first codex_start a fresh server answers, as a client sees it: connect (initialize), then
 * start at once. The second start on the same server, once the first job is done, is the steady
 * state to compare with. The servers share one state home, as a user's servers do, unless
 * `freshHome`: then each has a new one (a new project's home), so nothing read per home helps.
 */
export async function firstStart(h: Harness, opts: { n?: number; freshHome?: boolean } = {}): Promise<Measured[]> {
  const n = opts.n ?? 12;
  const cwd = h.workdir();
  const first: number[] = [];
  const second: number[] = [];
  for (let i = 0; i < n; i++) {
    const conn = await h.connect(opts.freshHome ? { CODEX_ASYNC_HOME: path.join(tempDir('first-home'), 'state') } : {});
    const [t1, a] = await timed(() => conn.call('codex_start', { prompt: `first ${i}`, cwd }));
    await waitFinal(conn, a.job_id);
    const [t2, b] = await timed(() => conn.call('codex_start', { prompt: `second ${i}`, cwd }));
    first.push(t1);
    second.push(t2);
    await waitFinal(conn, b.job_id);
    await conn.close();
  }
  const servers = `${n} fresh servers${opts.freshHome ? ', each on a fresh home' : ''}`;
  return [
    { name: `first codex_start after server start (${servers})`, samples: first, target: 10 },
    { name: 'second codex_start on the same servers', samples: second, target: 10 },
  ];
}

/**
 * codex_poll on a running job and the MCP ping, interleaved, while two real codex jobs run back to
 * back (each one a codex start-up, a shell command printing for about a second, and a follow-up
 * turn), so both see the same load: what a client polling during real work gets.
 */
export async function pollUnderLoad(h: Harness, n = 400): Promise<Measured[]> {
  const conn = await h.connect({ CODEX_ASYNC_MAX_CONCURRENT: '2' });
  const cwd = h.workdir();
  let stop = false;
  let latest = '';
  const stream = '[[shell:i=0; while [ $i -lt 20 ]; do echo line $i; i=$((i+1)); sleep 0.05; done]]';
  const feeder = async (lane: number) => {
    for (let k = 0; !stop; k++) {
      const { job_id } = await conn.call('codex_start', { prompt: `${stream} load ${lane}.${k}`, cwd });
      latest = job_id;
      await waitFinal(conn, job_id);
    }
  };
  const lanes = [feeder(0), feeder(1)];
  while (!latest) await sleep(10);
  await sleep(1000);
  const polls: number[] = [];
  const pings: number[] = [];
  for (let i = 0; i < n; i++) {
    pings.push((await timed(() => conn.client.ping()))[0]);
    polls.push((await timed(() => conn.call('codex_poll', { job_id: latest })))[0]);
    await sleep(10);
  }
  stop = true;
  await Promise.all(lanes);
  await conn.close();
  return [
    { name: 'MCP ping round trip, 2 real codex jobs running', samples: pings },
    { name: 'codex_poll of a running job, 2 real codex jobs running', samples: polls },
  ];
}

export async function completionVisibility(h: Harness, n = 30): Promise<Measured[]> {
  const conn = await h.connect();
  const cwd = h.workdir();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const { job_id } = await conn.call('codex_start', { prompt: `[[slow:300]] visible ${i}`, cwd });
    await conn.call('codex_wait', { job_ids: [job_id], timeout_seconds: 30 });
    const seen = Date.now();
    samples.push(seen - fs.statSync(path.join(h.home, 'jobs', job_id, 'exit')).mtimeMs);
  }
  await conn.close();
  return [{ name: 'completion visible: codex exits → codex_wait returns', samples, target: 25 }];
}

/** Resident memory of fresh idle servers (connected, tools listed, nothing started), 1 s after start, in MB. */
export async function idleRssSamples(h: Harness, n = 6): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const conn = await h.connect();
    await conn.client.listTools();
    await sleep(1000);
    samples.push(rssMb(conn.pid));
    await conn.close();
  }
  return samples;
}
