import type { Sandbox } from '../access.js';
import type { RunSpec } from '../agent.js';

/**
 * Each access mode is an approval mode — which tools gemini offers the model at all, since a
 * headless run cannot ask anyone. Gemini's own `--sandbox` (a container) is not used: in read-only
 * and workspace-write our OS sandbox (supervise/sandbox.ts) confines it and everything it runs.
 * - read-only: `default` — only tools that need no approval: reading, listing and searching files,
 *   web search. No edit tool, no shell.
 * - workspace-write: `yolo` — every tool, the shell included: a command writes only where our
 *   sandbox lets it (cwd, add_dirs, the job's temp dir), whatever gemini's own checks decide. (Before
 *   the sandbox this was `auto_edit`, without a shell, as a command would have run with the user's
 *   full rights.)
 * - danger-full-access: `yolo`, unconfined.
 */
export const APPROVAL_MODE: Record<Sandbox, 'default' | 'auto_edit' | 'yolo'> = {
  'read-only': 'default',
  'workspace-write': 'yolo',
  'danger-full-access': 'yolo',
};

/**
 * The argv for a headless run. The prompt is never part of it: `-p ""` makes the run headless and
 * gemini appends stdin (the prompt) to that empty prompt. `--skip-trust` trusts the job's cwd for
 * this run only: an untrusted folder would make gemini refuse to run headless. Without a model
 * gemini picks its own (GEMINI_MODEL, settings' model.name, else its "auto" router).
 */
export function buildGeminiArgs(spec: Pick<RunSpec, 'access' | 'model' | 'addDirs' | 'resume'>): string[] {
  const args = ['-p', '', '--output-format', 'stream-json', '--skip-trust'];
  args.push('--approval-mode', spec.access.bypass ? 'yolo' : APPROVAL_MODE[spec.access.sandbox]);
  if (spec.model) args.push('--model', spec.model);
  for (const dir of spec.addDirs) args.push('--include-directories', dir);
  // A session id resumes the session of that id among the cwd's project's sessions.
  if (spec.resume) args.push('--resume', spec.resume);
  return args;
}
