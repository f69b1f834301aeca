import path from 'node:path';
import type { Access } from '../access.js';
import type { RunSpec } from '../agent.js';

/**
 * Where a job's Copilot writes its usage report (its stream carries no token counts): in a directory
 * of its own, since it replaces the file through a temporary one beside it, and our OS sandbox can
 * leave a directory writable, not a file that is renamed over.
 */
export const USAGE_FILE = 'copilot/usage.json';

/**
 * Copilot CLI's permission flags for an access mode: its own checks, made before a tool runs, and a
 * second line behind our OS sandbox (supervise/sandbox.ts), which is what enforces the mode outside
 * danger-full-access; a command its classifier passes (`git diff --output=FILE`) still cannot write
 * outside. (Its own optional `--sandbox` needs bubblewrap, slirp4netns and more on Linux.)
 * - read-only: no approvals. Copilot runs only the shell commands its classifier deems read-only
 *   (`cat`, `ls`, `git status`, ...) and refuses every other tool call, as no one is there to
 *   approve it; file-writing tools are denied outright so a saved approval cannot allow them.
 * - workspace-write: every tool is approved, but paths are verified: file tools and the paths a
 *   shell command names must lie in cwd, add_dirs or the temp directory (not with privateTmp);
 *   URLs are refused. A command can still write elsewhere without naming the path (a script).
 * - danger-full-access: `--allow-all` (tools, paths, URLs).
 */
export function accessFlags(access: Access, privateTmp: boolean): string[] {
  if (access.bypass || access.sandbox === 'danger-full-access') return ['--allow-all'];
  const tmp = privateTmp ? ['--disallow-temp-dir'] : [];
  if (access.sandbox === 'workspace-write') return ['--allow-all-tools', ...tmp];
  return ['--deny-tool=write', ...tmp];
}

/**
 * The argv for a prompt-mode run. The prompt is never part of it: Copilot reads it from stdin
 * when it has no `-p`, so it cannot turn into a flag, has no length limit and is not in `ps`.
 */
export function buildCopilotArgs(spec: RunSpec): string[] {
  const args = ['--output-format', 'json', '-C', spec.cwd];
  // No one can answer a question, and a job runs the version that was located, not a download.
  args.push('--no-ask-user', '--no-auto-update');
  args.push(...accessFlags(spec.access, spec.privateTmp));
  if (spec.model) args.push('--model', spec.model);
  if (spec.reasoningEffort) args.push('--reasoning-effort', spec.reasoningEffort);
  for (const image of spec.images) args.push('--attachment', image);
  for (const dir of spec.addDirs) args.push('--add-dir', dir);
  args.push('--usage-output-file', path.join(spec.jobDir, USAGE_FILE));
  // `=`: --resume takes an optional value, and a session id must never read as a flag.
  if (spec.resume) args.push(`--resume=${spec.resume}`);
  return args;
}
