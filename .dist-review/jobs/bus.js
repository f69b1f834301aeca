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
    dir;
    watcher = null;
    constructor(dir) {
        this.dir = dir;
    }
    fileFor(id) {
        return path.join(this.dir, id);
    }
    /** Tells every process watching the home directory that job `id` changed. */
    publish(id) {
        touch(this.fileFor(id));
    }
    /** Watches for changes. A failure (e.g. inotify limits reached) goes to onError, never throws. */
    listen(onChange, onError) {
        try {
            this.watcher = fs.watch(this.dir, { persistent: false }, (_event, name) => {
                const id = name ?? '';
                if (id && isJobId(id))
                    onChange(id);
            });
            this.watcher.on('error', onError);
        }
        catch (err) {
            onError(err);
        }
    }
    close() {
        this.watcher?.close();
        this.watcher = null;
    }
}
//# sourceMappingURL=bus.js.map