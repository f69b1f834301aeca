import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { RunSpec } from '../agent.js';
import type { Sandbox } from '../access.js';

/**
 * The session id a job's Claude Code conversation gets, from the job id alone: known before the
 * CLI starts, the same on every reading. A name-based (version 5 style) UUID over a SHA-256.
 * Claude Code refuses to start a second conversation under an id it already holds ("Session ID …
 * is already in use"), so a job is launched under it once; a reply continues it with --resume.
 */
export function sessionIdFor(jobId: string): string {
  const b = createHash('sha256').update(`codex-async-mcp job ${jobId}`).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * `claude -p` skips the workspace-trust prompt, so a repository's own .claude/settings.json and
 * .mcp.json would be honoured: its hooks and MCP servers would run commands in a read-only job, and
 * a workspace-write job could write such a hook for the next one. Only the user's settings count.
 * (The user's own allow rules still apply: a `Bash(touch:*)` there lets touch run in any mode.)
 */
const USER_SETTINGS_ONLY = ['--setting-sources', 'user'];

/**
 * Each access mode is also a permission mode, which Claude Code enforces on its tools: a second line
 * behind our OS sandbox (supervise/sandbox.ts), which is what enforces the mode outside
 * danger-full-access. (Claude Code's own optional bubblewrap sandbox is a user setting we leave alone.)
 * - read-only: `default` mode, in which nobody answers a permission prompt (-p), so only what
 *   Claude Code judges read-only runs (`ls`, `cat`, `git status`…); the file-writing tools are
 *   removed outright so that allow rules in the user's settings cannot let them write either.
 * - workspace-write: `acceptEdits`: file edits and file-system commands (touch, mkdir, rm, a
 *   redirection) inside cwd and add_dirs; a command Claude Code cannot judge safe is refused.
 * - danger-full-access: `bypassPermissions`: every tool, anywhere, as the user.
 */
const PERMISSIONS: Record<Sandbox, string[]> = {
  'read-only': ['--permission-mode', 'default', '--disallowedTools', 'Write,Edit,MultiEdit,NotebookEdit', ...USER_SETTINGS_ONLY],
  'workspace-write': ['--permission-mode', 'acceptEdits', ...USER_SETTINGS_ONLY],
  'danger-full-access': ['--permission-mode', 'bypassPermissions'],
};

/** Claude Code's `--effort` levels; codex's lowest ones mean its lowest. */
const EFFORT: Record<string, string> = { none: 'low', minimal: 'low', low: 'low', medium: 'medium', high: 'high', xhigh: 'xhigh', max: 'max' };

/**
 * The argv for `claude -p`. The prompt is never part of it: with no prompt argument Claude Code
 * reads it from stdin. `--verbose` is what makes stream-json print every message, not just the result.
 */
export function buildClaudeArgs(spec: RunSpec): string[] {
  const args = ['-p', '--output-format', 'stream-json', '--verbose', '--permission-prompts', 'none'];
  args.push(...PERMISSIONS[spec.access.sandbox]);
  if (spec.resume) args.push('--resume', spec.resume);
  else args.push('--session-id', sessionIdFor(spec.jobId));
  if (spec.model) args.push('--model', spec.model);
  if (spec.reasoningEffort) args.push('--effort', EFFORT[spec.reasoningEffort] ?? spec.reasoningEffort);
  // Claude Code takes the schema itself, not a file: it makes the model answer through a tool.
  if (spec.outputSchemaFile) args.push('--json-schema', fs.readFileSync(spec.outputSchemaFile, 'utf8'));
  for (const dir of spec.addDirs) args.push('--add-dir', dir);
  return args;
}
