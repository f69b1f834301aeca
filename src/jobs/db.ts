import Database from 'better-sqlite3';
import fs from 'node:fs';
import { createPrivate } from './files.js';
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
];

export const SCHEMA_VERSION = MIGRATIONS.length;

function fixFor(err: unknown): string {
  switch ((err as { code?: string }).code) {
    case 'SQLITE_FULL':
    case 'ENOSPC':
      return 'The disk is full: free some space, or set CODEX_ASYNC_HOME to a directory on another disk.';
    case 'SQLITE_NOTADB':
    case 'SQLITE_CORRUPT':
      return 'The file is damaged: move it aside (its jobs are then forgotten; their directories stay) and restart.';
    default:
      return "Check the file's owner and permissions, or move it aside to start with an empty job list.";
  }
}

export function openDb(file: string): Db {
  let db: Db;
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
    throw new ToolError('storage', `cannot open the job database ${file}: ${(err as Error).message}. ${fixFor(err)}`);
  }
  try {
    migrate(db, file);
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

