import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { emptyProgress } from '../agents/progress.js';
import { agentOf, isAgentName } from '../agents/registry.js';
import type { Config } from '../config.js';
import { ToolError } from '../errors.js';
import { openDb } from '../jobs/db.js';
import { foldNewEvents } from '../jobs/eventlog.js';
import { fileMtime, fileSize, homeLayout, jobDirectories, jobFiles, readExitStatus, readSmall, readStep, readTail, type HomeLayout } from '../jobs/files.js';
import { JobStore, toJob, type Job, type NewJob, type Row } from '../jobs/store.js';
import { processesWithOpen } from '../supervise/proc.js';
import { jobGone, jobProcess } from '../supervise/terminate.js';
import { decide, setupFailure } from './outcome.js';
import { runGit } from '../workspace/git.js';
import type { JobWorkspace } from '../workspace/types.js';
import { readBroughtIn, UNSEEN_CHECKOUT } from './workspaces.js';

export interface Repaired {
  /** Where the damaged database (and its -wal/-shm) now is; null if there was no file to keep. */
  keptAt: string | null;
  /** Jobs whose row was read back from the damaged database. */
  fromRows: number;
  /** Jobs rebuilt from what their directory holds. */
  fromDirectories: number;
}

const SIDECARS = ['', '-wal', '-shm'];

/**
 * Rebuilds a damaged job database: the damaged file is moved aside first (with its -wal and -shm,
 * so it stays readable as it was), every row SQLite can still read is kept, and each job directory
 * without one is rebuilt from its files. Refused while any process has the database open: a
 * server writing to the file being replaced would lose its writes.
 */
export async function repairStore(config: Config, now = new Date()): Promise<Repaired> {
  const layout = homeLayout(config.home);
  // Open files are named by their real path.
  const real = path.join(fs.existsSync(layout.home) ? fs.realpathSync(layout.home) : layout.home, path.basename(layout.db));
  const holders = processesWithOpen(SIDECARS.map((s) => real + s)).filter((pid) => pid !== process.pid);
  if (holders.length) {
    throw new ToolError(
      'conflict',
      `processes ${holders.join(', ')} have ${layout.db} open (servers or commands of codex-async-mcp): close the MCP clients that started them (or end them), then run the repair again`,
    );
  }
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  let keptAt: string | null = null;
  if (fs.existsSync(layout.db)) {
    keptAt = `${layout.db}.damaged-${stamp}`;
    for (const s of SIDECARS) if (fs.existsSync(layout.db + s)) fs.renameSync(layout.db + s, keptAt + s);
  }
  // A repair that stopped half-way left no database but its kept copy: salvage from that.
  const salvaged = salvageRows(keptAt ?? newestKept(layout));
  const jobs: Job[] = [];
  let fromRows = 0;
  for (const id of jobDirectories(layout.jobsDir)) {
    const row = salvaged.get(id);
    salvaged.delete(id);
    if (row) fromRows++;
    jobs.push(row ?? (await rebuild(layout, id, config)));
  }
  // Rows whose directory is gone still hold their result: kept too.
  fromRows += salvaged.size;
  jobs.push(...salvaged.values());
  jobs.sort((a, b) => a.created_at - b.created_at || a.seq - b.seq);
  // Built beside it and renamed into place: a server starting meanwhile finds no half-built store.
  const building = `${layout.db}.rebuilding-${stamp}`;
  const db = openDb(building);
  try {
    new JobStore(db).restore(jobs);
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  for (const s of ['-wal', '-shm']) fs.rmSync(building + s, { force: true });
  fs.renameSync(building, layout.db);
  return { keptAt, fromRows, fromDirectories: jobs.length - fromRows };
}

function newestKept(layout: HomeLayout): string | null {
  const base = path.basename(layout.db);
  const kept = fs
    .readdirSync(layout.home)
    .filter((name) => name.startsWith(`${base}.damaged-`) && !/-(wal|shm)$/.test(name))
    .sort();
  return kept.length ? path.join(layout.home, kept.at(-1)!) : null;
}

/**
 * Every row of the damaged database SQLite can still read. A damaged page ends a table scan, so
 * what the scan missed is then read row by row by rowid, each read that fails skipped.
 */
function salvageRows(file: string | null): Map<string, Job> {
  const found = new Map<string, Job>();
  if (file === null) return found;
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch {
    return found;
  }
  const take = (row: unknown) => {
    try {
      const job = toJob(row as Row);
      if (typeof job.id === 'string' && typeof job.cwd === 'string') found.set(job.id, job);
    } catch {
      // A row whose JSON columns are damaged is rebuilt from its directory instead.
    }
  };
  try {
    try {
      for (const row of db.prepare('SELECT * FROM jobs').iterate()) take(row);
      return found;
    } catch {
      // Fall through to the row-by-row read.
    }
    let last = 0;
    for (const sql of [`SELECT seq AS n FROM sqlite_sequence WHERE name = 'jobs'`, 'SELECT max(seq) AS n FROM jobs']) {
      try {
        last = Math.max(last, Number((db.prepare(sql).get() as { n?: number } | undefined)?.n ?? 0));
      } catch {
        // Damaged too: the other source may still answer.
      }
    }
    let one: Database.Statement;
    try {
      one = db.prepare('SELECT * FROM jobs WHERE seq = ?');
    } catch {
      return found;
    }
    for (let seq = 1; seq <= last; seq++) {
      try {
        const row = one.get(seq);
        if (row) take(row);
      } catch {
        // This row's page is damaged: its job is rebuilt from its directory.
      }
    }
  } finally {
    db.close();
  }
  return found;
}

/**
 * A worktree outlives its row: kept for review if it is still there, with its base read from its
 * branch (codex cannot commit from its sandbox, so the branch stays where the job began). Without
 * the branch there is no base, and nothing to review.
 */
async function rebuiltWorkspace(layout: HomeLayout, ws: JobWorkspace): Promise<JobWorkspace> {
  if (ws.kind !== 'worktree' || !ws.path || !ws.repo || !ws.branch || !fs.existsSync(ws.path)) return { ...ws, state: null };
  try {
    const base = (await runGit(['rev-parse', '--verify', '--quiet', `refs/heads/${ws.branch}^{commit}`], { cwd: ws.repo })).trim();
    // What was brought in, kept by the job that made the worktree: its links stay out of the job's changes.
    return { ...ws, base_commit: base, state: 'ready', brought_in: readBroughtIn(jobFiles(layout, path.basename(ws.path)).broughtIn) };
  } catch {
    return { ...ws, state: null };
  }
}

/** The settings the job was created with (job.json), or what can stand in for them. */
function settingsOf(file: string): Partial<NewJob> {
  try {
    const parsed = JSON.parse(readSmall(file) ?? '') as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as Partial<NewJob>) : {};
  } catch {
    return {};
  }
}

/**
 * A job as its directory tells it: the prompt, the settings from job.json (jobs created before it
 * existed come back without cwd, label and the like), the event stream folded as a server folds it,
 * times from the files' mtimes, and the status: running while its wrapper lives, else the outcome
 * the recorded evidence gives. A job that never launched cannot be told from one cancelled while
 * queued, so it is not run behind the user's back: it comes back cancelled, with the reason.
 */
async function rebuild(layout: HomeLayout, id: string, config: Config): Promise<Job> {
  const files = jobFiles(layout, id);
  const set = settingsOf(files.settings);
  const prompt = readSmall(files.prompt, 8192) ?? '';
  const created = set.created_at ?? fileMtime(files.prompt) ?? fileMtime(files.dir) ?? Date.now();
  const job: Job = {
    seq: 0,
    id,
    status: 'cancelled',
    agent: typeof set.agent === 'string' && isAgentName(set.agent) ? set.agent : 'codex',
    prompt_head: prompt.slice(0, 2000),
    prompt_bytes: fileSize(files.prompt),
    cwd: set.cwd ?? '',
    sandbox: set.sandbox ?? 'read-only',
    bypass: set.bypass ?? false,
    approval_policy: set.approval_policy ?? null,
    model: set.model ?? null,
    reasoning_effort: set.reasoning_effort ?? null,
    timeout_seconds: set.timeout_seconds ?? config.defaultTimeoutSeconds,
    stall_seconds: set.stall_seconds ?? null,
    has_output_schema: fs.existsSync(files.outputSchema),
    images: set.images ?? [],
    add_dirs: set.add_dirs ?? [],
    label: set.label ?? null,
    parent_job_id: set.parent_job_id ?? null,
    resume_thread_id: set.resume_thread_id ?? null,
    thread_id: set.resume_thread_id ?? null,
    created_at: created,
    started_at: null,
    finished_at: null,
    deadline_at: null,
    pid: null,
    pid_start: null,
    stop_reason: null,
    stop_requested_at: null,
    exit_code: null,
    error: null,
    progress: null,
    events_offset: 0,
    final_message: null,
    launch_token: 0,
    claim_owner: null,
    launched_at: null,
    isolation: set.isolation ?? 'none',
    workspace: set.workspace ? await rebuiltWorkspace(layout, set.workspace) : UNSEEN_CHECKOUT,
    group_id: set.group_id ?? null,
    check_command: set.check_command ?? null,
    check: null,
    setup_command: set.setup_command ?? null,
    setup: null,
    include: set.include ?? [],
    changes: null,
    ports: null,
  };
  const proc = jobProcess({ id, pid: null, pid_start: null, launch_token: 0 }, files.pid);
  if (proc.pgid === null) {
    return {
      ...job,
      finished_at: created,
      error: { kind: 'cancelled', message: 'never started, and its record was lost with a damaged database (doctor --repair): start it again if it is still wanted' },
    };
  }
  const startedAt = fileMtime(files.pid) ?? created;
  const exitCode = readExitStatus(files);
  if (exitCode === null && !jobGone(proc)) {
    // Still at work: the sweep of any server follows it from here, as it would have.
    const launch = wrapperLaunch(files.pid);
    return { ...job, status: 'running', launch_token: launch, launched_at: launch ? startedAt : null, started_at: startedAt, deadline_at: startedAt + job.timeout_seconds * 1000, pid: proc.pgid, pid_start: proc.startTime };
  }
  const progress = emptyProgress();
  const offset = foldNewEvents(agentOf(job.agent).stream, files.events, 0, progress, true, config.maxLogBytes / 2);
  const verdict = decide(job, exitCode, progress, readTail(files.stderr, 2048).text, { stoppedIn: null, setupFailed: setupFailure(files, job) });
  return {
    ...job,
    ...verdict,
    setup: readStep(files, 'setup', job.setup_command),
    check: readStep(files, 'check', job.check_command),
    started_at: startedAt,
    finished_at: (exitCode !== null ? fileMtime(files.exit) : fileMtime(files.events)) ?? startedAt,
    pid: proc.pgid,
    pid_start: proc.startTime,
    exit_code: exitCode,
    progress,
    events_offset: offset,
    thread_id: progress.thread_id ?? job.thread_id,
    final_message: readSmall(files.lastMessage)?.trim() || progress.last_agent_message,
  };
}

/** The launch a living wrapper runs (the third word of its pid file), so its processes can be found by their marker. */
function wrapperLaunch(pidFile: string): number {
  const written = (readSmall(pidFile, 256) ?? '').trim().split(' ')[2] ?? '';
  return Number(/^[0-9a-f]{12}\.(\d+)$/.exec(written)?.[1] ?? 0);
}
