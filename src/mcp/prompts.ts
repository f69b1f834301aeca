import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';

/** How to hand a task to codex well, for assistants that use MCP prompts. */
export function registerPrompts(server: McpServer): void {
  server.registerPrompt(
    'delegate_to_codex',
    {
      title: 'Delegate a task to Codex',
      description: 'Hand a coding task to a background Codex job: a clear goal, the right directory and sandbox, then wait for it',
      argsSchema: z.object({
        task: z.string().describe('What Codex should do'),
        cwd: z.string().optional().describe('Absolute path of the project directory'),
      }),
    },
    ({ task, cwd }) => ({
      messages: [
        {
          role: 'user' as const,
          content: {
            type: 'text' as const,
            text: [
              'Delegate this task to Codex as a background job:',
              '',
              task,
              '',
              `1. Call codex_start with a self-contained prompt: the goal, the files or commands involved, and how to check the result (e.g. "run npm test"). Use cwd ${cwd ? `"${cwd}"` : 'set to the absolute project directory'}.`,
              '2. Choose the sandbox: "read-only" (the default) to investigate or review, "workspace-write" to let Codex edit files in cwd.',
              '3. Keep working on other things if you can, then call codex_wait with the job id — not codex_poll in a loop. Call it again while timed_out is true.',
              '4. Read the answer with codex_result (final_message, files_changed). To follow up in the same conversation, use codex_reply with the job id.',
              '',
              'A task that splits into independent parts (files or modules of their own): start one job per part with isolation "worktree" and sandbox "workspace-write", wait for all of them, then land them together with codex_land: the job ids in the order to land them, the project\'s tests as check_command, and resolve: true. ' +
                'Jobs that conflicted or failed the check get continuations (listed under resolving): wait for those and land them with another codex_land. Use dry_run first to see which jobs overlap, and into "branch" to get one commit per job on a branch instead of uncommitted changes.',
            ].join('\n'),
          },
        },
      ],
    }),
  );
}
