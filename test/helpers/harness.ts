/**
 * Drives the real server the way an MCP client does: spawns `node dist/cli/main.js` over stdio
 * with the MCP SDK client, with a private state home, the real codex binary, and a CODEX_HOME
 * pointing codex at the loopback mock Responses API.
 */
import assert from 'node:assert/strict';
import { Client, type ClientOptions } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeCodexHome } from './codexHome.ts';
import { startMockResponses, type MockServer } from './mockResponses.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** BENCH_SERVER_MAIN: the bench can measure another build (e.g. a base commit's dist) with today's bench. */
export const SERVER_MAIN = process.env.BENCH_SERVER_MAIN ?? path.join(ROOT, 'dist/cli/main.js');
export const CODEX_BIN = path.join(ROOT, 'node_modules/.bin/codex');

/** How many tools the server lists (core.test.ts names them): the tests that only check it still serves compare with this. */
export const TOOL_COUNT = 11;

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cam-${prefix}-`));
}

export interface Connection {
  client: Client;
  transport: StdioClientTransport;
  pid: number;
  close(): Promise<void>;
  /** Calls a tool and returns its structuredContent; throws if the result is an error. */
  call<T = any>(name: string, args: Record<string, unknown>): Promise<T>;
  /** Calls a tool and returns the raw result. */
  raw(name: string, args: Record<string, unknown>, options?: Record<string, unknown>): Promise<any>;
}

export interface Harness {
  mock: MockServer;
  home: string;
  codexHome: string;
  /** A fresh working directory for codex. */
  workdir(): string;
  env(extra?: Record<string, string>): Record<string, string>;
  /**
   * `client`: options for the SDK Client, e.g. `versionNegotiation` or `capabilities`; `main`:
   * another build's bin (bench/builds.ts measures two side by side).
   */
  connect(extra?: Record<string, string>, client?: ClientOptions, main?: string): Promise<Connection>;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const mock = await startMockResponses();
  const codexHome = makeCodexHome(mock.url);
  const home = path.join(tempDir('home'), 'state');
  // A private HOME: codex's shells source ~/.bashrc, and this machine's must not leak into tests.
  const userHome = tempDir('user');
  const connections = new Set<Connection>();
  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: userHome,
    CODEX_HOME: codexHome,
    CODEX_ASYNC_HOME: home,
    CODEX_BIN: CODEX_BIN,
    CODEX_ASYNC_SWEEP_MS: '200',
    CODEX_ASYNC_KILL_GRACE: '2',
    // The portable suites (test/portable-*.test.ts) run every server on the posix path.
    ...(process.env.CODEX_ASYNC_PLATFORM ? { CODEX_ASYNC_PLATFORM: process.env.CODEX_ASYNC_PLATFORM } : {}),
    ...extra,
  });
  const harness: Harness = {
    mock,
    home,
    codexHome,
    workdir: () => tempDir('cwd'),
    env,
    async connect(extra = {}, client, main) {
      const conn = await connectServer(env(extra), client, main);
      connections.add(conn);
      const close = conn.close;
      conn.close = async () => {
        connections.delete(conn);
        await close();
      };
      return conn;
    },
    async close() {
      for (const conn of [...connections]) await conn.close();
      // A failed test may leave jobs running: end every process started for this home.
      for (const pid of processesOfHome(home)) killQuietly(pid);
      await mock.close();
      if (process.env.CODEX_ASYNC_PLATFORM === 'posix') assertPortable(home);
    },
  };
  return harness;
}

/**
 * A portable suite (test/portable-*.test.ts) must really have run the portable path: every job's
 * wrapper wrote its start time as `ps` gives it (Mon_Dec_7_18:38:51_2026), not /proc's clock ticks.
 */
function assertPortable(home: string): void {
  for (const id of jobIdsOfHome(home)) {
    const start = (fs.existsSync(jobFile(home, id, 'pid')) ? fs.readFileSync(jobFile(home, id, 'pid'), 'utf8') : '').trim().split(' ')[1];
    if (start && !/^[A-Z][a-z]{2}_/.test(start)) throw new Error(`job ${id} ran on the Linux path (its wrapper's start time is ${start}) in a portable suite`);
  }
}

/** `main`: another build's bin (bench/builds.ts measures two side by side). */
export async function connectServer(env: Record<string, string>, options?: ClientOptions, main = SERVER_MAIN): Promise<Connection> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [main], env, stderr: 'pipe' });
  const stderr: string[] = [];
  transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const client = new Client({ name: 'codex-async-mcp-tests', version: '1.0.0' }, options);
  await client.connect(transport);
  const raw = (name: string, args: Record<string, unknown>, options?: Record<string, unknown>) =>
    client.callTool({ name, arguments: args }, options as never);
  return {
    client,
    transport,
    pid: transport.pid!,
    close: () => client.close(),
    raw,
    async call(name, args) {
      const result = (await raw(name, args)) as any;
      if (result.isError) {
        throw new Error(`${name} failed: ${result.content?.[0]?.text}\nserver stderr:\n${stderr.join('')}`);
      }
      return result.structuredContent;
    },
  };
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end with `input` on stdin, collecting what it prints. */
export function runProcess(command: string, args: string[], env: Record<string, string>, opts: { cwd?: string; input?: string } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs the command line as a script would: no terminal, so no colours and no live display. */
export const cliIn = (env: Record<string, string>, args: string[], input?: string): Promise<Ran> =>
  runProcess(process.execPath, [SERVER_MAIN, ...args], env, { input });

/** Waits (via codex_wait, repeatedly) until the job is final and returns its snapshot. */
export async function waitFinal(conn: Connection, jobId: string, maxSeconds = 120): Promise<any> {
  const until = Date.now() + maxSeconds * 1000;
  while (Date.now() < until) {
    const r = await conn.call('codex_wait', { job_ids: [jobId], timeout_seconds: 30 });
    if (r.finished.length) return r.finished[0];
  }
  throw new Error(`job ${jobId} did not finish within ${maxSeconds}s`);
}

/** SIGKILL to a pid (or, negative, a process group) that may already be gone. */
export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** The ids of the jobs a state home holds (one directory each). */
export function jobIdsOfHome(home: string): string[] {
  try {
    return fs.readdirSync(path.join(home, 'jobs'));
  } catch {
    return [];
  }
}

/** A process's command line, its arguments joined by spaces ('' once it is gone). */
export function commandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** Processes carrying the marker of any launch of the job (`CODEX_ASYNC_JOB_ID=<id>.<launch>`): what cancel must end. */
export function jobProcessesOnMachine(jobId: string): number[] {
  const marker = new RegExp(`(^|\0)CODEX_ASYNC_JOB_ID=${jobId}(\\.\\d+)?(\\.check)?\0`);
  const found: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      if (state === 'Z') continue;
      if (marker.test(fs.readFileSync(`/proc/${name}/environ`, 'latin1')) && Number(name) !== process.pid) found.push(Number(name));
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}

/**
 * Every process working for a state home: servers (by their environment), and wrappers, codex and
 * callbacks, which name a job's directory on their command line (their environment is scrubbed).
 */
export function processesOfHome(home: string): number[] {
  const found: number[] = [];
  const env = Buffer.from(`CODEX_ASYNC_HOME=${home}\0`);
  const args = [Buffer.from(`${home}/`), Buffer.from(JSON.stringify(home))];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/environ`).includes(env) || args.some((arg) => fs.readFileSync(`/proc/${name}/cmdline`).includes(arg))) found.push(Number(name));
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}

export async function until<T>(what: string, fn: () => T | Promise<T>, ms = 30_000, every = 50): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value) return value as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Registers a harness for the enclosing describe(): `s.h`, ready in every test. */
export function useHarness(): { h: Harness } {
  const s = {} as { h: Harness };
  before(async () => {
    s.h = await startHarness();
  });
  after(() => s.h.close());
  return s;
}

/** Also connects one server to it: `s.h`, `s.conn`. */
export function useServer(extra: Record<string, string> = {}): { h: Harness; conn: Connection } {
  const s = useHarness() as { h: Harness; conn: Connection };
  before(async () => {
    s.conn = await s.h.connect(extra);
  });
  return s;
}

/** Is `pid` a living process (not gone, not a zombie)? */
export function isLivePid(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** A pid that certainly names no process now: a `true` that has exited and been reaped. */
export async function deadPid(): Promise<number> {
  const { spawn } = await import('node:child_process');
  const child = spawn('true', { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

/** A file of a job's directory in the state home (pid, exit, events.jsonl, …). */
export function jobFile(home: string, jobId: string, name: string): string {
  return path.join(home, 'jobs', jobId, name);
}

/**
 * SIGKILLs every process of a job at once: the wrapper's whole process group in one kill(2), so
 * the wrapper cannot record an exit status for a codex that died first, then anything left that
 * carries the job's marker. Returns when none is left.
 */
export async function killJobProcesses(home: string, jobId: string): Promise<void> {
  const pgid = Number(fs.readFileSync(jobFile(home, jobId, 'pid'), 'utf8').split(' ')[0]);
  if (Number.isInteger(pgid) && pgid > 0) killQuietly(-pgid);
  await until(`the processes of job ${jobId} to be gone`, () => {
    const left = jobProcessesOnMachine(jobId);
    for (const pid of left) killQuietly(pid);
    return left.length === 0;
  });
}

/** Runs `codex exec` with a prompt on stdin, as a person or script would; resolves with its JSONL events. */
export function codexExec(env: Record<string, string>, cwd: string, prompt: string): Promise<{ status: number | null; events: any[]; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(CODEX_BIN, ['exec', '--json', '--skip-git-repo-check', '-C', cwd, '-s', 'read-only', '-'], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(prompt);
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, events: stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)), stderr });
    });
  });
}

/**
 * The codex_start call codex made as an MCP client (from its JSONL events) and the job it started,
 * followed to its end under our server: asserts both and returns the job's final snapshot.
 */
export async function delegatedJob(h: Harness, events: any[], server: string, cwd: string): Promise<any> {
  const call = events.find((e) => e.type === 'item.completed' && e.item.type === 'mcp_tool_call');
  assert.ok(call, `codex called a tool (events: ${JSON.stringify(events)})`);
  assert.equal(call.item.server, server);
  assert.equal(call.item.tool, 'codex_start');
  assert.equal(call.item.status, 'completed', JSON.stringify(call.item.error ?? call.item.result));
  const jobId = call.item.result.structuredContent?.job_id ?? /job ([0-9a-f]{12})/.exec(call.item.result.content[0].text)?.[1];
  assert.match(jobId, /^[0-9a-f]{12}$/);
  const conn = await h.connect();
  const done = await waitFinal(conn, jobId);
  await conn.close();
  assert.equal(done.status, 'completed');
  assert.equal(done.cwd, fs.realpathSync(cwd));
  return done;
}
