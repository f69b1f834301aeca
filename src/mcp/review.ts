import type { McpServer } from '@modelcontextprotocol/server';
import { discardGroup, type JobApi, type LandingView } from '../engine/api.js';
import type { DiffResult } from '../engine/workspaces.js';
import type { Logger } from '../log.js';
import { ToolError } from '../errors.js';
import { call } from './call.js';
import { blockingMs } from './tools.js';
import * as s from '../engine/shapes.js';

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

function diffText(r: DiffResult): string {
  const head = `job ${r.job_id}: ${plural(r.files.length, 'file')} changed, +${r.additions} -${r.deletions} against ${r.base_commit.slice(0, 12)}`;
  const files = r.files.map((f) => `  ${f.status.padEnd(8)} ${f.old_path ? `${f.old_path} → ` : ''}${f.path}${f.binary ? ' (binary)' : ` +${f.additions} -${f.deletions}`}`);
  const cut = r.truncated ? ['(the diff was cut at its size limit: ask for fewer paths to see the rest)'] : [];
  return [head, ...(r.note ? [r.note] : []), ...files, ...(r.patch ? ['', r.patch] : []), ...cut].join('\n');
}

function landText(r: LandingView): string {
  const head = `${r.dry_run ? 'dry run' : `landing ${r.landing_id}`}: ${r.status}: ${r.message}`;
  const aside = r.set_aside.map((a) => `  set aside ${a.job_id} (${a.reason}): ${a.message}${a.check ? `\n${a.check.output_tail.trimEnd().split('\n').slice(-10).map((l) => `    ${l}`).join('\n')}` : ''}`);
  const files = r.files.map((f) => `  ${f.status.padEnd(8)} ${f.path}`);
  return [head, ...aside, ...files].join('\n');
}

/**
 * Reviewing what a job changed and bringing it into the user's checkout: codex_diff, codex_apply,
 * codex_land (several jobs as one change), codex_discard. They serve jobs run with isolation "worktree" (diff also serves others where it can).
 */
export function registerReviewTools(server: McpServer, engine: () => JobApi, log: Logger): void {
  server.registerTool(
    'codex_diff',
    {
      title: "Show a Codex job's changes",
      description:
        "Show what a Codex job changed, against its base commit: per file (path, added|modified|deleted|renamed, lines added and deleted, binary) and a unified diff (cut with truncated: true when very long). " +
        'For jobs run with isolation "worktree" this is exactly the job\'s work; for others, the changes under cwd since it began, when cwd is a git checkout. ' +
        'Example: {"job_id": "3f9c0a1b2c3d", "stat_only": true}',
      inputSchema: s.diffInput,
      outputSchema: s.diffOutput,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args) => call(log, () => engine().diff(args.job_id, { statOnly: args.stat_only, paths: args.paths }), diffText),
  );

  server.registerTool(
    'codex_apply',
    {
      title: "Apply a Codex job's changes",
      description:
        "Bring a finished worktree job's changes into the checkout it came from, as uncommitted changes to review in the editor (3-way where both sides changed a file). " +
        'All or nothing: conflicts, or uncommitted changes of yours to the same files, are reported per file and nothing is changed. Applying the same changes twice is refused. ' +
        'Use dry_run to check first. Example: {"job_id": "3f9c0a1b2c3d", "dry_run": true}',
      inputSchema: s.applyInput,
      outputSchema: s.applyOutput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    (args) =>
      call(log, async () => {
        const r = await engine().apply(args.job_id, { dryRun: args.dry_run });
        // Refused or in conflict: an error the assistant cannot miss, saying which files.
        if (!r.dry_run && (r.refused !== null || r.conflicts.length > 0)) throw new ToolError('conflict', `job ${r.job_id}: ${r.message}`);
        return r;
      }, (r) => [`job ${r.job_id}: ${r.message}`, ...r.files.map((f) => `  ${f.status.padEnd(8)} ${f.path}`)].join('\n')),
  );

  server.registerTool(
    'codex_land',
    {
      title: 'Land several Codex jobs as one change',
      description:
        'Bring several finished worktree jobs into the checkout as one change, in the order given: each merged 3-way onto what landed before it in an integration worktree of its own, ' +
        'then check_command run there (e.g. your tests); a job that conflicts or fails the check is set aside with the reason (the files; the exit code and output) and the next one merges without it. ' +
        'into "checkout" (default) brings what landed as uncommitted changes, all or nothing (refused, untouched, if your uncommitted changes overlap); into "branch" makes one commit per landed job on a branch, the checkout untouched. ' +
        'resolve: true gives each job set aside a continuation in a new worktree that holds what landed, told what to fix; land those when they finish. dry_run: which jobs conflict with which, changing nothing. ' +
        'A landing runs on even if this call returns first (status "running"): call again with its landing_id. ' +
        'Example: {"job_ids": ["3f9c0a1b2c3d", "8e7d6c5b4a39"], "check_command": "npm test"}',
      inputSchema: s.landInput,
      outputSchema: s.landOutput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    (args, ctx) =>
      call(log, async () => {
        const { timeout_seconds, ...input } = args;
        const token = ctx.mcpReq._meta?.progressToken;
        const r = await engine().land(input, blockingMs(timeout_seconds), {
          signal: ctx.mcpReq.signal,
          // Each step of the landing as a progress notification, for clients that show them (or keep a call alive on them).
          onProgress: (step, index) => {
            if (token === undefined) return;
            void ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress: index + 1, message: step } }).catch(() => undefined);
          },
        });
        // Refused, failed or cut off: an error the assistant cannot miss; the record stays readable by landing_id.
        if (r.status === 'refused' || r.status === 'failed' || r.status === 'interrupted') throw new ToolError('conflict', `landing ${r.landing_id} ${r.status}: ${r.message}`);
        return r;
      }, landText),
  );

  server.registerTool(
    'codex_discard',
    {
      title: "Discard a Codex job's worktree",
      description:
        "Remove a finished worktree and its branch (codex/<id>); the record and logs stay. With group_id, every attempt's (refused while one still runs). " +
        'Example: {"job_id": "3f9c0a1b2c3d"}',
      inputSchema: s.discardInput,
      outputSchema: s.discardGroupOutput,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    (args) =>
      call(
        log,
        async () => {
          if ((args.job_id === undefined) === (args.group_id === undefined)) throw new ToolError('invalid_input', "give job_id, or group_id to discard every attempt's worktree of a group");
          if (args.job_id !== undefined) return engine().discard(args.job_id);
          const { attempts } = await discardGroup(engine(), args.group_id!);
          return { ...attempts[0]!, attempts };
        },
        (r) => ('attempts' in r && r.attempts ? r.attempts : [r]).map((a) => `job ${a.job_id}: ${a.message}`).join('\n'),
      ),
  );
}
