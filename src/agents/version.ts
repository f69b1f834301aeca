/**
 * Release versions as the agent CLIs print them (`2.1.263`, `1.0.81-0`): enough of semver to say
 * which of two releases is older. Users update their CLIs at their own pace, so an adapter names the
 * oldest release it supports (Agent.floor), and an older one is refused before a job fails on it.
 */

/**
 * The numbers and the pre-release tag of a release's version, or null for one that is not x.y.z or
 * is 0.0.0: codex built from source says `codex-cli 0.0.0`, which is no release at all.
 */
function parse(version: string): { nums: number[]; pre: string | null } | null {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?/.exec(version.trim());
  if (!m || (m[1] === '0' && m[2] === '0' && m[3] === '0')) return null;
  return { nums: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ?? null };
}

/**
 * Whether `version` is older than `than`; null when either is not a release's version (a build from
 * source), which nothing here can place. A pre-release comes before its release (`1.0.81-0` < `1.0.81`).
 */
export function isOlder(version: string, than: string): boolean | null {
  const a = parse(version);
  const b = parse(than);
  if (!a || !b) return null;
  for (let i = 0; i < 3; i++) if (a.nums[i] !== b.nums[i]) return a.nums[i]! < b.nums[i]!;
  if (a.pre === b.pre) return false;
  if (a.pre === null) return false;
  if (b.pre === null) return true;
  return a.pre.localeCompare(b.pre, 'en', { numeric: true }) < 0;
}
