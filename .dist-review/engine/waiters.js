/**
 * Who is waiting for which job, in this process. A wake-up only says "look again": waiters re-read
 * the database, so a spurious or missed one costs nothing but a query.
 */
export class Waiters {
    byJob = new Map();
    everyJob = new Set();
    wake(id) {
        const wakers = this.byJob.get(id);
        if (wakers)
            for (const wake of [...wakers])
                wake();
        for (const onChange of [...this.everyJob])
            onChange(id);
    }
    wakeAll() {
        for (const id of [...this.byJob.keys()])
            this.wake(id);
    }
    /** Calls `onChange` at every change to the job until the returned function is called. */
    watch(id, onChange) {
        let set = this.byJob.get(id);
        if (!set)
            this.byJob.set(id, (set = new Set()));
        set.add(onChange);
        return () => {
            const current = this.byJob.get(id);
            current?.delete(onChange);
            if (current?.size === 0)
                this.byJob.delete(id);
        };
    }
    /** Calls `onChange` with the job id at every change to any job until the returned function is called. */
    watchAll(onChange) {
        this.everyJob.add(onChange);
        return () => void this.everyJob.delete(onChange);
    }
    /** Registered wake-ups and watchers, in all; finished waits and closed watches leave none. */
    get size() {
        let n = this.everyJob.size;
        for (const set of this.byJob.values())
            n += set.size;
        return n;
    }
    /** Resolves when any of the jobs changes, at the timeout, or on abort; leaves nothing behind. */
    next(ids, ms, signal) {
        return new Promise((resolve) => {
            const done = () => {
                clearTimeout(timer);
                signal?.removeEventListener('abort', done);
                for (const id of ids) {
                    const set = this.byJob.get(id);
                    set?.delete(done);
                    if (set?.size === 0)
                        this.byJob.delete(id);
                }
                resolve();
            };
            const timer = setTimeout(done, Math.max(0, ms));
            signal?.addEventListener('abort', done, { once: true });
            for (const id of ids) {
                let set = this.byJob.get(id);
                if (!set)
                    this.byJob.set(id, (set = new Set()));
                set.add(done);
            }
        });
    }
}
//# sourceMappingURL=waiters.js.map