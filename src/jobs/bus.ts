import fs from 'node:fs';
import path from 'node:path';
import { isJobId } from './ids.js';
import { touch } from './files.js';

/**
 * Wake-ups between every process that shares a home directory. A change to job X — its codex
 * exiting (the wrapper touches the file) or any server moving it — touches `notify/X`; each server
 * watches that single directory with inotify and re-reads job X from the database. No polling.
 */
export class Bus {
  private watcher: fs.FSWatcher | null = null;

  constructor(private readonly dir: string) {}

  fileFor(id: string): string {
    return path.join(this.dir, id);
  }

  /** Tells every process watching the home directory that job `id` changed. */
  publish(id: string): void {
    touch(this.fileFor(id));
  }

  /** Watches for changes. A failure (e.g. inotify limits reached) goes to onError, never throws. */
  listen(onChange: (id: string) => void, onError: (err: Error) => void): void {
    try {
      this.watcher = fs.watch(this.dir, { persistent: false }, (_event, name) => {
        const id = name ?? '';
        if (id && isJobId(id)) onChange(id);
      });
      this.watcher.on('error', onError);
    } catch (err) {
      onError(err as Error);
    }
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
  }
}
