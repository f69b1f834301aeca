import fs from 'node:fs';
import { ToolError } from '../errors.js';
import { jobFiles } from '../jobs/files.js';
import { newJobId } from '../jobs/ids.js';
import { isDiskFull } from '../jobs/reserve.js';
import type { NewJob } from '../jobs/store.js';
import { probeSandbox } from '../supervise/osSandbox.js';
import { unsupportedReason } from '../workspace/repo.js';
import type { ReplyInput, StartInput, Started } from './api.js';
import type { EngineParts } from './parts.js';
import { plan, planReply, type Look, type Plan } from './plan.js';
import type { Reading } from './reading.js';
import { checkoutOf, Workspaces } from './workspaces.js';

/**
 * Starting jobs: a start or a reply is planned in full (plan.ts), then acted on here: ids handed
 * out, each job's files written and its row inserted, and a dispatch round run.
 */
export class Starting {
  private readonly look: Look;

  constructor(
    private readonly p: EngineParts,
    private readonly reading: Reading,
  ) {
    this.look = {
      repo: checkoutOf,
      unsupported: unsupportedReason,
      agent: (name) => p.locators.of(name).locate(),
      sandbox: () => probeSandbox(p.config),
      job: (id) => reading.get(id),
    };
  }

  /**
   * `given`: the ids a fleet front end already handed out for this start (fleet/runner.ts), one per
   * attempt; otherwise they are made here.
   */
  async start(input: StartInput, given?: { ids: string[]; groupId: string | null }): Promise<Started> {
    const planned = await plan(input, this.p.config, this.look, given);
    if (planned instanceof ToolError) throw planned;
    const ids = planned.jobs.map((_, i) => given?.ids[i] ?? newJobId());
    const groupId = given ? given.groupId : ids.length > 1 ? newJobId() : null;
    return this.act(planned, ids, groupId);
  }

  /** `opts.worktreeFrom`: continue in a new worktree made from this commit (a landing's continuation), not the parent's. */
  async reply(input: ReplyInput, opts: { worktreeFrom?: string } = {}): Promise<Started> {
    const planned = await planReply(input, this.p.config, this.look, opts);
    if (planned instanceof ToolError) throw planned;
    return this.act(planned, [newJobId()], null);
  }

  private async act(planned: Plan, ids: string[], groupId: string | null): Promise<Started> {
    const created: string[] = [];
    try {
      planned.jobs.forEach((job, i) => {
        const id = ids[i]!;
        const workspace = Workspaces.forJob(planned.workspace, id, this.p.layout);
        this.create({ ...job, id, workspace, group_id: groupId, created_at: Date.now() }, planned);
        created.push(id);
      });
    } catch (err) {
      // A group is all its attempts or none: those already recorded are cancelled before they start.
      for (const id of created) this.p.store.cancelQueued(id, Date.now());
      throw err;
    }
    await this.p.runner.dispatch();
    const job = this.reading.get(ids[0]!);
    return {
      job_id: job.id,
      status: job.status,
      created_at: new Date(job.created_at).toISOString(),
      queue_position: job.status === 'queued' ? this.p.store.queuePosition(job) : null,
      isolation: job.isolation,
      group_id: groupId,
      job_ids: ids,
    };
  }

  /** Writes the job's files, then records it as queued: a job in the database is always runnable. */
  private create(job: NewJob, { prompt, schema, threadId }: Plan): void {
    const files = jobFiles(this.p.layout, job.id);
    try {
      fs.mkdirSync(files.dir, { mode: 0o700 });
      fs.writeFileSync(files.prompt, prompt, { mode: 0o600, flag: 'wx' });
      // The settings the directory would otherwise lack: a repair rebuilds the row from them.
      fs.writeFileSync(files.settings, JSON.stringify(job), { mode: 0o600, flag: 'wx' });
      if (schema !== null) fs.writeFileSync(files.outputSchema, schema, { mode: 0o600, flag: 'wx' });
      if (job.check_command !== null) fs.writeFileSync(files.check, `${job.check_command}\n`, { mode: 0o600, flag: 'wx' });
      if (threadId === null) this.p.store.insert(job);
      else {
        const busy = this.p.store.insertOnThread(job, threadId);
        if (busy) {
          throw new ToolError(
            'conflict',
            (t) => `job ${busy} is still working on thread ${threadId}: wait for it (${t('wait')}) or cancel it (${t('cancel')}), then reply`,
          );
        }
      }
    } catch (err) {
      fs.rmSync(files.dir, { recursive: true, force: true });
      if (err instanceof ToolError) throw err;
      const hint = isDiskFull(err) ? ': the disk is full; free some space and try again' : `: ${(err as Error).message}`;
      throw new ToolError('storage', `cannot record the job in ${this.p.config.home}${hint}`);
    }
    this.p.bus.publish(job.id);
  }
}
