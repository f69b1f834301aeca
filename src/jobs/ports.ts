import { createHash } from 'node:crypto';

/**
 * A running worktree job's own ports: which block of the range it gets. Pure; the reservation
 * itself is one transaction in the store (JobStore.reservePorts), so two servers sharing a home
 * never hand out the same block.
 */

/** Ports per job: a dev server, its HMR socket, a database, a debugger, with room to spare. */
export const PORT_BLOCK = 10;

/** Both ends included. */
export interface PortRange {
  first: number;
  last: number;
}

export type PortBlock = PortRange;

export const blockAt = (first: number): PortBlock => ({ first, last: first + PORT_BLOCK - 1 });

/** How many blocks the range holds (config.ts makes it whole blocks). */
export const blockCount = (range: PortRange): number => (range.last - range.first + 1) / PORT_BLOCK;

/** What the agent, its setup and its check are given. */
export const portEnv = (block: PortBlock): Record<string, string> => ({
  PORT: String(block.first),
  PORT_RANGE: `${block.first}-${block.last}`,
});

/**
 * The block a home's search starts at, from a hash of the home: two homes on one machine (two users,
 * a test suite beside the real one) keep separate tables, so starting both at the range's beginning
 * would make them collide on every first job; only the listening check would part them, and only
 * once something listens.
 */
export function startingBlock(range: PortRange, home: string): number {
  return range.first + (createHash('sha256').update(home).digest().readUInt32BE(0) % blockCount(range)) * PORT_BLOCK;
}

/**
 * The first block from `start` on (wrapping round the range) that no job holds and where nothing on
 * the machine listens; null when there is none.
 */
export function pickBlock(range: PortRange, start: number, held: ReadonlySet<number>, listening: ReadonlySet<number>): number | null {
  const blocks = blockCount(range);
  const offset = (start - range.first) / PORT_BLOCK;
  for (let i = 0; i < blocks; i++) {
    const first = range.first + ((offset + i) % blocks) * PORT_BLOCK;
    if (held.has(first)) continue;
    let busy = false;
    for (let port = first; port < first + PORT_BLOCK && !busy; port++) busy = listening.has(port);
    if (!busy) return first;
  }
  return null;
}
