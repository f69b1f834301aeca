import type { Access } from '../access.js';

export interface ExecOptions {
  cwd: string;
  access: Access;
  lastMessageFile: string;
  model?: string | null;
  reasoningEffort?: string | null;
  outputSchemaFile?: string | null;
  images?: readonly string[];
  addDirs?: readonly string[];
  /** Continue this Codex thread instead of starting a new one. */
  resumeThreadId?: string | null;
  /**
   * Keep /tmp read-only in the workspace-write sandbox (commands get $TMPDIR instead): a job in a
   * worktree can then write nothing but its worktree, its own temp directory and add_dirs.
   */
  privateTmp?: boolean;
}

/**
 * The argv for `codex exec`. The prompt is never part of it: it goes on stdin (`-` as the prompt
 * argument), so it cannot turn into a flag, has no length limit and is not visible in `ps`.
 */
export function buildExecArgs(o: ExecOptions): string[] {
  const args = ['exec', '--json', '--skip-git-repo-check', '-C', o.cwd];
  if (o.access.bypass) args.push('--dangerously-bypass-approvals-and-sandbox');
  else args.push('-s', o.access.sandbox);
  if (o.model) args.push('-m', o.model);
  if (o.reasoningEffort) args.push('-c', `model_reasoning_effort=${JSON.stringify(o.reasoningEffort)}`);
  if (o.outputSchemaFile) args.push('--output-schema', o.outputSchemaFile);
  for (const image of o.images ?? []) args.push('-i', image);
  for (const dir of o.addDirs ?? []) args.push('--add-dir', dir);
  if (o.privateTmp) args.push('-c', 'sandbox_workspace_write.exclude_slash_tmp=true');
  args.push('-o', o.lastMessageFile);
  if (o.resumeThreadId) args.push('resume', o.resumeThreadId);
  args.push('-');
  return args;
}
