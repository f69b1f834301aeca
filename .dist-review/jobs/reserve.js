import fs from 'node:fs';
import path from 'node:path';
/**
 * Disk space held back for the job records themselves. When the disk fills (codex flooding a log,
 * or anything else), writing a job's outcome would fail exactly when it matters; releasing this
 * file frees room to record it. It is put back once there is room again.
 */
export class Reserve {
    bytes;
    file;
    constructor(home, bytes) {
        this.bytes = bytes;
        this.file = path.join(home, 'reserve');
    }
    /** Creates the reserve if it is missing and the disk has room for it; never throws. */
    ensure() {
        try {
            if (fs.statSync(this.file).size >= this.bytes)
                return;
        }
        catch {
            // Missing: create it below.
        }
        try {
            const free = fs.statfsSync(path.dirname(this.file));
            if (free.bavail * free.bsize < 2 * this.bytes)
                return;
            // Real zeros, not a sparse file: the blocks must be allocated to be worth anything.
            fs.writeFileSync(this.file, Buffer.alloc(this.bytes), { mode: 0o600 });
        }
        catch {
            fs.rmSync(this.file, { force: true });
        }
    }
    /** Frees the reserved space; true if there was any to free. */
    release() {
        try {
            fs.rmSync(this.file);
            return true;
        }
        catch {
            return false;
        }
    }
}
/** Is this error the disk being full (from SQLite or the file system)? */
export function isDiskFull(err) {
    const code = err?.code;
    return code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT';
}
//# sourceMappingURL=reserve.js.map