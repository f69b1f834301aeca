/** What a job changed, and bringing it into the user's checkout: all or nothing, 3-way. */
import { commitTree, emptyTree, listPaths, runGit, runGitBuffer, runGitResult, splitZ, type TrustedDrivers } from './git.js';
import { snapshotTree } from './snapshot.js';
import type { ApplyConflict, ApplyOutcome, Changes, FileChange } from './types.js';

/**
 * What changed in `checkout` (files, untracked included) against commit `base`. `drivers`: the
 * filters and merge drivers configured before the job, the only ones run (git.ts driverOverrides).
 * `exclude`: paths that are not the job's work (links to the user's checkout, include.ts).
 */
export async function changesOf(
  checkout: string,
  base: string,
  opts: { paths?: string[]; statOnly?: boolean; maxPatchBytes: number; drivers?: TrustedDrivers; exclude?: readonly string[] },
): Promise<Changes> {
  const tree = await snapshotTree(checkout, opts.drivers, opts.exclude);
  const files = await fileChanges(checkout, base, tree, opts.paths);
  let patch: string | null = null;
  let truncated = false;
  if (!opts.statOnly) {
    const full = await treePatch(checkout, base, tree, { renames: true, paths: opts.paths });
    if (full.length > opts.maxPatchBytes) {
      // Cut after the last whole line that fits, so no line (or UTF-8 character) is split.
      const cut = full.lastIndexOf(0x0a, opts.maxPatchBytes - 1) + 1;
      patch = full.subarray(0, cut).toString('utf8');
      truncated = true;
    } else {
      patch = full.toString('utf8');
    }
  }
  return {
    files,
    additions: files.reduce((n, f) => n + f.additions, 0),
    deletions: files.reduce((n, f) => n + f.deletions, 0),
    patch,
    truncated,
    tree,
  };
}

/**
 * Brings `tree`'s changes against `base` into the checkout `target` as uncommitted changes, 3-way
 * where both sides changed a file; all or nothing. `since`: a tree already applied from the same
 * worktree, so only what changed after it is brought.
 */
export async function applyChanges(o: {
  target: string;
  base: string;
  tree: string;
  since?: string | null;
  dryRun: boolean;
  drivers?: TrustedDrivers;
  /** Called once everything is checked, right before the checkout is written: the tree it holds, the one it will, the paths written. */
  beforeWrite?: (write: { before: string; after: string; paths: string[] }) => void;
}): Promise<ApplyOutcome> {
  const cwd = o.target;
  const outcome = (over: Partial<ApplyOutcome>): ApplyOutcome => ({ applied: false, dry_run: o.dryRun, files: [], conflicts: [], refused: null, ...over });
  const from = await treeOf(cwd, o.since ?? o.base);
  const to = await treeOf(cwd, o.tree);
  if (from === to) return outcome({});

  const [user, head] = await Promise.all([snapshotTree(cwd, o.drivers), headTree(cwd)]);

  const merged = await mergeChange(cwd, { from, to, onto: user, ontoName: 'your checkout', drivers: o.drivers });
  // Conflicts first: they say more than a refusal (e.g. a second attempt on the lines the first one changed).
  if (merged.conflicts.length) return outcome({ conflicts: merged.conflicts });

  const dirty = await uncommittedOverlap(cwd, { from, to, user, head });
  if (dirty.length) {
    return outcome({
      refused: `your checkout has uncommitted changes to ${dirty.length === 1 ? 'a file' : 'files'} the job also changed: ${listPaths(dirty, 10)}; commit or stash your changes to these files, then apply again`,
    });
  }

  const files = await fileChanges(cwd, user, merged.tree);
  if (o.dryRun || files.length === 0) return outcome({ files });
  const patch = await treePatch(cwd, user, merged.tree, { renames: false });
  o.beforeWrite?.({ before: user, after: merged.tree, paths: [...(await changedPaths(cwd, user, merged.tree))] });
  // Not --index: the user's index (what they staged) stays as it was; the change arrives unstaged.
  // git apply checks every hunk against the files before it writes any, so a checkout that changed
  // since the snapshot above makes it fail with nothing written.
  const applied = await runGitResult(['apply', '--whitespace=nowarn', '-'], { cwd, input: patch, okCodes: [1, 128], drivers: o.drivers });
  if (applied.code !== 0) {
    // Either a file changed since the snapshot, or an ignored file (which snapshots leave out) is where the job adds one.
    return outcome({ files, refused: `nothing was applied: git could not write the changes into your checkout (${applied.stderr}); if you changed these files meanwhile, apply again; if an ignored file is in the way, move it and apply again` });
  }
  return outcome({ applied: true, files });
}

/**
 * A change (tree `from` → tree `to`) merged 3-way onto tree `onto`, in git's objects only: nothing
 * in a work tree is read or written. The merged tree, or the files that conflict (`conflicts`
 * non-empty, `tree` then meaningless). `ontoName`: what `onto` is called in conflict reasons.
 */
export async function mergeChange(
  cwd: string,
  o: { from: string; to: string; onto: string; ontoName: string; changeName?: string; drivers?: TrustedDrivers },
): Promise<{ tree: string; conflicts: ApplyConflict[] }> {
  if (o.onto === o.from) return { tree: o.to, conflicts: [] };
  if (o.to === o.from) return { tree: o.onto, conflicts: [] };
  // merge-tree needs commits; these three are unreferenced and git's gc removes them in time.
  const fromCommit = await commitTree(cwd, o.from, [], "codex-async-mcp: the job's base");
  const [changeCommit, ontoCommit] = await Promise.all([
    commitTree(cwd, o.to, [fromCommit], "codex-async-mcp: the job's change"),
    commitTree(cwd, o.onto, [fromCommit], `codex-async-mcp: ${o.ontoName}`),
  ]);
  const merge = await runGitResult(['merge-tree', '--write-tree', '-z', '--name-only', changeCommit, ontoCommit], { cwd, okCodes: [1], drivers: o.drivers });
  const merged = parseMergeTree(merge.stdout.toString('utf8'), { [changeCommit]: o.changeName ?? "the job's change", [ontoCommit]: o.ontoName });
  return merge.code === 1 ? merged : { tree: merged.tree, conflicts: [] };
}

/** The tree a commit (or any tree-ish) holds. */
export async function treeOf(cwd: string, rev: string): Promise<string> {
  return (await runGit(['rev-parse', '--verify', `${rev}^{tree}`], { cwd })).trim();
}

export async function headTree(cwd: string): Promise<string> {
  try {
    return await treeOf(cwd, 'HEAD');
  } catch {
    return emptyTree(cwd); // no commit yet
  }
}

/**
 * Files the user changed since a change's base (`from`) AND has not committed (`user` against
 * `head`) that the change (`from` → `to`) also changes: its version would be mixed into work in
 * progress. A file whose uncommitted state is the base's (the job started from it) is no obstacle,
 * nor is one the user committed (the 3-way merge takes care of it).
 */
export async function uncommittedOverlap(cwd: string, o: { from: string; to: string; user: string; head: string }): Promise<string[]> {
  const [changed, userChanged, uncommitted] = await Promise.all([changedPaths(cwd, o.from, o.to), changedPaths(cwd, o.from, o.user), changedPaths(cwd, o.head, o.user)]);
  return [...changed].filter((p) => userChanged.has(p) && uncommitted.has(p)).sort();
}

/** The paths that differ between two trees (both sides of a rename). */
export async function changedPaths(cwd: string, a: string, b: string): Promise<Set<string>> {
  if (a === b) return new Set();
  return new Set(splitZ(await runGit(['diff-tree', '-r', '-z', '--no-renames', '--name-only', a, b], { cwd })));
}

/** Literal pathspecs: a path given by a caller names a file or folder, never a pattern. */
const literal = (paths: string[] | undefined) => (paths?.length ? ['--', ...paths.map((p) => `:(literal)${p}`)] : []);

/**
 * Per-file changes between two tree-ishes. Plumbing (diff-tree), so the user's diff settings
 * (external diff tools, prefixes, colour) do not change what is parsed.
 */
export async function fileChanges(cwd: string, a: string, b: string, paths?: string[]): Promise<FileChange[]> {
  const out = splitZ(await runGit(['diff-tree', '-r', '-z', '-M', '--raw', '--numstat', a, b, ...literal(paths)], { cwd }));
  // First the raw records (":modes ids status", then one path, or two for a rename), then the
  // numstat records ("adds\tdels\tpath", or "adds\tdels\t" then old and new path for a rename).
  const files: FileChange[] = [];
  let i = 0;
  while (i < out.length && out[i]!.startsWith(':')) {
    const letter = out[i]!.split(' ')[4]![0]!;
    const renamed = letter === 'R' || letter === 'C';
    const status = renamed ? 'renamed' : letter === 'A' ? 'added' : letter === 'D' ? 'deleted' : 'modified';
    files.push({ path: out[renamed ? i + 2 : i + 1]!, old_path: renamed ? out[i + 1]! : null, status, additions: 0, deletions: 0, binary: false });
    i += renamed ? 3 : 2;
  }
  for (const file of files) {
    const [adds, dels, single] = out[i]!.split('\t');
    i += single === '' ? 3 : 1;
    file.binary = adds === '-';
    file.additions = file.binary ? 0 : Number(adds);
    file.deletions = file.binary ? 0 : Number(dels);
  }
  return files;
}

/** The binary-safe unified diff between two tree-ishes. */
export async function treePatch(cwd: string, a: string, b: string, opts: { renames: boolean; paths?: string[] }): Promise<Buffer> {
  return runGitBuffer(['diff-tree', '-r', '-p', '--binary', opts.renames ? '-M' : '--no-renames', a, b, ...literal(opts.paths)], { cwd });
}

/**
 * `merge-tree --write-tree -z --name-only` output: the tree, the conflicted paths, an empty field,
 * then messages as "<count>, <paths…>, <type>, <text>". Commit ids in the texts are replaced with
 * what they stand for.
 */
function parseMergeTree(out: string, names: Record<string, string>): { tree: string; conflicts: ApplyConflict[] } {
  const fields = out.split('\0');
  const tree = fields[0]!;
  let i = 1;
  const conflicted: string[] = [];
  while (i < fields.length && fields[i] !== '') conflicted.push(fields[i++]!);
  i++;
  const reasons = new Map<string, string[]>();
  while (i < fields.length && fields[i] !== '') {
    const count = Number(fields[i++]);
    const paths = fields.slice(i, i + count);
    i += count;
    const type = fields[i++] ?? '';
    let text = (fields[i++] ?? '').trim();
    if (!type.startsWith('CONFLICT')) continue;
    for (const [id, name] of Object.entries(names)) text = text.split(id).join(name);
    for (const p of paths) reasons.set(p, [...(reasons.get(p) ?? []), text]);
  }
  const conflicts = [...new Set([...conflicted, ...reasons.keys()])].sort().map((path) => ({
    path,
    reason: reasons.get(path)?.join('; ') ?? 'both sides changed it in ways that do not merge',
  }));
  return { tree, conflicts };
}
