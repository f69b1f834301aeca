import { spawn } from 'node:child_process';
import fs from 'node:fs';
const BLOCK = 4096;
/**
 * Keeps a log that codex is still writing within `capBytes` of disk by punching a hole over its
 * oldest part (`fallocate --punch-hole`): the file keeps its length and codex its write offset,
 * the freed range reads back as zeros, and the tail — what `output` and the result need — stays.
 * Nothing at or after `keepFrom` is dropped (the event log's unread part). Resolves to the number
 * of bytes now holes at the start of the file, or `punched` unchanged when nothing was done.
 */
export async function capLog(file, capBytes, keepFrom, punched) {
    let st;
    try {
        st = fs.lstatSync(file);
    }
    catch {
        return punched;
    }
    if (!st.isFile() || st.size - punched <= capBytes)
        return punched;
    const end = Math.floor(Math.min(keepFrom, st.size - capBytes / 2) / BLOCK) * BLOCK;
    if (end <= punched)
        return punched;
    // fallocate works on a path and would follow a symlink: give it our own O_NOFOLLOW descriptor.
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW);
    try {
        await new Promise((resolve, reject) => {
            const child = spawn('fallocate', ['--punch-hole', '--offset', '0', '--length', String(end), '/proc/self/fd/3'], {
                stdio: ['ignore', 'ignore', 'pipe', fd],
            });
            let stderr = '';
            child.stderr?.on('data', (d) => (stderr += d.toString()));
            child.on('error', reject);
            child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`fallocate exited ${code}: ${stderr.trim()}`))));
        });
    }
    finally {
        fs.closeSync(fd);
    }
    return end;
}
//# sourceMappingURL=logcap.js.map