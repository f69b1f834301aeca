import { RpcClient } from '/work/main/.dist-review/fleet/rpc.js';
import { Keys } from '/work/main/.dist-review/fleet/redis.js';
const fakeRedis = { publish: async () => { throw new Error('Reached the max retries per request limit (which is 2)'); } };
const rpc = new RpcClient(fakeRedis, new Keys('cam'), 'cam:reply:x');
try { await rpc.call({ id: 'r-1', name: 'r-1' }, 'job x', 'poll', [], 300); } catch (e) { console.log('caller saw:', e.message); }
await new Promise((r) => setTimeout(r, 600));
console.log('still alive');
