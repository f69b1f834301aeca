/**
 * CPU used by a process and everything it starts, exited or not, reparented or not: a control group
 * of its own (cgroup v1 cpuacct, else cgroup v2's cpu.stat), which every descendant joins at fork
 * and which a `setsid` does not leave. Where neither can be made (not root, no cgroup file system),
 * the processes' own /proc accounting, which misses what they did not wait for.
 */
import fs from 'node:fs';
import path from 'node:path';
import { until } from '../test/helpers/harness.ts';

const waitFor = (done: () => boolean, ms: number): Promise<boolean> => until('', done, ms, 20).then(
  () => true,
  () => false,
);

export interface CpuGroup {
  /** How the CPU is counted, for the report. */
  how: string;
  /** Puts a process (and so all it starts from now on) in the group. */
  add(pid: number): void;
  /** CPU (user + system) used so far by everything in the group, in ms. */
  usedMs(): number;
  /**
   * Waits until no process but `keep` is left in the group (a job's last processes still exiting);
   * false if some are still there after `ms` (a build that leaves a helper running, say).
   */
  settle(keep: number[], ms?: number): Promise<boolean>;
  /** Removes the group: waits a while for it to empty, then moves what is left to the parent group. */
  remove(): Promise<void>;
}

const V1 = '/sys/fs/cgroup/cpuacct';
const V2 = '/sys/fs/cgroup/unified';

export function cpuGroup(name: string): CpuGroup {
  for (const [root, how, read] of [
    [V1, 'cgroup v1 cpuacct (cpuacct.usage)', (dir: string) => Number(fs.readFileSync(path.join(dir, 'cpuacct.usage'), 'utf8')) / 1e6],
    [V2, 'cgroup v2 (cpu.stat usage_usec)', (dir: string) => Number(/usage_usec (\d+)/.exec(fs.readFileSync(path.join(dir, 'cpu.stat'), 'utf8'))?.[1]) / 1e3],
  ] as const) {
    const dir = path.join(root, `cam-bench-${name}-${process.pid}`);
    try {
      fs.mkdirSync(dir);
      read(dir);
    } catch {
      try {
        fs.rmdirSync(dir);
      } catch {
        // Not made.
      }
      continue;
    }
    const members = () => fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    return {
      how,
      add: (pid) => fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(pid)),
      usedMs: () => read(dir),
      settle: (keep, ms = 60_000) => waitFor(() => members().every((pid) => keep.includes(pid)), ms),
      async remove() {
        if (!(await waitFor(() => members().length === 0, 30_000))) {
          for (const pid of members()) {
            try {
              fs.writeFileSync(path.join(root, 'cgroup.procs'), String(pid));
            } catch {
              // Gone meanwhile.
            }
          }
        }
        try {
          fs.rmdirSync(dir);
        } catch (err) {
          process.stderr.write(`bench: could not remove ${dir}: ${(err as Error).message}\n`);
        }
      },
    };
  }
  return procGroup();
}

/** utime + stime + cutime + cstime of the processes added, while they live. */
function procGroup(): CpuGroup {
  const pids: number[] = [];
  const ticks = (pid: number) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      return 0;
    }
  };
  return {
    how: "/proc accounting of the measured process and the children it waited for (no cgroup could be made: job wrappers, which the server does not wait for, and callbacks are NOT counted)",
    add: (pid) => void pids.push(pid),
    usedMs: () => pids.reduce((sum, pid) => sum + ticks(pid), 0) * 10,
    settle: () => new Promise((resolve) => setTimeout(() => resolve(true), 1000)),
    remove: async () => undefined,
  };
}
