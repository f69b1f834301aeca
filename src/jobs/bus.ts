import fs from 'node:fs';
import path from 'node:path';
import { identityAlive, selfIdentity } from '../supervise/proc.js';
import { isJobId } from './ids.js';
import { createPrivate, touch, type HomeLayout } from './files.js';

/**
 * Wake-ups between every process that shares a home directory. A change to job X — its codex
 * exiting (the wrapper touches the file) or any server moving it — touches `notify/X`; each server
 * watches that single directory with inotify and re-reads job X from the database. No polling.
 *
 * A process that listens says so under `listeners/` (a file named by its pid, holding "pid
 * starttime"): a job's wrapper that finds one alive leaves recording the job's end to it rather than
 * starting a Node process to call back (supervise/launch.ts).
 */
export class Bus {
  private watcher: fs.FSWatcher | null = null;
  private registration: string | null = null;

  constructor(private readonly layout: Pick<HomeLayout, 'notifyDir' | 'listenersDir'>) {}

  fileFor(id: string): string {
    return path.join(this.layout.notifyDir, id);
  }

  /** Tells every process watching the home directory that job `id` changed. */
  publish(id: string): void {
    touch(this.fileFor(id));
  }

  /** Watches for changes. A failure (e.g. inotify limits reached) goes to onError, never throws. */
  listen(onChange: (id: string) => void, onError: (err: Error) => void): void {
    const failed = (err: Error) => {
      // Not hearing the wrapper's touch, it must not be counted on to record a job's end.
      this.unregister();
      onError(err);
    };
    try {
      this.watcher = fs.watch(this.layout.notifyDir, { persistent: false }, (_event, name) => {
        const id = name ?? '';
        if (id && isJobId(id)) onChange(id);
      });
      this.watcher.on('error', failed);
      this.register();
    } catch (err) {
      failed(err as Error);
    }
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
    this.unregister();
  }

  private register(): void {
    this.sweepRegistrations();
    const file = path.join(this.layout.listenersDir, String(process.pid));
    try {
      createPrivate(file);
      fs.writeFileSync(file, `${selfIdentity()}\n`);
      this.registration = file;
    } catch {
      // Unregistered, jobs call back into the bin as they end: slower, never wrong.
    }
  }

  private unregister(): void {
    if (!this.registration) return;
    // Only our own: a process given our pid after we died would have written its identity there.
    try {
      if (fs.readFileSync(this.registration, 'utf8').trim() === selfIdentity()) fs.rmSync(this.registration, { force: true });
    } catch {
      // Already gone.
    }
    this.registration = null;
  }

  /** Drops the registrations of listeners that died without unregistering (SIGKILL). */
  private sweepRegistrations(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.layout.listenersDir);
    } catch {
      return;
    }
    for (const name of names) {
      const file = path.join(this.layout.listenersDir, name);
      try {
        if (!identityAlive(fs.readFileSync(file, 'utf8').trim())) fs.rmSync(file, { force: true });
      } catch {
        // Another listener removed it first.
      }
    }
  }
}
