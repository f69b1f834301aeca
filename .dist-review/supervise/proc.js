import fs from 'node:fs';
function readStat(pid) {
    let text;
    try {
        text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    }
    catch {
        return null;
    }
    // The command name (field 2) may contain spaces and parentheses; fields after it are fixed.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '?', pgrp: Number(fields[2]), startTime: fields[19] ?? '' };
}
export function startTimeOf(pid) {
    return readStat(pid)?.startTime ?? null;
}
const living = (stat) => stat !== null && stat.state !== 'Z' && stat.state !== 'X';
/**
 * Is the process group still provably the job's? Only while its leader — our wrapper — is alive
 * with the recorded start time. Once the leader is gone its number may name someone else's group
 * (after a reboot, or a reused pid whose own leader exited), so the group as such is not trusted.
 */
export function ownsGroup(pgid, startTime) {
    const leader = readStat(pgid);
    return living(leader) && startTime !== null && startTime !== '' && leader.startTime === startTime;
}
function allPids() {
    try {
        return fs
            .readdirSync('/proc')
            .filter((name) => /^\d+$/.test(name))
            .map(Number);
    }
    catch {
        return [];
    }
}
/** Does the process carry `marker` (NAME=value) in its environment? */
function hasEnvMarker(pid, marker) {
    let env;
    try {
        env = fs.readFileSync(`/proc/${pid}/environ`);
    }
    catch {
        return false;
    }
    const entry = Buffer.from(`${marker}\0`);
    return env.subarray(0, entry.length).equals(entry) || env.includes(Buffer.concat([Buffer.from([0]), entry]));
}
/** The living processes that belong to a job, by group and environment marker. */
export function findProcesses(q) {
    const found = [];
    for (const pid of allPids()) {
        if (pid === process.pid)
            continue;
        const stat = readStat(pid);
        if (!living(stat))
            continue;
        const inGroup = q.pgid !== null && stat.pgrp === q.pgid;
        if ((inGroup && q.trustGroup) || ((inGroup || q.anySession) && q.markers.some((m) => hasEnvMarker(pid, m))))
            found.push(pid);
    }
    return found;
}
/** Is this exact process (pid and start time) alive? Without a start time we cannot know: no. */
export function isAlive(pid, startTime) {
    const stat = readStat(pid);
    return living(stat) && startTime !== null && startTime !== '' && stat.startTime === startTime;
}
/** This process as "pid starttime": how a claim names its owner. */
export function selfIdentity() {
    return `${process.pid} ${startTimeOf(process.pid) ?? ''}`;
}
/** Is the process named by selfIdentity() still alive (a stopped one counts)? */
export function identityAlive(identity) {
    const [pid, startTime] = (identity ?? '').split(' ');
    const n = Number(pid);
    return Number.isInteger(n) && n > 0 && isAlive(n, startTime ?? null);
}
/** The processes that hold any of `files` open, by their /proc/<pid>/fd links. */
export function processesWithOpen(files) {
    const wanted = new Set(files);
    return allPids().filter((pid) => {
        let fds;
        try {
            fds = fs.readdirSync(`/proc/${pid}/fd`);
        }
        catch {
            return false;
        }
        return fds.some((fd) => {
            try {
                return wanted.has(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
            }
            catch {
                return false;
            }
        });
    });
}
//# sourceMappingURL=proc.js.map