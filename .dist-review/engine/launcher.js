import { emptyProgress } from '../agents/progress.js';
import { agentOf, isAgentName } from '../agents/registry.js';
import { jobFiles } from '../jobs/files.js';
import { jobEnvironment } from '../supervise/env.js';
import { launchJob } from '../supervise/launch.js';
import { selfIdentity } from '../supervise/proc.js';
import { interruptJob, stopJob } from '../supervise/terminate.js';
import { decide } from './outcome.js';
/**
 * Starts queued jobs: claims them while slots are free, makes their worktrees, and spawns each
 * job's agent under its wrapper. What goes wrong on the way is recorded as the job's outcome.
 */
export class Launcher {
    config;
    store;
    bus;
    layout;
    locators;
    workspaces;
    recorder;
    track;
    log;
    identity = selfIdentity();
    dispatchChain = Promise.resolve();
    closed = false;
    constructor(config, store, bus, layout, locators, workspaces, recorder, 
    /** Keeps work begun for a job alive until the process may exit (see Runner.close). */
    track, log) {
        this.config = config;
        this.store = store;
        this.bus = bus;
        this.layout = layout;
        this.locators = locators;
        this.workspaces = workspaces;
        this.recorder = recorder;
        this.track = track;
        this.log = log;
    }
    /** Launches nothing more; a launch under way is finished first so no claim is left half done. */
    async close() {
        this.closed = true;
        await this.dispatchChain.catch(() => undefined);
    }
    /** Starts queued jobs while slots are free. Rounds run one after another within a process. */
    dispatch() {
        this.dispatchChain = this.dispatchChain.then(async () => {
            if (this.closed || !this.store.anyQueued())
                return;
            // Find the agents before claiming: a claim is a promise to launch at once. A job whose agent
            // this server lacks stays queued for a server that has it (codex_start already refused new ones).
            const found = new Map();
            await Promise.all(this.store.queuedAgents().map(async (name) => {
                const path = isAgentName(name) ? await this.locators.of(name).available() : null;
                if (path)
                    found.set(name, path);
            }));
            if (found.size === 0 || this.closed)
                return;
            const claimed = this.store.claimQueued(this.config.maxConcurrent, Date.now(), this.identity, [...found.keys()]);
            this.pauseFor('after-claim', claimed.length);
            for (const job of claimed)
                await this.launch(job, found.get(job.agent));
        });
        return this.dispatchChain.catch((err) => {
            this.log('error', `dispatch failed: ${err.message}`);
            this.dispatchChain = Promise.resolve();
        });
    }
    /**
     * Fault injection for the tests (CODEX_ASYNC_TEST_PAUSE): the process stops itself with SIGSTOP,
     * as a laptop's sleep would, at a point where it holds a claim.
     */
    pauseFor(point, claims) {
        if (claims > 0 && this.config.testPause === point)
            process.kill(process.pid, 'SIGSTOP');
    }
    /**
     * Launches a claimed job. Nothing with a side effect happens (emptying the job's files, spawning
     * codex, signalling) unless `beginLaunch` finds the claim still this launch's: a process that was
     * paused past its lease wakes to a stale token and leaves the job to whoever holds it now.
     */
    async launch(job, agentPath) {
        const begun = Date.now();
        if (!this.store.beginLaunch(job.id, job.launch_token, begun)) {
            // Cancelled before the launch began: finish it here; released and taken over: not ours.
            const now = this.store.get(job.id);
            if (now?.status === 'running' && now.launch_token === job.launch_token && now.stop_reason !== null)
                this.recorder.conclude(job.id);
            return;
        }
        job = { ...job, launched_at: begun };
        this.pauseFor('before-spawn', 1);
        // Making a worktree takes a while: the launch goes on in the background, so that codex_start
        // answers at once (the job shows as running, "preparing its worktree").
        if (this.workspaces.needsPreparing(job))
            this.track(this.prepareThenSpawn(job, agentPath));
        else
            await this.spawn(job, agentPath);
    }
    async prepareThenSpawn(job, agentPath) {
        try {
            const workspace = await this.workspaces.prepare(job);
            this.pauseFor('worktree-made', 1);
            if (!this.store.setWorkspace(job.id, workspace, job.launch_token))
                return;
            job = { ...job, workspace };
        }
        catch (err) {
            const message = `cannot prepare the job's worktree: ${err.message.split('\n').slice(0, 4).join(' ')}`;
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
    async spawn(job, agentPath) {
        const files = jobFiles(this.layout, job.id);
        const isolated = job.workspace.kind === 'worktree';
        const agent = agentOf(job.agent);
        let launched;
        try {
            const spec = {
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
            launched = await launchJob({
                jobId: job.id,
                launch: job.launch_token,
                files,
                notifyFile: this.bus.fileFor(job.id),
                cwd: spec.cwd,
                agentPath,
                args: agent.argv(spec),
                zeroIsDone: !agent.exitZeroNeedsTurn,
                doneMark: agent.turnCompletedMark,
                stopMark: agent.interruptedMark ?? null,
                deadlineSeconds: ((job.deadline_at ?? Date.now()) - Date.now()) / 1000,
                env: { ...jobEnvironment(process.env), ...agent.env(spec), ...this.workspaces.runEnv(job) },
                settings: this.config.callbackSettings,
                nice: this.config.jobNice,
                check: job.check_command === null ? null : await this.checkRun(job, isolated),
            });
        }
        catch (err) {
            this.recorder.record(job, { status: 'failed', error: { kind: 'spawn_error', message: err.message } }, null);
            return;
        }
        const proc = { jobId: job.id, launch: job.launch_token, pgid: launched.pid, startTime: launched.startTime };
        let recorded = false;
        try {
            recorded = this.store.setProcess(job.id, launched.pid, launched.startTime, job.launch_token);
        }
        catch (err) {
            this.log('error', `job ${job.id}: cannot record its process (${err.message}); stopping it`);
        }
        if (!recorded) {
            // Nobody else knows this process; the marker is this launch's, so no other launch is touched.
            await stopJob(proc, this.config.killGraceSeconds * 1000);
            this.recorder.conclude(job.id);
        }
        else if (this.store.get(job.id)?.stop_reason) {
            // Cancelled while it was being spawned: the canceller could not signal it yet.
            interruptJob(proc);
        }
        this.bus.publish(job.id);
    }
    /** How the job's check runs: sandboxed by codex (codex_start made sure it is installed) in the job's mode. */
    async checkRun(job, privateTmp) {
        const mode = job.bypass || job.sandbox === 'danger-full-access' ? 'none' : job.sandbox;
        const sandboxPath = mode === 'none' ? '' : (await this.locators.of('codex').locate()).path;
        return { mode, privateTmp, sandboxPath };
    }
}
//# sourceMappingURL=launcher.js.map