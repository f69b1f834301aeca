import Database from 'better-sqlite3';
import fs from 'node:fs';
import { createPrivate, jobDirectories } from './files.js';
import { ToolError } from '../errors.js';

export type Db = Database.Database;

/**
 * Versioned schema. Each entry moves the database from version i to i+1 and never changes once
 * released; `PRAGMA user_version` records how far a database has come.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE jobs (
     seq               INTEGER PRIMARY KEY AUTOINCREMENT,
     id                TEXT    NOT NULL UNIQUE,
     status            TEXT    NOT NULL CHECK (status IN ('queued','running','completed','failed','cancelled')),
     prompt_head       TEXT    NOT NULL,
     prompt_bytes      INTEGER NOT NULL,
     cwd               TEXT    NOT NULL,
     sandbox           TEXT    NOT NULL,
     bypass            INTEGER NOT NULL DEFAULT 0,
     approval_policy   TEXT,
     model             TEXT,
     reasoning_effort  TEXT,
     timeout_seconds   REAL    NOT NULL,
     has_output_schema INTEGER NOT NULL DEFAULT 0,
     images            TEXT    NOT NULL DEFAULT '[]',
     add_dirs          TEXT    NOT NULL DEFAULT '[]',
     label             TEXT,
     parent_job_id     TEXT,
     resume_thread_id  TEXT,
     thread_id         TEXT,
     created_at        INTEGER NOT NULL,
     started_at        INTEGER,
     finished_at       INTEGER,
     deadline_at       INTEGER,
     pid               INTEGER,
     pid_start         TEXT,
     stop_reason       TEXT,
     stop_requested_at INTEGER,
     exit_code         INTEGER,
     error_kind        TEXT,
     error_message     TEXT,
     progress          TEXT,
     events_offset     INTEGER NOT NULL DEFAULT 0,
     final_message     TEXT
   );
   CREATE INDEX jobs_by_status ON jobs (status, seq);
   CREATE INDEX jobs_by_thread ON jobs (thread_id);
   CREATE INDEX jobs_by_resume_thread ON jobs (resume_thread_id);`,
  `ALTER TABLE jobs ADD COLUMN stall_seconds REAL;`,
  // A claim is a lease: launch_token fences it (each claim takes a new one), claim_owner ("pid
  // starttime") says who holds it, launched_at marks the point after which only the owner may act.
  `ALTER TABLE jobs ADD COLUMN launch_token INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE jobs ADD COLUMN claim_owner TEXT;
   ALTER TABLE jobs ADD COLUMN launched_at INTEGER;`,
  // Where a job works (ws_*: its checkout or worktree, see workspace/), the group of attempts it
  // belongs to, the check run after it, and a summary of its changes.
  `ALTER TABLE jobs ADD COLUMN isolation TEXT NOT NULL DEFAULT 'none';
   ALTER TABLE jobs ADD COLUMN ws_repo TEXT;
   ALTER TABLE jobs ADD COLUMN ws_subdir TEXT;
   ALTER TABLE jobs ADD COLUMN ws_path TEXT;
   ALTER TABLE jobs ADD COLUMN ws_branch TEXT;
   ALTER TABLE jobs ADD COLUMN ws_base TEXT;
   ALTER TABLE jobs ADD COLUMN ws_state TEXT;
   ALTER TABLE jobs ADD COLUMN ws_applied_tree TEXT;
   ALTER TABLE jobs ADD COLUMN ws_applied_at INTEGER;
   ALTER TABLE jobs ADD COLUMN changes TEXT;
   ALTER TABLE jobs ADD COLUMN group_id TEXT;
   ALTER TABLE jobs ADD COLUMN check_command TEXT;
   ALTER TABLE jobs ADD COLUMN check_result TEXT;
   CREATE INDEX jobs_by_group ON jobs (group_id);
   CREATE INDEX jobs_by_ws_path ON jobs (ws_path);`,
  // Which agent runs the job (agents/registry.ts); every job before there was a choice ran codex.
  `ALTER TABLE jobs ADD COLUMN agent TEXT NOT NULL DEFAULT 'codex';`,
  // A worktree as a working environment: the setup run in it before the agent, the start's own
  // include patterns (JSON), and what was brought in from the checkout (workspace/include.ts).
  `ALTER TABLE jobs ADD COLUMN setup_command TEXT;
   ALTER TABLE jobs ADD COLUMN include TEXT;
   ALTER TABLE jobs ADD COLUMN ws_brought_in TEXT;
   ALTER TABLE jobs ADD COLUMN setup_result TEXT;`,
  // Port blocks held by worktree jobs (jobs/ports.ts), one row per block: the primary key keeps two
  // servers from handing out the same one. A row whose job is final (or deleted) no longer holds it.
  `CREATE TABLE ports (
     first  INTEGER PRIMARY KEY,
     job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE
   );
   CREATE INDEX ports_by_job ON ports (job_id);`,
  // A worktree landed (engine/landing.ts): by which landing, when, and the tree it held then.
  `ALTER TABLE jobs ADD COLUMN ws_landed_by TEXT;
   ALTER TABLE jobs ADD COLUMN ws_landed_at INTEGER;
   ALTER TABLE jobs ADD COLUMN ws_landed_tree TEXT;`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** What brings a damaged store back: said wherever the damage is found. */
export const REPAIR_FIX =
  'run `codex-async-mcp doctor --repair`: it moves the damaged file aside (kept, not deleted) and rebuilds the job list from the job directories';

/** Whether the file holds the jobs table (a damaged schema page can lose it whatever the version says). */
export const hasJobsTable = (db: Db) => db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'jobs'`).get() !== undefined;

/** SQLite's own word that the file is not (or no longer) a database it can read. */
export function isDamage(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

export function damagedError(file: string, what: string): ToolError {
  return new ToolError('storage', `the job database ${file} ${what}. To recover, ${REPAIR_FIX}; then restart the servers that reported this (reconnect their MCP clients).`);
}

function fixFor(err: unknown): string {
  if (isDamage(err)) return `To recover, ${REPAIR_FIX}.`;
  switch ((err as { code?: string }).code) {
    case 'SQLITE_FULL':
    case 'ENOSPC':
      return 'The disk is full: free some space, or set CODEX_ASYNC_HOME to a directory on another disk.';
    default:
      return "Check the file's owner and permissions, or move it aside to start with an empty job list.";
  }
}

/**
 * A database that is missing or empty while job directories exist has lost its jobs, not never had
 * any: opening it as a new store would orphan them without a word. Null when that is not the case.
 */
export function lostDatabase(file: string, jobsDir: string): string | null {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    size = -1;
  }
  if (size > 0) return null;
  const dirs = jobDirectories(jobsDir).length;
  if (dirs === 0) return null;
  return `is ${size < 0 ? 'missing' : 'empty (0 bytes)'}, but ${dirs} job director${dirs === 1 ? 'y' : 'ies'} in ${jobsDir} hold jobs`;
}

/**
 * Opens (creating and migrating if need be) the job database. Given `jobsDir`, a database that lost
 * its jobs (see lostDatabase) is refused, not made anew; only a repair, which rebuilds one, omits it.
 */
export function openDb(file: string, jobsDir?: string): Db {
  const lost = jobsDir === undefined ? null : lostDatabase(file, jobsDir);
  if (lost) throw damagedError(file, lost);
  let db: Db | undefined;
  try {
    // Created private before SQLite opens it; SQLite gives its -wal and -shm files the same mode.
    if (!fs.existsSync(file)) createPrivate(file);
    db = new Database(file);
    // Several server processes share one file: WAL lets readers run beside a writer, and the
    // busy timeout makes a writer wait for another's lock instead of failing at once.
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 10000');
    db.pragma('synchronous = NORMAL');
    // Checkpoints fsync the database file: keep them off the tool-call path (a 10+ ms stall inside
    // codex_start); the sweep runs them in the background instead (JobStore.checkpoint).
    db.pragma('wal_autocheckpoint = 0');
    db.pragma('foreign_keys = ON');
  } catch (err) {
    db?.close();
    if (isDamage(err)) throw damagedError(file, `is not a database SQLite can read (${(err as Error).message})`);
    throw new ToolError('storage', `cannot open the job database ${file}: ${(err as Error).message}. ${fixFor(err)}`);
  }
  try {
    // A valid but blank SQLite file (schema version 0) beside job directories lost its jobs too.
    // The directory is listed only then: every start would otherwise pay for it.
    const dirs = jobsDir !== undefined && (db.pragma('user_version', { simple: true }) as number) === 0 ? jobDirectories(jobsDir).length : 0;
    if (dirs > 0) throw damagedError(file, `holds no jobs table, but ${dirs} job directories in ${jobsDir} hold jobs`);
    migrate(db, file);
    // The version says the table was made; a file that lost it (or its schema page) must not pass.
    if (!hasJobsTable(db)) {
      throw damagedError(file, 'has lost its jobs table');
    }
  } catch (err) {
    db.close();
    if (err instanceof ToolError) throw err;
    throw new ToolError('storage', `cannot prepare the job database ${file}: ${(err as Error).message}. ${fixFor(err)}`);
  }
  return db;
}

function migrate(db: Db, file: string): void {
  // Most starts have nothing to migrate: don't take the write lock (another server may hold it).
  if ((db.pragma('user_version', { simple: true }) as number) === SCHEMA_VERSION) return;
  const apply = db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new ToolError(
        'storage',
        `the job database ${file} has schema version ${version}, newer than this codex-async-mcp understands (${SCHEMA_VERSION}). Upgrade codex-async-mcp, or point CODEX_ASYNC_HOME at another directory.`,
      );
    }
    for (let v = version; v < SCHEMA_VERSION; v++) {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }
  });
  // IMMEDIATE: two servers starting at once must not both run the same migration.
  apply.immediate();
}


/**
 * `target` with every method's SQLite damage error turned into one that names the file and the
 * repair: damage in a page is found only when a query reaches it, long after the open succeeded.
 */
export function guardDamage<T extends object>(target: T, file: string): T {
  return new Proxy(target, {
    get(t, key, receiver) {
      const value = Reflect.get(t, key, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        try {
          return (value as (...a: unknown[]) => unknown).apply(t, args);
        } catch (err) {
          if (isDamage(err)) throw damagedError(file, `is damaged (${(err as Error).message})`);
          throw err;
        }
      };
    },
  });
}
