/**
 * A private redis-server per test file: on its own free loopback port, never the machine's (Debian's
 * package may run one on 6379, and several engineers' tests run at once), with no persistence, so every
 * start is empty and nothing is left on disk.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { tempDir } from './harness.ts';

export interface RedisServer {
  /** redis://[:password@]127.0.0.1:port — what CODEX_ASYNC_REDIS_URL takes. */
  url: string;
  port: number;
  /** The current process; it changes on restart(). */
  readonly pid: number;
  stop(): Promise<void>;
  /** Stop, then start again on the same port with the same options: Redis restarted mid-run, its data gone. */
  restart(): Promise<void>;
}

export interface RedisOptions {
  password?: string;
  port?: number;
}

/** Every server still running, ended when the test process exits, even after a failed test. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A port nothing listens on now: the kernel's pick for port 0, released at once. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startRedis(opts: RedisOptions = {}): Promise<RedisServer> {
  const dir = tempDir('redis');
  let port = opts.port ?? (await freePort());
  let child: ChildProcess;
  // Another process may take the free port between our probe and redis's bind: pick another then.
  for (let attempt = 1; ; attempt++) {
    try {
      child = await launch(port, dir, opts.password);
      break;
    } catch (err) {
      if (opts.port !== undefined || attempt === 3 || !/already in use/i.test((err as Error).message)) throw err;
      port = await freePort();
    }
  }
  const auth = opts.password ? `:${encodeURIComponent(opts.password)}@` : '';
  const server: RedisServer = {
    url: `redis://${auth}127.0.0.1:${port}`,
    port,
    get pid() {
      return child.pid!;
    },
    stop: () => stop(child),
    async restart() {
      await stop(child);
      child = await launch(port, dir, opts.password);
    },
  };
  return server;
}

/** Spawns redis-server and resolves once it answers; rejects with redis's own output if it never does. */
async function launch(port: number, dir: string, password: string | undefined): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--dir', dir, '--maxmemory-policy', 'noeviction'];
  if (password) args.push('--requirepass', password);
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  // A test file that forgets stop() must still end; the exit hook then kills the server.
  child.unref();
  (child.stdout as net.Socket).unref();
  (child.stderr as net.Socket).unref();
  const exited = new Promise<string>((resolve) => {
    child.once('error', (err) => resolve(`cannot run redis-server (${err.message}): install it (apt-get install redis-server; .ci/run does)`));
    child.once('exit', (code, signal) => resolve(`redis-server on port ${port} exited (${signal ?? `code ${code}`}) before answering:\n${output}`));
  });
  let gone: string | null = null;
  void exited.then((why) => {
    gone = why;
    running.delete(child);
  });
  // Generous: a loaded 2-core machine can take seconds to start a process.
  const end = Date.now() + 30_000;
  while (!(await answers(port, password, child.pid!))) {
    if (gone) throw new Error(gone);
    if (Date.now() > end) {
      await stop(child);
      throw new Error(`redis-server on port ${port} did not answer within 30 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

/**
 * Asks over a raw socket (after AUTH when there is a password) which process answers: true once it is
 * ours. Another server already on the port would answer too, while ours fails to bind and exits.
 */
function answers(port: number, password: string | undefined, pid: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => {
      socket.write(`${password ? resp('AUTH', password) : ''}${resp('INFO', 'server')}`);
    });
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      const answered = /process_id:(\d+)\r\n/.exec(reply);
      if (answered) done(Number(answered[1]) === pid);
      else if (/^-|\r\n-/.test(reply)) done(false);
    });
  });
}

/** A command in Redis's protocol, so a password may hold spaces or quotes. */
const resp = (...words: string[]) => `*${words.length}\r\n${words.map((w) => `$${Buffer.byteLength(w)}\r\n${w}\r\n`).join('')}`;

/** SIGTERM, then SIGKILL if it has not exited within 5 s; resolves once it has exited. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
  running.delete(child);
}

/**
 * Why the Redis tests cannot run here, or false: a machine set up by the README alone may lack
 * Debian's redis-server (.ci/run installs it, so CI never skips them).
 */
export const REDIS_MISSING: string | false =
  spawnSync('redis-server', ['--version']).status === 0 ? false : 'redis-server is not installed (apt-get install redis-server; .ci/run installs it)';
