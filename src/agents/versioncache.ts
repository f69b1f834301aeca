import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { homeOf } from './agent.js';

/**
 * The versions of agent binaries already asked (`codex --version` starts a whole Node process, ~200 ms
 * of CPU), kept per user rather than per state home: a server on a new home (a new project, a test)
 * then does not ask again for a binary this user's servers have seen. Each entry is keyed by the
 * binary's real path and valid only for its stamp (device, inode, size, mtime), so an update or a
 * reinstall is asked again, with no restart. Losing the file costs one probe, never a wrong answer.
 */

/** Where a binary is and what identifies the installed file: an update changes the stamp. */
export interface BinaryId {
  real: string;
  stamp: string;
}

type Entries = Record<string, { stamp: string; version: string }>;

/** $XDG_CACHE_HOME/codex-async-mcp (an absolute XDG_CACHE_HOME only, as the XDG spec says), else ~/.cache/codex-async-mcp. */
export function userCacheDir(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(homeOf(env), '.cache'), 'codex-async-mcp');
}

export const versionCacheFile = (env: NodeJS.ProcessEnv): string => path.join(userCacheDir(env), 'agent-versions.json');

/** The binary's identity, or null when it cannot be read (then nothing is cached for it). */
export function binaryId(file: string): BinaryId | null {
  try {
    const real = fs.realpathSync(file);
    const st = fs.statSync(real);
    return { real, stamp: `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}` };
  } catch {
    return null;
  }
}

/** Tolerant: a file that is missing, not JSON, or holds entries of another shape reads as empty. */
function readEntries(file: string): Entries {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
  const entries: Entries = {};
  for (const [real, entry] of Object.entries(parsed as Record<string, unknown>)) {
    const e = entry as { stamp?: unknown; version?: unknown } | null;
    if (e && typeof e.stamp === 'string' && typeof e.version === 'string') entries[real] = { stamp: e.stamp, version: e.version };
  }
  return entries;
}

/** The version cached for this binary as it is now, or null. */
export function cachedVersion(file: string, id: BinaryId): string | null {
  const entry = readEntries(file)[id.real];
  return entry && entry.stamp === id.stamp ? entry.version : null;
}

/**
 * Best effort, atomic (a reader sees the old file or the new one, never half of one; two servers
 * writing at once lose at most one entry, which costs a probe). The directory is the user's alone
 * (0700): it tells which programs they run.
 */
export function rememberVersion(file: string, id: BinaryId, version: string): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(tmp, JSON.stringify({ ...readEntries(file), [id.real]: { stamp: id.stamp, version } }), { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch {
    fs.rmSync(tmp, { force: true });
  }
}
