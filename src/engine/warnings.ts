import { resolveAccess } from '../agents/access.js';
import type { Started } from './api.js';

/**
 * What a start that went through should still tell its caller: settings that agree with each other
 * yet make the job pointless. Worked out from the request and what was started, so the MCP tool and
 * the command line say the same, whether the engine here or a fleet started the job.
 */
export function startWarnings(input: { sandbox?: string | undefined; approval_policy?: string | undefined }, started: Started): string[] {
  // The start accepted these settings, so they resolve; the danger gate was the engine's to apply.
  const { sandbox } = resolveAccess(input, true);
  if (sandbox !== 'read-only' || started.isolation !== 'worktree') return [];
  const what = started.job_ids.length > 1 ? `its ${started.job_ids.length} attempts run` : 'it runs';
  return [
    `the job is read-only, yet ${what} in a worktree of ${started.job_ids.length > 1 ? 'their' : 'its'} own to review and apply: ` +
      'the agent cannot change a file there, so there will be nothing to apply; start it with sandbox "workspace-write" to let it edit the worktree',
  ];
}
