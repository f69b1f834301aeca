import { spawn } from 'node:child_process';
import { createPrivate, type JobFiles } from '../jobs/files.js';
import { jobEnvironment } from './env.js';
import { startTimeOf } from './proc.js';

export const JOB_ENV_MARKER = 'CODEX_ASYNC_JOB_ID';

/**
 * The wrapper that runs codex for one job. It exists so a job does not depend on the server that
 * started it: codex reads the prompt from a file and writes to files (no pipes to a server that may
 * die: codex panics when its stdout closes), and the wrapper, about 1 MB of shell, outlives any
 * server to record codex's exit status. `trap :` makes the shell survive the SIGINT we send the
 * process group while codex (which gets default signal handling back on exec) ends its turn.
 * The final touch of the notify file wakes every server watching the home directory.
 * The files it writes exist beforehand (see launchJob), so they keep mode 0600 whatever the umask.
 * Its `pid` file holds its pid and start time (field 22 of /proc/$$/stat), so a server that finds
 * the file but no pid in the database can still tell the wrapper from a process that reused its pid.
 */
const WRAPPER = `dir=$1; notify=$2; shift 2
starttime() { set -- $1; if [ $# -ge 20 ]; then shift 19; st=$1; fi; }
read -r stat < /proc/$$/stat
starttime "\${stat##*) }"
echo "$$ $st" > "$dir/pid"
trap : INT TERM HUP
"$@" < "$dir/prompt.txt" > "$dir/events.jsonl" 2> "$dir/stderr.log"
echo $? > "$dir/exit"
: > "$notify"
`;

export interface Launched {
  pid: number;
  startTime: string;
}

export class LaunchError extends Error {
  override name = 'LaunchError';
}

/** Starts codex for a job in a new session (its own process group) and returns at once. */
export async function launchJob(opts: {
  jobId: string;
  files: JobFiles;
  notifyFile: string;
  cwd: string;
  codexPath: string;
  args: string[];
}): Promise<Launched> {
  const f = opts.files;
  // Created here, private, so the shell's redirections reuse them instead of creating them with the
  // user's umask. An empty `exit` means "not yet": only a full line counts as an exit status.
  for (const file of [f.events, f.stderr, f.lastMessage, f.pid, f.exit]) createPrivate(file);
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', WRAPPER, 'codex-async-job', opts.files.dir, opts.notifyFile, opts.codexPath, ...opts.args], {
      cwd: opts.cwd,
      detached: true,
      stdio: 'ignore',
      env: { ...jobEnvironment(process.env), [JOB_ENV_MARKER]: opts.jobId },
    });
    child.once('error', (err) => reject(new LaunchError(`cannot start codex: ${err.message}`)));
    child.once('spawn', () => {
      const pid = child.pid!;
      child.unref();
      resolve({ pid, startTime: startTimeOf(pid) ?? '' });
    });
  });
}
