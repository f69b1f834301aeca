import fs from 'node:fs';
import path from 'node:path';
import type { AgentLocators } from '../agents/binary.js';
import { emptyProgress } from '../agents/progress.js';
import { runsInOurSandbox, type Agent, type RunSpec } from '../agents/agent.js';
import { agentOf, isAgentName } from '../agents/registry.js';
import type { Config } from '../config.js';
import type { Bus } from '../jobs/bus.js';
import { jobFiles, type HomeLayout } from '../jobs/files.js';
import { blockAt, blockCount, pickBlock, PORT_BLOCK, portEnv, startingBlock, type PortBlock } from '../jobs/ports.js';
import type { Job, JobStore } from '../jobs/store.js';
import type { Logger } from '../log.js';
import { jobEnvironment } from '../supervise/env.js';
import { launchJob, type Launched } from '../supervise/launch.js';
import { probeSandbox, sandboxedCommand } from '../supervise/osSandbox.js';
import { listeningPorts, selfIdentity } from '../supervise/proc.js';
import { gitDirsOf, prepareWritable, sandboxRefusal, sessionSockets } from '../supervise/sandbox.js';
import { interruptJob, stopJob, type JobProcess } from '../supervise/terminate.js';
import { decide } from './outcome.js';
import { prepareSetup } from './setup.js';
import type { Recorder } from './recorder.js';
import type { Workspaces } from './workspaces.js';

/**
 * Starts queued jobs: claims them while slots are free, makes their worktrees, and spawns each
 * job's agent under its wrapper. What goes wrong on the way is recorded as the job's outcome.
 */
export class Launcher {
  private readonly identity = selfIdentity();
  private dispatchChain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly config: Config,
    private readonly store: JobStore,
    private readonly bus: Bus,
    private readonly layout: HomeLayout,
    private readonly locators: AgentLocators,
    private readonly workspaces: Workspaces,
    private readonly recorder: Recorder,
    /** Keeps work begun for a job alive until the process may exit (see Runner.close). */
    private readonly track: (work: Promise<void>) => void,
    private readonly log: Logger,
  ) {}

  /** Launches nothing more; a launch under way is finished first so no claim is left half done. */
  async close(): Promise<void> {
    this.closed = true;
    await this.dispatchChain.catch(() => undefined);
  }

  /** Starts queued jobs while slots are free. Rounds run one after another within a process. */
  dispatch(): Promise<void> {
    this.dispatchChain = this.dispatchChain.then(async () => {
      if (this.closed || !this.store.anyQueued()) return;
      // Find the agents before claiming: a claim is a promise to launch at once. A job whose agent
      // this server lacks stays queued for a server that has it (codex_start already refused new ones).
      const found = new Map<string, string>();
      await Promise.all(
        this.store.queuedAgents().map(async (name) => {
          const path = isAgentName(name) ? await this.locators.of(name).available() : null;
          if (path) found.set(name, path);
        }),
      );
      if (found.size === 0 || this.closed) return;
      const claimed = this.store.claimQueued(this.config.maxConcurrent, Date.now(), this.identity, [...found.keys()]);
      this.pauseFor('after-claim', claimed.length);
      for (const job of claimed) await this.launch(job, found.get(job.agent)!);
    });
    return this.dispatchChain.catch((err: unknown) => {
      this.log('error', `dispatch failed: ${(err as Error).message}`);
      this.dispatchChain = Promise.resolve();
    });
  }

  /**
   * Fault injection for the tests (CODEX_ASYNC_TEST_PAUSE): the process stops itself with SIGSTOP,
   * as a laptop's sleep would, at a point where it holds a claim.
   */
  private pauseFor(point: Config['testPause'], claims: number): void {
    if (claims > 0 && this.config.testPause === point) process.kill(process.pid, 'SIGSTOP');
  }

  /**
   * Launches a claimed job. Nothing with a side effect happens (emptying the job's files, spawning
   * codex, signalling) unless `beginLaunch` finds the claim still this launch's: a process that was
   * paused past its lease wakes to a stale token and leaves the job to whoever holds it now.
   */
  private async launch(job: Job, agentPath: string): Promise<void> {
    const begun = Date.now();
    if (!this.store.beginLaunch(job.id, job.launch_token, begun)) {
      // Cancelled before the launch began: finish it here; released and taken over: not ours.
      const now = this.store.get(job.id);
      if (now?.status === 'running' && now.launch_token === job.launch_token && now.stop_reason !== null) this.recorder.conclude(job.id);
      return;
    }
    job = { ...job, launched_at: begun };
    this.pauseFor('before-spawn', 1);
    // Making a worktree takes a while: the launch goes on in the background, so that codex_start
    // answers at once (the job shows as running, "preparing its worktree").
    if (this.workspaces.needsPreparing(job)) this.track(this.prepareThenSpawn(job, agentPath));
    else await this.spawn(job, agentPath);
  }

  private async prepareThenSpawn(job: Job, agentPath: string): Promise<void> {
    try {
      const workspace = await this.workspaces.prepare(job);
      this.pauseFor('worktree-made', 1);
      if (!this.store.setWorkspace(job.id, workspace, job.launch_token)) return;
      job = { ...job, workspace };
    } catch (err) {
      const message = `cannot prepare the job's worktree: ${(err as Error).message.split('\n').slice(0, 4).join(' ')}`;
      this.recorder.record(job, { status: 'failed', error: { kind: 'workspace', message } }, null);
      return;
    }
    const now = this.store.get(job.id);
    if (now?.stop_reason) {
      // Stopped while its worktree was made: nobody else may finish a launch in flight, so we do.
      this.recorder.record(now, decide(now, null, emptyProgress(), ''), null);
      return;
    }
    await this.spawn(job, agentPath);
  }

  private async spawn(job: Job, agentPath: string): Promise<void> {
    const files = jobFiles(this.layout, job.id);
    const isolated = job.workspace.kind === 'worktree';
    const agent = agentOf(job.agent);
    let launched: Launched;
    try {
      const spec: RunSpec = {
        jobId: job.id,
        cwd: this.workspaces.runDir(job),
        access: { sandbox: job.sandbox, bypass: job.bypass },
        lastMessageFile: files.lastMessage,
        jobDir: files.dir,
        model: job.model,
        reasoningEffort: job.reasoning_effort,
        outputSchemaFile: job.has_output_schema ? files.outputSchema : null,
        images: job.images,
        addDirs: this.workspaces.runDirs(job),
        resume: job.resume_thread_id,
        privateTmp: isolated,
      };
      // The wrapper's whole environment, so the check (and whatever the agent starts) gets them too.
      const ports = isolated ? portEnv(this.reservePorts(job)) : {};
      const env = { ...jobEnvironment(process.env), ...agent.env(spec), ...this.workspaces.runEnv(job), ...ports };
      const command = runsInOurSandbox(agent, spec.access)
        ? await this.inSandbox(agent, spec, env, agentPath)
        : { command: agentPath, args: agent.argv(spec) };
      launched = await launchJob({
        jobId: job.id,
        launch: job.launch_token,
        files,
        notifyFile: this.bus.fileFor(job.id),
        listenersDir: this.layout.listenersDir,
        // Ending what the job left running takes up to the grace and 5 s more (terminate.ts stopJob).
        patienceSeconds: this.config.killGraceSeconds + 15,
        cwd: spec.cwd,
        agentPath: command.command,
        args: command.args,
        zeroIsDone: !agent.exitZeroNeedsTurn,
        doneMark: agent.turnCompletedMark,
        stopMark: agent.interruptedMark ?? null,
        deadlineSeconds: ((job.deadline_at ?? Date.now()) - Date.now()) / 1000,
        env,
        settings: this.config.callbackSettings,
        nice: this.config.jobNice,
        check: job.check_command === null ? null : await this.checkRun(job, isolated),
        setup:
          job.setup_command === null || !isolated
            ? null
            : await prepareSetup(this.layout, job, [spec.cwd, ...spec.addDirs], async () => (await this.locators.of('codex').locate()).path),
      });
    } catch (err) {
      this.recorder.record(job, { status: 'failed', error: { kind: 'spawn_error', message: (err as Error).message } }, null);
      return;
    }
    const proc: JobProcess = { jobId: job.id, launch: job.launch_token, pgid: launched.pid, startTime: launched.startTime };
    let recorded = false;
    try {
      recorded = this.store.setProcess(job.id, launched.pid, launched.startTime, job.launch_token);
    } catch (err) {
      this.log('error', `job ${job.id}: cannot record its process (${(err as Error).message}); stopping it`);
    }
    if (!recorded) {
      // Nobody else knows this process; the marker is this launch's, so no other launch is touched.
      await stopJob(proc, this.config.killGraceSeconds * 1000);
      this.recorder.conclude(job.id);
    } else if (this.store.get(job.id)?.stop_reason) {
      // Cancelled while it was being spawned: the canceller could not signal it yet.
      interruptJob(proc);
    }
    this.bus.publish(job.id);
  }

  /**
   * The agent's command inside our OS sandbox (supervise/osSandbox.ts), `env` completed with what
   * the sandbox needs: a job outside a worktree gets a private $TMPDIR in its directory, as a
   * worktree job has beside its worktree, since /tmp is read-only inside. A machine where the sandbox
   * cannot be made fails the job here (codex_start refused it already on this server; a job queued
   * by another one lands here) rather than running it unconfined.
   */
  private async inSandbox(agent: Agent, spec: RunSpec, env: NodeJS.ProcessEnv, agentPath: string): Promise<{ command: string; args: string[] }> {
    const probe = await probeSandbox(this.config);
    if (!probe.ok) throw new Error(sandboxRefusal(agent, spec.access, probe));
    if (!spec.privateTmp) env.TMPDIR = path.join(spec.jobDir, 'tmp');
    const writes = await agent.sandboxWrites!(spec, env, agentPath);
    Object.assign(env, writes.env);
    const workspace = [spec.cwd, ...spec.addDirs].map((dir) => fs.realpathSync(dir));
    const { writable, locked } = prepareWritable({ ...writes, dirs: [...writes.dirs, env.TMPDIR!] });
    const sandbox = {
      mode: spec.access.sandbox === 'workspace-write' ? 'workspace-write' : 'read-only',
      workspace,
      writable,
      locked,
      gitDirs: gitDirsOf(workspace),
      masked: sessionSockets(env),
    } as const;
    return sandboxedCommand(probe, sandbox, agentPath, agent.argv(spec));
  }

  /**
   * The job's own block of ports (CODEX_ASYNC_PORTS), reserved machine-wide through the store and
   * released when its outcome is recorded; asked again, the same block. A range with no block free
   * fails the job: run without PORT, a dev server would fall back to its default port and meet
   * another job's there.
   */
  private reservePorts(job: Job): PortBlock {
    const range = this.config.ports;
    const listening = listeningPorts();
    const start = startingBlock(range, this.config.home);
    const { first, held } = this.store.reservePorts(job.id, (taken) => pickBlock(range, start, taken, listening));
    if (first === null) {
      const blocks = blockCount(range);
      // Blocks a server with another range gave out may lie outside this one.
      const inRange = [...held].filter((f) => f >= range.first && f <= range.last).length;
      throw new Error(
        `CODEX_ASYNC_PORTS (${range.first}-${range.last}) is exhausted: of its ${blocks} block${blocks === 1 ? '' : 's'} of ${PORT_BLOCK} ports, ${inRange} ${inRange === 1 ? 'is' : 'are'} held by running worktree jobs and ${blocks - inRange} ${blocks - inRange === 1 ? 'has' : 'have'} something else listening. Widen CODEX_ASYNC_PORTS, or wait for jobs to finish`,
      );
    }
    return blockAt(first);
  }

  /** How the job's check runs: sandboxed by codex (codex_start made sure it is installed) in the job's mode. */
  private async checkRun(job: Job, privateTmp: boolean): Promise<NonNullable<Parameters<typeof launchJob>[0]['check']>> {
    const mode = job.bypass || job.sandbox === 'danger-full-access' ? 'none' : job.sandbox;
    const sandboxPath = mode === 'none' ? '' : (await this.locators.of('codex').locate()).path;
    return { mode, privateTmp, sandboxPath };
  }

}
