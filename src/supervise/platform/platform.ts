/**
 * What supervising a job needs from the operating system, behind one seam: who a process is (pid
 * and start time), every process with its parent and group, the environment that carries a job's
 * marker, who holds a file open, which TCP ports are taken, and the few lines of shell the job's
 * wrapper runs. Two implementations: `linux` reads /proc; `posix` asks `ps` and `lsof`, as on
 * macOS. The Linux tests also run the posix one (CODEX_ASYNC_PLATFORM=posix), so the code a Mac
 * runs is code CI ran.
 */
export interface ProcStat {
  /** The state letter: Z (zombie) or X (dead) mean gone. */
  state: string;
  ppid: number;
  pgrp: number;
  /**
   * When the process started, as a token only equality and `order` look into: Linux, clock ticks
   * since boot (digits); posix, ps's `lstart` in UTC with its spaces as `_` (Mon_Dec_7_18:38:51_2026).
   */
  startTime: string;
}

export interface ProcRow extends ProcStat {
  pid: number;
}

/** A process's environment as the platform shows it, to look for a marker in. */
export type Environment = Buffer | string;

export interface Platform {
  readonly name: 'linux' | 'posix';
  /**
   * Each look costs a process (a `ps`), so a look at one process costs as much as a look at all:
   * identity checks then read the turn's table of every process rather than ask one by one.
   */
  readonly lookCostsAProcess: boolean;
  /** One process, read afresh; null once it is gone or cannot be read. */
  stat(pid: number): ProcStat | null;
  /** Several processes at once (one `ps` on posix), read afresh. */
  stats(pids: readonly number[]): Map<number, ProcStat>;
  /** Every process on the machine. */
  all(): ProcRow[];
  /** Is this start time one of this platform's tokens (so comparable with its own)? */
  owns(startTime: string): boolean;
  /** A start time as a number to order by; the same unit as settledBefore. */
  order(startTime: string): number;
  /** Processes that started before this (in `order`'s unit) are at least a second old. */
  settledBefore(): number;
  /** The environments of these processes; a process whose environment cannot be read is left out. */
  environments(pids: readonly number[]): Map<number, Environment>;
  /** Does the environment hold this NAME=value entry? */
  carries(env: Environment, entry: string): boolean;
  /** The processes that hold any of these files (real paths) open. */
  holders(files: readonly string[]): number[];
  /** The TCP ports something on the machine listens on; empty when that cannot be known. */
  listening(): Set<number>;
  /**
   * The paths of every Unix socket bound on the machine (Linux: /proc/net/unix), however many
   * directories hold them; absent where no such list exists (macOS): the sandbox then walks the
   * places sessions keep sockets (supervise/sandbox.ts socketsIn).
   */
  readonly boundSockets?: () => string[];
  /**
   * Frees [0, length) of an open file in place, its length and every offset kept (a hole); absent
   * where no tool can (macOS): jobs/logcap.ts then truncates and writes the kept tail back.
   */
  readonly punchHole?: (fd: number, length: number) => Promise<void>;
  /** The wrapper's shell functions (supervise/launch.ts) for this platform. */
  readonly shell: string;
}
