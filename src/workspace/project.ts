/**
 * A repository's own defaults for jobs in its worktrees, committed at its top as
 * `.codex-async.toml`, so that an assistant need not repeat them on every start:
 *
 *   [worktree]
 *   setup = "npm ci --prefer-offline"
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'smol-toml';

export const PROJECT_FILE = '.codex-async.toml';

export interface ProjectDefaults {
  /** The setup_command of a worktree job that names none. */
  setup: string | null;
}

export class ProjectFileError extends Error {
  override name = 'ProjectFileError';
}

/** The defaults in `repo`'s project file; none without one. A file we cannot read or make sense of is an error, said with its place. */
export function readProjectDefaults(repo: string): ProjectDefaults {
  const file = path.join(repo, PROJECT_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { setup: null };
    throw new ProjectFileError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ProjectFileError(`${file} is not valid TOML: ${(err as Error).message.split('\n')[0]}`);
  }
  const worktree = doc.worktree;
  if (worktree === undefined) return { setup: null };
  if (typeof worktree !== 'object' || worktree === null || Array.isArray(worktree)) throw new ProjectFileError(`${file}: [worktree] must be a table`);
  const { setup, ...rest } = worktree as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length) throw new ProjectFileError(`${file}: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `worktree.${k}`).join(', ')}; [worktree] takes setup`);
  if (setup !== undefined && typeof setup !== 'string') throw new ProjectFileError(`${file}: worktree.setup must be a string (a shell command)`);
  return { setup: setup === undefined || setup.trim() === '' ? null : setup };
}
