import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createPrivate, type JobFiles } from '../jobs/files.js';
import { platform } from './platform/index.js';
import { startTimeOf } from './proc.js';

export const JOB_ENV_MARKER = 'CODEX_ASYNC_JOB_ID';

/**
 * NAME=value that every process of one launch of a job inherits. Per launch, not per job: a job
 * released and claimed again gets a new token, so stopping one launch can never reach another's.
 * Token 0 is a job launched before launches were numbered.
 */
export const launchId = (jobId: string, launch: number) => (launch > 0 ? `${jobId}.${launch}` : jobId);
export const launchMarker = (jobId: string, launch: number) => `${JOB_ENV_MARKER}=${launchId(jobId, launch)}`;
/**
 * What the launch's check carries instead: stopping the job reaches both, but ending a codex that
 * lingers after its turn (openai/codex#7622) must not reach the check it was holding up.
 */
export const checkMarker = (jobId: string, launch: number) => `${launchMarker(jobId, launch)}.check`;
/** What the launch's setup carries: stopping the job reaches it like the agent. */
export const setupMarker = (jobId: string, launch: number) => `${launchMarker(jobId, launch)}.setup`;

/** The bin, which the wrapper calls back into (`__supervise`) when a job's deadline passes or its agent exits. */
export const MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/**
 * `listened`: is a server or runner alive on this home, watching `notify/` (jobs/bus.ts registers
 * each one under `listeners/` as "pid starttime")? `alive_as` is the platform's (on Linux shell
 * builtins reading /proc, no process at all): calling back into the bin costs a Node start (~0.2 s
 * of CPU) per job.
 */
const LISTENED = `listened() {
  for f in "$listeners"/*; do
    read -r lpid lst < "$f" 2>/dev/null && alive_as "$lpid" "$lst" && return 0
  done
  return 1
}`;

/**
 * The wrapper that runs a job's agent (codex, claude, …). It exists so a job does not depend on the
 * server that started it: the agent reads the prompt from a file and writes to files (no pipes to a
 * server that may die: codex panics when its stdout closes), and the wrapper, about 1 MB of shell,
 * outlives any server to record the agent's exit status. `trap :` makes the shell survive the
 * SIGINT we send the process group while the agent (which gets default signal handling back on
 * exec) ends its turn.
 *
 * It also makes the job independent of any server being alive: a timer enforces the deadline, and
 * when the agent exits someone records the outcome, ends what the job left running and starts the
 * next queued job. While a server or runner listens on the home, that is the listener, woken by the
 * notify file: the wrapper waits for its `recorded` mark (one `sleep` a job, where a Node process
 * would cost ~0.2 s of CPU). With no listener alive, or none left while it waits, or one silent past
 * `patience` (a paused server), the bin is called back (`__supervise exited`) to do it. Both callbacks run in sessions of their own
 * (the platform's `detached`), outside the group that stopping the job signals. Only the agent carries the launch
 * marker: the wrapper, its timer and the callbacks are not the job's work. The agent runs at a lower
 * priority (CODEX_ASYNC_JOB_NICE) than the wrapper and its callbacks, which keep the server's.
 *
 * A job with a check_command runs it once the agent has completed its turn (exit 0 where that means
 * so, or its output saying so: an agent ended after a completed turn because it lingered,
 * openai/codex#7622), before the exit status is written, so the check is part of the job: under its
 * deadline, stopped with it, and run under codex's own sandbox (`codex sandbox`) with the job's
 * sandbox mode — never with more access than the job had: the writable roots and network a job
 * could have written into its worktree's .codex/config.toml are pinned off.
 *
 * A job with a setup_command runs it first, in the same way: under codex's sandbox (workspace-write
 * on the worktree and the package managers' caches, with network, since a setup installs things)
 * or none with the job's danger-full-access, under the job's deadline and stopped with it. If it
 * fails the agent never starts, and its status is also the job's exit status; so too if the job was
 * stopped meanwhile (a setup that ignores SIGINT exits 0 all the same), or if a directory the agent
 * is pointed at (setup.expect: its real cwd and add_dirs) no longer resolves to itself — a setup
 * could move a parent of cwd aside and put a link to the user's checkout in its place.
 *
 * The files it writes exist beforehand (see launchJob), so they keep mode 0600 whatever the umask.
 * Its `pid` file holds its pid, start time (the platform's `selfstart`) and launch, so a server that
 * finds the file but no pid in the database can still tell the wrapper from a process that reused
 * its pid, and find the launch's processes by their marker.
 * The final touch of the notify file wakes every server watching the home directory.
 */
const wrapper = (shell: string) => `dir=$1; notify=$2; launch=$3; deadline=$4; node=$5; main=$6; settings=$7; niceness=$8; check=$9
sandbox=\${10}; zero_done=\${11}; done_mark=\${12}; stop_mark=\${13}; setup=\${14}; listeners=\${15}; patience=\${16}; shift 16
${shell}
${LISTENED}
selfstart
echo "$$ $st $launch" > "$dir/pid"
stopped=
trap 'stopped=1' INT TERM HUP
callback() { detached "$node" "$main" __supervise "$1" "$launch" "$settings" < /dev/null > /dev/null 2>> "$dir/supervisor.log"; }
( trap 'kill $sleeper 2>/dev/null; exit 0' TERM
  sleep "$deadline" & sleeper=$!
  wait $sleeper && callback deadline ) &
timer=$!
# step MARKER MODE PRIVATE_TMP WRITABLE_ROOTS NETWORK SCRIPT: a setup or check script, confined as the job is.
step() {
  marker=$1; mode=$2; tmp=$3; roots=$4; net=$5; script=$6
  if [ "$mode" = none ]; then set -- /bin/sh "$script"
  else set -- "$sandbox" sandbox -c "sandbox_mode=$mode" -c "sandbox_workspace_write.exclude_slash_tmp=$tmp" \
    -c "sandbox_workspace_write.writable_roots=$roots" -c "sandbox_workspace_write.network_access=$net" -- /bin/sh "$script"; fi
  [ "$niceness" -gt 0 ] && set -- nice -n "$niceness" "$@"
  ${JOB_ENV_MARKER}="$marker" "$@" < /dev/null
}
code=0
if [ -n "$setup" ]; then
  : > "$dir/setup.started"
  step "$launch.setup" "\${setup%%:*}" true "\${setup#*:}" true "$dir/setup.sh" > "$dir/setup.log" 2>&1
  code=$?
  # The setup could write the whole worktree: where the agent is pointed must still be what it was.
  while [ "$code" = 0 ] && IFS= read -r expected; do
    [ "$(cd -P -- "$expected" 2>/dev/null && pwd -P)" = "$expected" ] && continue
    echo "codex-async-mcp: after the setup, $expected is no longer the directory it was (it, or a directory above it, was moved or replaced by a link): the agent is not started there" >> "$dir/setup.log"
    code=1
  done < "$dir/setup.expect"
  [ -n "$stopped" ] && [ "$code" = 0 ] && code=130
  echo $code > "$dir/setup.exit"
fi
if [ "$code" = 0 ]; then
  [ "$niceness" -gt 0 ] && set -- nice -n "$niceness" "$@"
  ${JOB_ENV_MARKER}="$launch" "$@" < "$dir/prompt.txt" > "$dir/events.jsonl" 2> "$dir/stderr.log"
  code=$?
  # Whether the turn completed matters only to a check: without one, no tail or grep runs.
  done=0
  if [ -n "$check" ]; then
    [ "$code" = 0 ] && [ "$zero_done" = 1 ] && done=1
    [ -n "$done_mark" ] && tail -n 5 "$dir/events.jsonl" | grep -qF -e "$done_mark" && done=1
    [ -n "$stop_mark" ] && tail -n 20 "$dir/events.jsonl" | grep -qF -e "$stop_mark" && done=0
  fi
  if [ "$done" = 1 ]; then
    : > "$dir/check.started"
    mode=\${check%%:*}; rest=\${check#*:}
    step "$launch.check" "$mode" "\${rest%%:*}" '[]' false "$dir/check.sh" > "$dir/check.log" 2>&1
    echo $? > "$dir/check.exit"
  fi
fi
echo $code > "$dir/exit"
kill $timer 2>/dev/null
: > "$notify"
# A listener records the job's end and then makes \`recorded\` (engine/recorder.ts): wait for that
# rather than start a Node process, unless no listener is left or one stays silent past \`patience\`.
waited=0
while [ ! -e "$dir/recorded" ] && [ "$waited" -lt "$patience" ] && listened; do
  if [ "$waited" -lt 100 ]; then sleep 0.05; waited=$((waited + 5)); else sleep 0.5; waited=$((waited + 50)); fi
done
[ -e "$dir/recorded" ] || callback exited
`;

export interface Launched {
  pid: number;
  startTime: string;
}

export class LaunchError extends Error {
  override name = 'LaunchError';
}

/** Starts a job's agent in a new session (its own process group) and returns at once. */
export async function launchJob(opts: {
  jobId: string;
  launch: number;
  files: JobFiles;
  notifyFile: string;
  /** Where the home's listeners register (jobs/bus.ts): while one lives, it records the job's end, not a callback. */
  listenersDir: string;
  /** How long a job's end waits for a living listener to record it before calling back all the same. */
  patienceSeconds: number;
  cwd: string;
  /** The agent's binary and its argv (agents/<name>). */
  agentPath: string;
  args: string[];
  /**
   * How the wrapper tells that the agent completed its turn, so the check runs: exit 0 counts
   * unless `zeroIsDone` is false; `doneMark` in its last lines counts too; `stopMark` in its last
   * lines means it was interrupted, whatever else they say.
   */
  zeroIsDone: boolean;
  doneMark: string | null;
  stopMark: string | null;
  /** Seconds until the job's deadline. */
  deadlineSeconds: number;
  /** The environment the agent runs in. */
  env: NodeJS.ProcessEnv;
  /** Niceness the agent runs at, so that a job's start-up and output do not delay the server's answers. */
  nice: number;
  /** The settings the callbacks need to act as this server would (CODEX_ASYNC_HOME, limits…). */
  settings: Record<string, string>;
  /**
   * How the check (files.check) runs: under codex's sandbox (`codex sandbox`, codex being
   * `sandboxPath` whatever the job's agent) in this mode (`none`: no sandbox), with /tmp kept
   * read-only when `privateTmp`, as for the job itself. Null: the job has no check.
   */
  check: { mode: 'read-only' | 'workspace-write' | 'none'; privateTmp: boolean; sandboxPath: string } | null;
  /**
   * The setup (files.setup) run before the agent: under codex's sandbox in workspace-write with
   * `roots` writable besides cwd, with network (`none`: no sandbox). Null: the job has none.
   */
  setup: { mode: 'workspace-write' | 'none'; roots: string[]; sandboxPath: string } | null;
}): Promise<Launched> {
  const f = opts.files;
  // Created here, private, so the shell's redirections reuse them instead of creating them with the
  // user's umask. An empty `exit` means "not yet": only a full line counts as an exit status.
  for (const file of [f.events, f.stderr, f.lastMessage, f.pid, f.exit, f.supervisorLog, f.checkExit, f.checkLog, f.setupExit, f.setupLog]) createPrivate(file);
  fs.rmSync(f.checkStarted, { force: true });
  fs.rmSync(f.recorded, { force: true });
  fs.rmSync(f.setupStarted, { force: true });
  const deadline = Math.max(0, opts.deadlineSeconds).toFixed(3);
  return new Promise((resolve, reject) => {
    const child = spawn(
      '/bin/sh',
      [
        '-c',
        wrapper(platform().shell),
        'codex-async-job',
        f.dir,
        opts.notifyFile,
        launchId(opts.jobId, opts.launch),
        deadline,
        process.execPath,
        MAIN,
        JSON.stringify(opts.settings),
        String(opts.nice),
        opts.check ? `${opts.check.mode}:${opts.check.privateTmp}` : '',
        opts.check?.sandboxPath ?? opts.setup?.sandboxPath ?? '',
        opts.zeroIsDone ? '1' : '0',
        opts.doneMark ?? '',
        opts.stopMark ?? '',
        // TOML's array of basic strings: JSON's string escapes are TOML's too.
        opts.setup ? `${opts.setup.mode}:${JSON.stringify(opts.setup.roots)}` : '',
        opts.listenersDir,
        String(Math.round(opts.patienceSeconds * 100)),
        opts.agentPath,
        ...opts.args,
      ],
      { cwd: opts.cwd, detached: true, stdio: 'ignore', env: opts.env },
    );
    child.once('error', (err) => reject(new LaunchError(`cannot start the job's wrapper: ${err.message}`)));
    child.once('spawn', () => {
      const pid = child.pid!;
      child.unref();
      resolve({ pid, startTime: startTimeOf(pid) ?? '' });
    });
  });
}
