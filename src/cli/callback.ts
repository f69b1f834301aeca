import { loadConfig } from '../config.js';
import { Engine } from '../engine/engine.js';
import { isJobId } from '../jobs/ids.js';

/**
 * `__supervise exited|deadline <job>.<launch> <settings>`: a job's wrapper calling back into the bin
 * (supervise/launch.ts), so that a job's deadline, its outcome and the start of the next queued job
 * need no server. Not a command for people; it prints to the job's supervisor.log.
 */
export async function callback(argv: string[]): Promise<void> {
  const [event, launchId, settingsJson] = argv;
  const [id, token] = (launchId ?? '').split('.');
  const launch = Number(token ?? 0);
  if ((event !== 'exited' && event !== 'deadline') || !id || !isJobId(id) || !Number.isInteger(launch) || settingsJson === undefined) {
    throw new Error('usage: __supervise exited|deadline <job>.<launch> <settings>: called by a job\'s wrapper, not by people');
  }
  const settings = JSON.parse(settingsJson) as Record<string, string>;
  // Supervised as the server that launched the job was (supervise/platform/ reads it from here).
  if (settings.CODEX_ASYNC_PLATFORM) process.env.CODEX_ASYNC_PLATFORM = settings.CODEX_ASYNC_PLATFORM;
  const log = (level: string, message: string) => process.stderr.write(`${new Date().toISOString()} ${event} ${level}: ${message}\n`);
  // One line per call, so a job's supervisor.log says who recorded its end when no server did.
  log('info', event === 'exited' ? 'no server or runner was listening: recording the job\'s end here' : 'the deadline passed');
  const engine = Engine.open(loadConfig({ ...process.env, ...settings }), log, { callback: true });
  try {
    await engine.callback(event, id, launch);
  } finally {
    await engine.close();
  }
}

/**
 * `__land <landing>`: a landing's own process, started detached by the engine that took the landing
 * (engine/landing.ts), so that it ends whatever becomes of that server. Its environment is that
 * server's, so it opens the same home with the same settings. Not a command for people; it prints
 * to the landing's land.log.
 */
export async function landing(argv: string[]): Promise<void> {
  const [id] = argv;
  if (!id || !isJobId(id)) throw new Error("usage: __land <landing>: started by codex_land, not by people");
  const log = (level: string, message: string) => process.stderr.write(`${new Date().toISOString()} land ${level}: ${message}\n`);
  const engine = Engine.open(loadConfig(process.env), log, { callback: true });
  // A cancel (codex_land {landing_id, cancel}) signals this process: the check under way stops, nothing is written.
  const stop = new AbortController();
  process.on('SIGTERM', () => stop.abort());
  try {
    await engine.runLanding(id, stop.signal);
  } finally {
    await engine.close();
  }
}
