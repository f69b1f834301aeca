import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startRedis } from '/work/main/test/helpers/redis.ts';
const MAIN = '/work/main/.dist-review/cli/main.js';
const redis = await startRedis();
const base = fs.mkdtempSync('/var/tmp/rv-');
const env = (home: string) => ({ ...process.env, CODEX_ASYNC_REDIS_URL: redis.url, CODEX_ASYNC_HOME: path.join(base, home), CODEX_ASYNC_FLEET_LOCK_MS: '3000', CODEX_BIN: '/work/main/node_modules/.bin/codex' });
const r = spawn(process.execPath, [MAIN, 'runner', '--labels', 'gpu'], { env: env('runner'), stdio: ['ignore', 'ignore', 'pipe'] });
let err = ''; r.stderr!.on('data', (d) => (err += d));
while (!/ serving /.test(err)) await new Promise((res) => setTimeout(res, 200));
const runnerId = fs.readFileSync(path.join(base, 'runner', 'runner-id'), 'utf8').trim();
// A job in a queue nobody serves ('tpu'), then claimed by the live runner as if its take crashed after HSETNX.
const out = execFileSync(process.execPath, [MAIN, 'run', 'hello', '--runner-labels', 'tpu', '--cwd', base, '--json'], { env: env('cli') }).toString();
const id = JSON.parse(out).job_id;
const c = new Redis(redis.url);
await c.hset(`cam:job:${id}`, 'runner', runnerId);
const t0 = Date.now();
const w = spawn(process.execPath, [MAIN, 'wait', id, '--timeout', '20', '--json'], { env: env('cli'), stdio: ['ignore', 'pipe', 'pipe'] });
let wo = ''; w.stdout!.on('data', (d) => (wo += d)); w.stderr!.on('data', (d) => (wo += d));
await new Promise((res) => w.on('exit', res));
console.log('wait after', Date.now() - t0, 'ms:', wo.slice(0, 300));
try { execFileSync(process.execPath, [MAIN, 'show', id], { env: env('cli'), stdio: 'pipe' }); } catch (e: any) { console.log('show:', e.stderr.toString().slice(0, 300)); }
try { console.log('cancel:', execFileSync(process.execPath, [MAIN, 'cancel', id], { env: env('cli'), stdio: 'pipe' }).toString()); } catch (e: any) { console.log('cancel err:', e.stderr.toString().slice(0, 300)); }
{
  process.env.CODEX_ASYNC_REDIS_URL = redis.url; process.env.CODEX_ASYNC_HOME = path.join(base, 'mcp'); process.env.CODEX_ASYNC_FLEET_LOCK_MS='3000';
  const { loadConfig } = await import('/work/main/.dist-review/config.js');
  const { FleetClient } = await import('/work/main/.dist-review/fleet/client.js');
  const fc = FleetClient.open(loadConfig(), () => undefined);
  await fc.catchUp();
  const t1 = Date.now();
  const o = await fc.wait([id], 8000);
  console.log('FleetClient.wait after', Date.now() - t1, JSON.stringify({ finished: o.finished.length, pending: o.pending, timed_out: o.timed_out }));
  const l = await fc.list({ limit: 5 });
  console.log('list:', JSON.stringify(l.jobs.map((j) => [j.job_id, j.status, j.runner])));
  await fc.close();
}
c.disconnect(); r.kill('SIGKILL'); await redis.stop();
