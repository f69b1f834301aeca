import { Redis } from 'ioredis';
import { startRedis, freePort } from '/work/main/test/helpers/redis.ts';
import fs from 'node:fs';
const port = await freePort();
process.env.CODEX_ASYNC_REDIS_URL = `redis://127.0.0.1:${port}`;
process.env.CODEX_ASYNC_HOME = fs.mkdtempSync('/var/tmp/rv-') + '/state';
const { loadConfig } = await import('/work/main/.dist-review/config.js');
const { FleetClient } = await import('/work/main/.dist-review/fleet/client.js');
const fc = FleetClient.open(loadConfig(), (l: string, m: string) => console.log('log', l, m));
let seen = 0;
fc.watchAll(() => seen++);
await new Promise((r) => setTimeout(r, 6000)); // Redis down meanwhile: the subscribe fails
const redis = await startRedis({ port });
console.log('redis url', redis.url);
await new Promise((r) => setTimeout(r, 5000));
const c = new Redis(redis.url);
console.log('NUMSUB cam:changes', await c.pubsub('NUMSUB', 'cam:changes'));
await c.publish('cam:changes', 'x');
await new Promise((r) => setTimeout(r, 500));
console.log('changes seen by the front end:', seen);
try { await fc.catchUp(); console.log('catchUp ok'); } catch (e: any) { console.log('catchUp:', e.message); }
c.disconnect(); await fc.close(); await redis.stop();
