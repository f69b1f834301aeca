import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ToolError } from '../errors.js';
import { identityAlive, selfIdentity } from '../supervise/proc.js';

/**
 * One runner per state directory, for the runner's whole life: two over one home would both answer
 * as its runner id and take each other's jobs. Node has no flock, so the lock is SQLite's: an
 * exclusive transaction on `runner.lock`, never committed, is a POSIX record lock the kernel holds
 * while the process lives (stopped with SIGSTOP too: a paused runner's heartbeat expires, its lock
 * does not) and drops when it dies, however it dies. No stale lock is left to judge, and Redis
 * plays no part. Record locks are not inherited by children, so jobs that outlive the runner never
 * hold it.
 */
export class HomeLock {
  private constructor(private readonly db: Database.Database) {}

  /** Takes the home's lock or throws a `conflict` naming the runner that holds it. */
  static take(home: string): HomeLock {
    fs.mkdirSync(home, { recursive: true, mode: 0o700 });
    const file = path.join(home, 'runner.lock');
    let db: Database.Database | undefined;
    try {
      db = new Database(file, { timeout: 0 });
      db.exec('BEGIN EXCLUSIVE');
    } catch (err) {
      db?.close();
      if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw new ToolError('storage', `cannot lock ${file}: ${(err as Error).message}`);
      throw new ToolError('conflict', `a runner already runs over ${home} (${holder(home)}): stop it first, or give this one another CODEX_ASYNC_HOME`);
    }
    // Who holds it, for the message a second runner prints; written only once the lock is ours.
    fs.writeFileSync(path.join(home, 'runner.pid'), `${selfIdentity()}\n`, { mode: 0o600 });
    return new HomeLock(db);
  }

  release(): void {
    this.db.close();
  }
}

function holder(home: string): string {
  let identity = '';
  try {
    identity = fs.readFileSync(path.join(home, 'runner.pid'), 'utf8').trim();
  } catch {
    // The holder is between taking the lock and writing its pid.
  }
  return identityAlive(identity) ? `pid ${identity.split(' ')[0]}` : 'a process that has just started';
}
