import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ToolError } from '../errors.js';
import { isWithin } from '../paths.js';
import type { StepResult } from '../workspace/types.js';
import { isJobId } from './ids.js';

/** Where one job's files live. The directory name is a validated job id, never user text. */
export interface JobFiles {
  dir: string;
  prompt: string;
  events: string;
  stderr: string;
  lastMessage: string;
  outputSchema: string;
  /** Written by the wrapper shell when codex exits: the exit status. */
  exit: string;
  /** Written by the wrapper shell when it starts: its pid. */
  pid: string;
  /**
   * Made by whoever recorded the job's outcome once it has also ended what the job left running and
   * started the next job: what a job's end waits for instead of calling back (supervise/launch.ts).
   */
  recorded: string;
  /** What the wrapper's callbacks into the bin (`__supervise`) printed. */
  supervisorLog: string;
  /** The job's settings as created, so a lost database row can be rebuilt (doctor --repair). */
  settings: string;
  /** The check_command, as a shell script the wrapper runs after codex completes. */
  check: string;
  /** Made by the wrapper when the check begins; its mtime is the check's start. */
  checkStarted: string;
  /** The check's exit status, written like `exit`. */
  checkExit: string;
  /** The check's stdout and stderr. */
  checkLog: string;
  /** The setup_command (with its caches named), as a shell script the wrapper runs before the agent. */
  setup: string;
  /** Made by the wrapper when the setup begins; then its exit status and its output, like the check's. */
  setupStarted: string;
  setupExit: string;
  setupLog: string;
  /** The real paths the agent is pointed at, one a line: the wrapper checks the setup left them be. */
  setupExpect: string;
  /**
   * The repository's filter and merge drivers when this job's workspace was made (JSON): the only
   * ones the server's git runs on it afterwards (workspace/git.ts driverOverrides).
   */
  gitDrivers: string;
  /** What was brought into the worktree this job made (JSON, workspace/include.ts): kept for a repair. */
  broughtIn: string;
}

export interface HomeLayout {
  home: string;
  db: string;
  jobsDir: string;
  /** One empty file per job, touched on every change: every server watches this one directory. */
  notifyDir: string;
  /** One file per process watching notifyDir, named by its pid, holding "pid starttime" (jobs/bus.ts). */
  listenersDir: string;
  /** Agent versions read before they were kept per user: read as a fallback, never written (agents/versioncache.ts). */
  agentVersions: string;
  /** One git worktree per job run with isolation "worktree", named by job id. */
  worktreesDir: string;
  /** Package managers' caches for setups, one directory per repository (engine/setup.ts). */
  setupCacheDir: string;
  /** One directory per landing (jobs/landings.ts), named by its id. */
  landingsDir: string;
}

export function homeLayout(home: string): HomeLayout {
  return {
    home,
    db: path.join(home, 'jobs.db'),
    jobsDir: path.join(home, 'jobs'),
    notifyDir: path.join(home, 'notify'),
    listenersDir: path.join(home, 'listeners'),
    agentVersions: path.join(home, 'agent-versions.json'),
    worktreesDir: path.join(home, 'worktrees'),
    setupCacheDir: path.join(home, 'setup-cache'),
    landingsDir: path.join(home, 'landings'),
  };
}

export function jobFiles(layout: HomeLayout, id: string): JobFiles {
  const dir = path.join(layout.jobsDir, id);
  return {
    dir,
    prompt: path.join(dir, 'prompt.txt'),
    events: path.join(dir, 'events.jsonl'),
    stderr: path.join(dir, 'stderr.log'),
    lastMessage: path.join(dir, 'last-message.txt'),
    outputSchema: path.join(dir, 'output-schema.json'),
    exit: path.join(dir, 'exit'),
    pid: path.join(dir, 'pid'),
    recorded: path.join(dir, 'recorded'),
    supervisorLog: path.join(dir, 'supervisor.log'),
    settings: path.join(dir, 'job.json'),
    check: path.join(dir, 'check.sh'),
    checkStarted: path.join(dir, 'check.started'),
    checkExit: path.join(dir, 'check.exit'),
    checkLog: path.join(dir, 'check.log'),
    setup: path.join(dir, 'setup.sh'),
    setupStarted: path.join(dir, 'setup.started'),
    setupExit: path.join(dir, 'setup.exit'),
    setupLog: path.join(dir, 'setup.log'),
    setupExpect: path.join(dir, 'setup.expect'),
    gitDrivers: path.join(dir, 'git-drivers.json'),
    broughtIn: path.join(dir, 'brought-in.json'),
  };
}

/** The ids of the job directories under `jobsDir` (none if it does not exist). */
export function jobDirectories(jobsDir: string): string[] {
  try {
    return fs
      .readdirSync(jobsDir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && isJobId(e.name))
      .map((e) => e.name);
  } catch {
    return [];
  }
}

/**
 * Why `dir` cannot serve as private state, and what to do about it; null if it can. Writable by
 * others means someone else may already have planted files: refused rather than repaired. The
 * server refuses to start on it; `doctor` reports it.
 */
export function privateDirProblem(dir: string, st: fs.Stats): { problem: string; fix: string } | null {
  if (!st.isDirectory()) return { problem: `${dir} is not a directory`, fix: 'remove it or set CODEX_ASYNC_HOME elsewhere' };
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    return { problem: `${dir} belongs to another user (uid ${st.uid})`, fix: 'set CODEX_ASYNC_HOME to a directory you own' };
  }
  if ((st.mode & 0o022) !== 0) {
    return {
      problem: `${dir} is writable by other users (mode ${(st.mode & 0o777).toString(8)})`,
      fix: `run \`chmod 700 ${dir}\` if you trust its contents, or set CODEX_ASYNC_HOME elsewhere`,
    };
  }
  return null;
}

/** Is `dir` in a temporary directory, which codex's workspace-write sandbox makes writable? */
export function underTempDir(dir: string): boolean {
  return ['/tmp', os.tmpdir()].some((tmp) => isWithin(dir, tmp));
}

function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  const refused = privateDirProblem(dir, st);
  if (refused) throw new ToolError('storage', `${refused.problem}; ${refused.fix}.`);
  if ((st.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
}

/** Creates the state directory private to this user (0700) and refuses one owned by someone else. */
export function prepareHome(layout: HomeLayout): void {
  try {
    ensurePrivateDir(layout.home);
    ensurePrivateDir(layout.jobsDir);
    ensurePrivateDir(layout.notifyDir);
    ensurePrivateDir(layout.listenersDir);
    ensurePrivateDir(layout.worktreesDir);
  } catch (err) {
    if (err instanceof ToolError) throw err;
    throw new ToolError(
      'storage',
      `cannot prepare the state directory ${layout.home}: ${(err as Error).message}. Set CODEX_ASYNC_HOME to a directory this user can create and write.`,
    );
  }
}

const { O_RDONLY, O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW } = fs.constants;

/**
 * Opens a job file for reading without following a symlink: a link planted in a job directory
 * must not make us read (and show a client) some other file. Null if it cannot be opened.
 */
export function openForReading(file: string): number | null {
  try {
    return fs.openSync(file, O_RDONLY | O_NOFOLLOW);
  } catch {
    return null;
  }
}

/** Creates or empties a private (0600) file, refusing to follow a symlink. */
export function createPrivate(file: string): void {
  fs.closeSync(fs.openSync(file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o600));
}

/** Reads a small file, or null if it does not exist. */
export function readSmall(file: string, maxBytes = 1 << 20): string | null {
  const fd = openForReading(file);
  if (fd === null) return null;
  try {
    // Sized by the file, not the limit: this runs several times per job end, and a zeroed MiB each time showed in profiles.
    const buf = Buffer.allocUnsafe(Math.min(maxBytes, fs.fstatSync(fd).size));
    const n = buf.length ? fs.readSync(fd, buf, 0, buf.length, 0) : 0;
    return buf.subarray(0, n).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** A job file's size, or 0 if it does not exist (a symlink counts as its own, small size). */
export function fileSize(file: string): number {
  try {
    return fs.lstatSync(file).size;
  } catch {
    return 0;
  }
}

/** When a job file was last written (whole milliseconds), or null if it does not exist. */
export function fileMtime(file: string): number | null {
  try {
    return Math.round(fs.statSync(file).mtimeMs);
  } catch {
    return null;
  }
}

/** The last `maxBytes` of a job file; `cut` when the file is longer, so `text` may start mid-line. */
export function readTail(file: string, maxBytes: number): { text: string; cut: boolean } {
  const fd = openForReading(file);
  if (fd === null) return { text: '', cut: false };
  try {
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(maxBytes, size));
    const n = fs.readSync(fd, buf, 0, buf.length, size - buf.length);
    return { text: buf.toString('utf8', 0, n), cut: size > maxBytes };
  } catch {
    return { text: '', cut: false };
  } finally {
    fs.closeSync(fd);
  }
}

export function touch(file: string): void {
  try {
    createPrivate(file);
  } catch {
    // A missed wake-up is covered by the periodic sweep.
  }
}

/**
 * The exit status the wrapper recorded, or null while there is none. The file exists (empty) from
 * the launch on, and may be half-written: only "<digits>\n" counts.
 */
export function readExitStatus(files: JobFiles): number | null {
  return readStatusFile(files.exit);
}

function readStatusFile(file: string): number | null {
  const text = readSmall(file, 64);
  if (text === null || !/^\d+\n$/.test(text)) return null;
  return Number(text);
}

const STEP_TAIL_BYTES = 4096;

/** The steps the wrapper runs besides the agent: the setup before it, the check after it. */
export type Step = 'setup' | 'check';

const stepFiles = (files: JobFiles, step: Step) =>
  step === 'setup' ? { started: files.setupStarted, exit: files.setupExit, log: files.setupLog } : { started: files.checkStarted, exit: files.checkExit, log: files.checkLog };

/**
 * When a step began and ended (file mtimes) and its exit status. Its exit file exists, empty, from
 * the launch on: only a written status is the step's end.
 */
export function stepSpan(files: JobFiles, step: Step): { started: number | null; ended: number | null; exitCode: number | null } {
  const f = stepFiles(files, step);
  const exitCode = readStatusFile(f.exit);
  return { started: fileMtime(f.started), ended: exitCode === null ? null : fileMtime(f.exit), exitCode };
}

/** Whether the step has begun and not yet ended. */
export function stepRunning(files: JobFiles, step: Step): boolean {
  const { started, exitCode } = stepSpan(files, step);
  return started !== null && exitCode === null;
}

/**
 * How a step's command went, from the files the wrapper wrote: null when the job has none. One
 * that never began (the check of an agent that did not complete) or never ended (stopped) did not pass.
 */
export function readStep(files: JobFiles, step: Step, command: string | null): StepResult | null {
  if (command === null) return null;
  const { started, ended, exitCode } = stepSpan(files, step);
  const tail = readTail(stepFiles(files, step).log, STEP_TAIL_BYTES);
  return {
    command,
    exit_code: exitCode,
    passed: exitCode === 0,
    duration_ms: started !== null && ended !== null ? Math.max(0, ended - started) : null,
    output_tail: started === null ? (step === 'check' ? 'not run: the agent did not complete its task' : 'not run') : `${tail.cut ? '…' : ''}${tail.text}`,
  };
}
