import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import type { Agent } from '../agents/agent.js';
import { AgentLocator, belowFloor, findExecutable } from '../agents/binary.js';
import { agents } from '../agents/registry.js';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { runGit } from '../workspace/git.js';
import { hasJobsTable, isDamage, lostDatabase, REPAIR_FIX, SCHEMA_VERSION } from '../jobs/db.js';
import { homeLayout, jobDirectories, jobFiles, privateDirProblem, readExitStatus, underTempDir, type HomeLayout } from '../jobs/files.js';
import { JOB_ENV_MARKER } from '../supervise/launch.js';
import { probeSandbox } from '../supervise/osSandbox.js';
import { platform } from '../supervise/platform/index.js';
import { SANDBOX_NAMES } from '../supervise/sandbox.js';
import { jobGone, jobProcess } from '../supervise/terminate.js';

/** `info`: worth knowing, nothing to fix (an optional agent not installed). */
export type Level = 'ok' | 'info' | 'warn' | 'fail';

/** One line of `doctor`: what was checked, what was found, and what to do if it is not ok. */
export interface Check {
  name: string;
  level: Level;
  detail: string;
  fix?: string;
  /** A damaged job database, which `doctor --repair` rebuilds. */
  repairable?: boolean;
}

const GIB = 1024 ** 3;

/**
 * Everything that stops jobs from running, checked without changing anything: no engine is opened
 * (that would sweep the jobs it is meant to report on), the database is opened read-only.
 */
export async function checkHealth(env: NodeJS.ProcessEnv = process.env): Promise<Check[]> {
  const checks: Check[] = [];
  const major = Number(process.versions.node.split('.')[0]);
  checks.push(
    major >= 20
      ? { name: 'node', level: 'ok', detail: `Node.js ${process.versions.node}` }
      : { name: 'node', level: 'fail', detail: `Node.js ${process.versions.node}`, fix: 'install Node.js 20 or newer' },
  );
  let config: Config;
  try {
    config = loadConfig(env);
    checks.push({ name: 'config', level: 'ok', detail: `state in ${config.home}, up to ${config.maxConcurrent} jobs at once` });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    checks.push({ name: 'config', level: 'fail', detail: err.message, fix: 'correct the environment variable (see the README, Configuration)' });
    return checks;
  }
  const layout = homeLayout(config.home);
  for (const found of await Promise.all(agents().map((agent) => checkAgent(agent, config, layout, env)))) checks.push(...found);
  checks.push(await checkSandbox(config, checks));
  checks.push(await checkSupervision(config.searchPath));
  checks.push(await checkGit(config.defaultIsolation));
  checks.push(checkHome(layout));
  checks.push(...checkDatabase(layout));
  checks.push(checkDisk(config));
  return checks;
}

/**
 * Our OS sandbox (supervise/osSandbox.ts: Seatbelt on macOS, bubblewrap on Linux), by running it as
 * a job runs it. Without it, jobs of the agents it confines are refused outside danger-full-access:
 * a failure once one of them is installed, worth knowing otherwise.
 */
async function checkSandbox(config: Config, found: Check[]): Promise<Check> {
  const probe = await probeSandbox(config);
  const name = SANDBOX_NAMES[probe.kind];
  if (probe.ok) return { name: 'sandbox', level: 'ok', detail: `${name} works here (${probe.binary}): Claude Code, Copilot CLI and Gemini CLI jobs run inside it` };
  const confined = agents().filter((a) => a.sandboxWrites && found.some((c) => c.name === a.name && c.level === 'ok'));
  return {
    name: 'sandbox',
    level: confined.length > 0 ? 'fail' : 'info',
    detail: `${probe.reason}: ${confined.length > 0 ? confined.map((a) => a.title).join(', ') : 'Claude Code, Copilot CLI and Gemini CLI'} jobs are refused except under danger-full-access`,
    fix: probe.fix,
  };
}

/**
 * What supervising jobs needs from the system (supervise/platform/). On Linux: /proc, and
 * util-linux's setsid (a job's callbacks when no server listens) and fallocate (the log cap; without
 * it logs are cut by truncation). Elsewhere (macOS): ps, showing our own processes' environments
 * (where a job's marker is looked for), and lsof. The first of what is missing, worst first.
 */
async function checkSupervision(searchPath: string): Promise<Check> {
  const p = platform();
  const name = 'supervision';
  const tool = (command: string) => findExecutable(command, `${searchPath}${path.delimiter}/usr/sbin${path.delimiter}/usr/bin`);
  if (p.name === 'linux') {
    if (!tool('setsid')) return { name, level: 'fail', detail: 'setsid (util-linux) not found: a job that ends while no server listens is not recorded until one starts', fix: 'install util-linux' };
    if (!tool('fallocate')) return { name, level: 'info', detail: 'Linux (/proc); fallocate not found: a flooding log is capped by truncating it, which can lose a write', fix: 'install util-linux' };
    return { name, level: 'ok', detail: 'Linux: /proc, setsid and fallocate' };
  }
  let shown: boolean;
  const marker = `${JOB_ENV_MARKER}=doctor-${process.pid}`;
  // Node, as the agents are: macOS shows no environment of its own system programs (/bin/sh, /bin/sleep) under SIP.
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { env: { ...process.env, [JOB_ENV_MARKER]: `doctor-${process.pid}` }, stdio: 'ignore' });
  try {
    await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
    const env = p.environments([child.pid!]).get(child.pid!);
    shown = env !== undefined && p.carries(env, marker);
  } catch (err) {
    return { name, level: 'fail', detail: `ps cannot be used here: ${(err as Error).message}`, fix: 'make sure ps is on PATH (/bin/ps on macOS)' };
  } finally {
    child.kill('SIGKILL');
  }
  if (!shown) {
    return {
      name,
      level: 'warn',
      detail: "ps shows no environment of this user's processes here: a job's processes are found by process group and descent only, so a command that left its session and outlived its parent is not ended with the job",
      fix: 'ps -E (macOS) or ps e (procps) must show the environment of your own processes',
    };
  }
  if (!tool('lsof')) return { name, level: 'warn', detail: 'portable (ps); lsof not found: doctor --repair cannot tell whether a server has the database open, and port blocks are not checked against ports in use', fix: 'install lsof' };
  const sip = process.platform === 'darwin' ? '; macOS hides the environment of its own programs (/bin/sh, /bin/sleep), so one a job\'s command leaves running after its parent ends is not ended with the job' : '';
  return { name, level: 'ok', detail: `portable: ps (environments shown) and lsof${sip}` };
}

/**
 * An agent: found, its version, its provider and credentials. Codex is the default agent, so its
 * absence fails; any other is optional until a job asks for it.
 */
async function checkAgent(agent: Agent, config: Config, layout: HomeLayout, env: NodeJS.ProcessEnv): Promise<Check[]> {
  let found;
  try {
    found = await new AgentLocator(agent, config.bins[agent.name], config.searchPath, layout.agentVersions).find();
  } catch (err) {
    const detail = (err as Error).message.split('. ')[0]!;
    if (agent.name !== 'codex') return [{ name: agent.name, level: 'info', detail: `not installed (${detail}): jobs with agent "${agent.name}" cannot run`, fix: agent.install }];
    // A fleet's front end runs no jobs: only its runners need codex.
    if (config.fleet) return [{ name: agent.name, level: 'warn', detail: `${detail}: this machine can start fleet jobs but not run them`, fix: `${agent.install} where a runner runs (codex-async-mcp runner)` }];
    return [{ name: agent.name, level: 'fail', detail, fix: `${agent.install}, or set CODEX_BIN` }];
  }
  // Installed but too old fails every job that asks for it, the default agent's or not.
  const old = belowFloor(agent, found);
  if (old) return [{ name: agent.name, level: 'fail', detail: `${agent.command} ${found.version} at ${found.path}: older than ${agent.floor}, the oldest release supported`, fix: `update it: ${agent.install}` }];
  const checks: Check[] = [{ name: agent.name, level: 'ok', detail: `${agent.command} ${found.version} at ${found.path} (${agent.floor} or newer supported)` }];
  const reading = await agent.provider(env);
  const name = agent.name === 'codex' ? 'provider' : `${agent.name} provider`;
  // An optional agent that cannot sign in fails only the jobs that ask for it.
  const level = agent.name === 'codex' ? 'fail' : 'warn';
  checks.push(reading.ok ? { name, level: 'ok', detail: reading.detail } : { name, level, detail: reading.detail, fix: reading.fix });
  // Only providers that take OpenAI's credentials care whether codex is logged in.
  if (reading.ok && reading.codexLogin) checks.push(await checkLogin(found.path, env));
  return checks;
}

/** git runs worktree isolation and the review tools; `merge-tree --write-tree` came with 2.38. */
async function checkGit(isolation: 'none' | 'worktree'): Promise<Check> {
  const needed = isolation === 'worktree' ? 'fail' : 'warn';
  let version: string;
  try {
    version = (await runGit(['--version'], { cwd: '/' })).trim().replace(/^git version /, '');
  } catch {
    return { name: 'git', level: needed, detail: 'git not found', fix: 'install git 2.38 or newer: isolation "worktree", codex_diff and codex_apply need it' };
  }
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major < 2 || (major === 2 && minor < 38)) {
    return { name: 'git', level: needed, detail: `git ${version}`, fix: 'install git 2.38 or newer: codex_apply needs `git merge-tree --write-tree`' };
  }
  return { name: 'git', level: 'ok', detail: `git ${version}` };
}

async function checkLogin(codexPath: string, env: NodeJS.ProcessEnv): Promise<Check> {
  try {
    const { stdout, stderr } = await promisify(execFile)(codexPath, ['login', 'status'], { timeout: 15_000, env });
    const said = `${stdout}${stderr}`.trim().split('\n')[0] ?? 'logged in';
    return { name: 'login', level: 'ok', detail: said };
  } catch (err) {
    const said = `${(err as { stdout?: string }).stdout ?? ''}${(err as { stderr?: string }).stderr ?? ''}`.trim().split('\n')[0] || (err as Error).message;
    const apiKey = env.OPENAI_API_KEY || env.CODEX_API_KEY;
    return {
      name: 'login',
      level: apiKey ? 'warn' : 'fail',
      detail: `not logged in (${said})${apiKey ? '; an API key is set in the environment' : ''}`,
      fix: 'run `codex login` (or `codex login --with-api-key`)',
    };
  }
}

function checkHome(layout: HomeLayout): Check {
  const name = 'state dir';
  let st: fs.Stats;
  try {
    st = fs.lstatSync(layout.home);
  } catch {
    const yet = `${layout.home} does not exist yet; it is created (mode 700) by the first job`;
    if (underTempDir(layout.home)) return { name, level: 'warn', detail: `${yet}, under a temporary directory, which codex's workspace-write sandbox can write to`, fix: 'set CODEX_ASYNC_HOME elsewhere' };
    return { name, level: 'ok', detail: yet };
  }
  const mode = (st.mode & 0o777).toString(8);
  // The rules the server applies when it opens the directory, reported instead of refused.
  const refused = privateDirProblem(layout.home, st);
  if (refused) return { name, level: 'fail', detail: refused.problem, fix: refused.fix };
  if (underTempDir(layout.home)) {
    return { name, level: 'warn', detail: `${layout.home} is under a temporary directory, which codex's workspace-write sandbox can write to`, fix: 'set CODEX_ASYNC_HOME elsewhere' };
  }
  if (st.mode & 0o077) return { name, level: 'warn', detail: `${layout.home} is readable by others (mode ${mode})`, fix: `chmod 700 ${layout.home}` };
  return { name, level: 'ok', detail: `${layout.home} (mode ${mode})` };
}

/** Damage that doctor --repair mends: the database's own check, with the fix that rebuilds it. */
const damaged = (detail: string): Check => ({ name: 'database', level: 'fail', detail, fix: REPAIR_FIX, repairable: true });

function checkDatabase(layout: HomeLayout): Check[] {
  const lost = lostDatabase(layout.db, layout.jobsDir);
  if (lost) return [damaged(`${layout.db} ${lost}`)];
  if (!fs.existsSync(layout.db) || fs.statSync(layout.db).size === 0) return [{ name: 'database', level: 'ok', detail: 'no database yet (no job has run)' }];
  let db: Database.Database;
  try {
    db = new Database(layout.db, { readonly: true, fileMustExist: true });
  } catch (err) {
    if (isDamage(err)) return [damaged(`${layout.db}: ${(err as Error).message}`)];
    return [{ name: 'database', level: 'fail', detail: `${layout.db}: ${(err as Error).message}`, fix: 'check its owner and permissions' }];
  }
  try {
    const integrity = db.pragma('integrity_check', { simple: true }) as string;
    const version = db.pragma('user_version', { simple: true }) as number;
    const dirs = jobDirectories(layout.jobsDir).length;
    const hasTable = hasJobsTable(db);
    const checks: Check[] = [];
    if (integrity !== 'ok') {
      return [damaged(`${layout.db} is damaged: ${integrity.split('\n')[0]}`)];
    } else if (version > SCHEMA_VERSION) {
      checks.push({ name: 'database', level: 'fail', detail: `schema ${version} is newer than this version understands (${SCHEMA_VERSION})`, fix: 'upgrade codex-async-mcp' });
    } else if (!hasTable && (version > 0 || dirs > 0)) {
      return [damaged(`${layout.db} holds no jobs table${dirs ? `, but ${dirs} job directories in ${layout.jobsDir} hold jobs` : ''}`)];
    } else {
      const upgrade = version < SCHEMA_VERSION ? `; upgraded to ${SCHEMA_VERSION} at the next start` : '';
      checks.push({ name: 'database', level: version < SCHEMA_VERSION ? 'warn' : 'ok', detail: `integrity ok, schema ${version}${upgrade}` });
    }
    if (version === 0) return checks;
    const counts = db.prepare(`SELECT status, COUNT(*) AS n FROM jobs GROUP BY status`).all() as Array<{ status: string; n: number }>;
    const running = db.prepare(`SELECT * FROM jobs WHERE status = 'running'`).all() as Array<{ id: string; pid: number | null; pid_start: string | null; launch_token?: number }>;
    const gone = running.filter((job) => {
      const files = jobFiles(layout, job.id);
      if (readExitStatus(files) !== null) return false;
      return jobGone(jobProcess({ ...job, launch_token: job.launch_token ?? 0 }, files.pid));
    });
    const summary = counts.map((c) => `${c.n} ${c.status}`).join(', ') || 'none';
    checks.push(
      gone.length
        ? {
            name: 'jobs',
            level: 'warn',
            detail: `${summary}; marked running but their process is gone: ${gone.map((j) => j.id).join(', ')}`,
            fix: 'any running server, or any command (e.g. `codex-async-mcp ls`), records them as lost',
          }
        : { name: 'jobs', level: 'ok', detail: summary },
    );
    return checks;
  } catch (err) {
    if (isDamage(err)) return [damaged(`${layout.db}: ${(err as Error).message}`)];
    return [{ name: 'database', level: 'fail', detail: `${layout.db}: ${(err as Error).message}`, fix: 'check its owner and permissions' }];
  } finally {
    db.close();
  }
}

function checkDisk(config: Config): Check {
  let dir = config.home;
  while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  const st = fs.statfsSync(dir);
  const free = st.bavail * st.bsize;
  const text = `${(free / GIB).toFixed(1)} GiB free at ${dir}`;
  if (free < Math.max(config.reserveBytes, 64 * 1024 * 1024)) return { name: 'disk', level: 'fail', detail: text, fix: 'free some space, or set CODEX_ASYNC_HOME on another disk' };
  if (free < GIB) return { name: 'disk', level: 'warn', detail: text, fix: 'codex logs can be large: free some space' };
  return { name: 'disk', level: 'ok', detail: text };
}
