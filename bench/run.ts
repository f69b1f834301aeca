/**
 * Measures what the server adds on top of codex, with the real codex binary against the loopback
 * mock Responses API, driven through the MCP SDK client over stdio. Prints the figures and writes
 * BENCHMARKS.md. Not part of `npm test`: numbers on a shared machine are not assertions.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CODEX_BIN, ROOT, startHarness, tempDir, waitFinal, type Connection } from '../test/helpers/harness.ts';

interface Stat {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

function stats(samples: number[]): Stat {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
  return { n: s.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s.at(-1)! };
}

const ms = (x: number) => x.toFixed(2);
const row = (name: string, st: Stat) => `| ${name} | ${st.n} | ${ms(st.p50)} | ${ms(st.p95)} | ${ms(st.p99)} | ${ms(st.max)} |`;

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const r = await fn();
  return [performance.now() - t, r];
}

function rssKb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function main() {
  const h = await startHarness();
  const lines: string[] = [];
  const table = (title: string, rows: string[]) => {
    lines.push(`### ${title}`, '', '| measure | n | p50 ms | p95 ms | p99 ms | max ms |', '|---|---|---|---|---|---|', ...rows, '');
  };
  const conn: Connection = await h.connect({ CODEX_ASYNC_MAX_CONCURRENT: '4' });
  const cwd = h.workdir();

  // Warm up: first codex run pays for disk caches.
  await waitFinal(conn, (await conn.call('codex_start', { prompt: 'warm up', cwd })).job_id);

  // 1. codex_start round trip, idle (one job at a time).
  const startIdle: number[] = [];
  for (let i = 0; i < 30; i++) {
    const [t, r] = await timed(() => conn.call('codex_start', { prompt: `start ${i}`, cwd }));
    startIdle.push(t);
    await waitFinal(conn, r.job_id);
  }

  // 2. codex_start with 200 queued jobs (max concurrency kept busy by slow jobs).
  const blockers = await Promise.all(
    Array.from({ length: 4 }, (_, i) => conn.call('codex_start', { prompt: `[[slow:60000]] blocker ${i}`, cwd })),
  );
  const queued: string[] = [];
  const startQueued: number[] = [];
  for (let i = 0; i < 200; i++) {
    const [t, r] = await timed(() => conn.call('codex_start', { prompt: `queued ${i}`, cwd, label: 'bench-queued' }));
    startQueued.push(t);
    queued.push(r.job_id);
  }

  // 3. codex_poll on a running job and on logs of 1 KB, 100 MB.
  const pollRunning: number[] = [];
  for (let i = 0; i < 200; i++) pollRunning.push((await timed(() => conn.call('codex_poll', { job_id: blockers[0].job_id })))[0]);

  for (const id of queued) await conn.call('codex_cancel', { job_id: id });
  for (const b of blockers) await conn.call('codex_cancel', { job_id: b.job_id });

  const small = await waitFinal(conn, (await conn.call('codex_start', { prompt: '[[shell:echo hi]] small log', cwd })).job_id);
  const big = await waitFinal(conn, (await conn.call('codex_start', { prompt: '[[shell:echo hi]] big log', cwd })).job_id);
  const bigLog = path.join(h.home, 'jobs', big.job_id, 'events.jsonl');
  const filler = `${JSON.stringify({ type: 'item.completed', item: { id: 'f', type: 'agent_message', text: 'y'.repeat(1000) } })}\n`;
  const chunk = filler.repeat(1024);
  const fd = fs.openSync(bigLog, 'a');
  while (fs.fstatSync(fd).size < 100 * 1024 * 1024) fs.writeSync(fd, chunk);
  fs.closeSync(fd);
  const smallSize = fs.statSync(path.join(h.home, 'jobs', small.job_id, 'events.jsonl')).size;
  const pollSmall: number[] = [];
  const pollBig: number[] = [];
  for (let i = 0; i < 200; i++) {
    pollSmall.push((await timed(() => conn.call('codex_poll', { job_id: small.job_id })))[0]);
    pollBig.push((await timed(() => conn.call('codex_poll', { job_id: big.job_id })))[0]);
  }

  // 4. Completion visibility: codex exits (wrapper writes `exit`) → codex_wait returns.
  const visibility: number[] = [];
  for (let i = 0; i < 20; i++) {
    const { job_id } = await conn.call('codex_start', { prompt: `[[slow:400]] visibility ${i}`, cwd });
    await conn.call('codex_wait', { job_ids: [job_id], timeout_seconds: 30 });
    const returned = Date.now();
    const exited = fs.statSync(path.join(h.home, 'jobs', job_id, 'exit')).mtimeMs;
    visibility.push(returned - exited);
  }

  // 5. End to end per job: through the server vs `codex exec` directly, same mock task.
  const direct: number[] = [];
  for (let i = 0; i < 15; i++) {
    const out = path.join(tempDir('direct'), 'last.txt');
    const t = performance.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(CODEX_BIN, ['exec', '--json', '--skip-git-repo-check', '-C', cwd, '-s', 'read-only', '-o', out, '-'], {
        env: h.env(),
        stdio: ['pipe', 'ignore', 'ignore'],
      });
      child.stdin.end(`direct ${i}`);
      child.on('exit', () => resolve());
      child.on('error', reject);
    });
    direct.push(performance.now() - t);
  }
  const viaServer: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t = performance.now();
    const { job_id } = await conn.call('codex_start', { prompt: `via server ${i}`, cwd });
    await conn.call('codex_wait', { job_ids: [job_id], timeout_seconds: 30 });
    viaServer.push(performance.now() - t);
  }

  // 6. Memory: the wrapper shell per running job, codex itself, the server.
  const { job_id: memJob } = await conn.call('codex_start', { prompt: '[[slow:3000]] memory', cwd });
  await new Promise((r) => setTimeout(r, 1000));
  const wrapperPid = Number(fs.readFileSync(path.join(h.home, 'jobs', memJob, 'pid'), 'utf8').split(' ')[0]);
  const wrapperKb = rssKb(wrapperPid);
  const launcher = childrenOf(wrapperPid)[0]!;
  const launcherKb = rssKb(launcher);
  const nativeKb = childrenOf(launcher).map(rssKb).reduce((a, b) => a + b, 0);
  const serverKb = rssKb(conn.pid);
  await waitFinal(conn, memJob);

  await h.close();

  const codexVersion = (await import('node:child_process')).execFileSync(CODEX_BIN, ['--version'], { encoding: 'utf8' }).trim();
  const head = [
    '# Benchmarks',
    '',
    'Measured by `npm run bench` (bench/run.ts): the real codex binary against the loopback mock Responses API,',
    'the server driven through the MCP SDK client over stdio. Times are client round trips in milliseconds.',
    '',
    `- date: ${new Date().toISOString().slice(0, 10)}`,
    `- machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`,
    `- node ${process.version}, ${codexVersion}`,
    '',
  ];
  table('Tool latency', [
    row('codex_start, idle', stats(startIdle)),
    row('codex_start, 4 running + up to 200 queued', stats(startQueued)),
    row('codex_poll, running job', stats(pollRunning)),
    row(`codex_poll, finished job, log ${smallSize} B`, stats(pollSmall)),
    row('codex_poll, finished job, log 100 MB', stats(pollBig)),
    row('completion visibility: codex exit → codex_wait returns', stats(visibility)),
  ]);
  table('End to end, one short mock task', [
    row('`codex exec` directly', stats(direct)),
    row('codex_start + codex_wait through the server', stats(viaServer)),
  ]);
  lines.push(
    `Overhead per job (p50 difference): ${ms(stats(viaServer).p50 - stats(direct).p50)} ms.`,
    '',
    '### Memory (RSS while a job runs)',
    '',
    '| process | RSS |',
    '|---|---|',
    `| wrapper shell (what supervision costs per job) | ${(wrapperKb / 1024).toFixed(1)} MB |`,
    `| npm codex launcher (Node, part of codex as installed) | ${(launcherKb / 1024).toFixed(1)} MB |`,
    `| native codex | ${(nativeKb / 1024).toFixed(1)} MB |`,
    `| MCP server | ${(serverKb / 1024).toFixed(1)} MB |`,
    '',
    'Reading: on a noisy 2-core machine quote the p50; p99 over a few hundred samples includes scheduler noise.',
    'codex_poll reads only what is new in the event log and renders `output` from its last 256 KiB, so its',
    'cost does not follow the log size. Completion visibility is the time from the wrapper writing `exit`',
    '(file mtime) to the client holding the codex_wait result: inotify, not a polling loop.',
    '',
  );
  const text = [...head, ...lines].join('\n');
  fs.writeFileSync(path.join(ROOT, 'BENCHMARKS.md'), text);
  process.stdout.write(`${text}\n`);
}

await main();
