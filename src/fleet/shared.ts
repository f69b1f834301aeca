import type { Redis } from 'ioredis';
import type { RunnerInfo, StartInput } from '../engine/api.js';
import { invalid } from '../errors.js';
import type { Keys } from './redis.js';

/** What a queued start carries from the front end to the runner that takes it. */
export interface StartData {
  /** The ids the front end handed out: one per attempt. */
  ids: string[];
  groupId: string | null;
  input: Omit<StartInput, 'runner_labels'>;
  queuedAt: number;
}

/**
 * The BullMQ job id of the start whose first job is `jobId`. BullMQ refuses custom ids made only of
 * digits, which 0.35 % of our hex ids are: a letter in front makes every one acceptable.
 */
export const startIdOf = (jobId: string) => `s${jobId}`;

const LABEL = /^[a-z0-9_-]{1,32}$/;
export const MAX_RUNNER_LABELS = 4;

export function checkLabels(labels: string[], max = Number.POSITIVE_INFINITY): string[] {
  if (!Array.isArray(labels)) throw invalid('runner_labels must be a list of labels, e.g. ["gpu"]');
  for (const label of labels) {
    if (typeof label !== 'string' || !LABEL.test(label)) throw invalid(`runner label "${String(label).slice(0, 40)}" is not one: use lowercase letters, digits, _ and -, up to 32`);
  }
  const unique = [...new Set(labels)].sort();
  if (unique.length > max) throw invalid(`a runner takes at most ${max} labels (it serves one queue per combination of them)`);
  return unique;
}

/** BullMQ queue for jobs needing these labels: "jobs" for none, "jobs.gpu+macos" for two. */
export const queueFor = (labels: string[]) => (labels.length === 0 ? 'jobs' : `jobs.${[...labels].sort().join('+')}`);

/** Every queue a runner with these labels serves: one per subset of its labels. */
export function queuesServed(labels: string[]): string[] {
  const sorted = [...labels].sort();
  const queues: string[] = [];
  for (let mask = 0; mask < 1 << sorted.length; mask++) queues.push(queueFor(sorted.filter((_, i) => mask & (1 << i))));
  return queues;
}

/** A runner's JSON, read tolerantly: a record from an older or newer runner still names it. */
export function parseRunner(json: string, id: string): RunnerInfo | null {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object') return null;
  const strings = (x: unknown) => (Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : []);
  return {
    id,
    host: typeof v.host === 'string' ? v.host : '(unknown host)',
    pid: Number(v.pid) || 0,
    labels: strings(v.labels),
    concurrency: Number(v.concurrency) || 0,
    running: Number(v.running) || 0,
    version: typeof v.version === 'string' ? v.version : '',
    agents: strings(v.agents),
    started_at: Number(v.started_at) || 0,
    beat_at: Number(v.beat_at) || 0,
  };
}

/** Runners alive now (their heartbeat key exists) and every runner ever seen, by id. */
export async function readRunners(redis: Redis, keys: Keys): Promise<{ alive: Map<string, RunnerInfo>; seen: Map<string, RunnerInfo> }> {
  const seen = new Map<string, RunnerInfo>();
  for (const [id, json] of Object.entries(await redis.hgetall(keys.runnersSeen))) {
    const info = parseRunner(json, id);
    if (info) seen.set(id, info);
  }
  const alive = new Map<string, RunnerInfo>();
  const ids = [...seen.keys()].sort();
  const beats = ids.length ? await redis.mget(...ids.map((id) => keys.runner(id))) : [];
  beats.forEach((json, i) => {
    const info = json ? parseRunner(json, ids[i]!) : null;
    if (info) alive.set(info.id, info);
  });
  return { alive, seen };
}

/** "r-3f9c0a on build-box": how messages name a runner. */
export const runnerName = (id: string, seen: Map<string, RunnerInfo>) => {
  const host = seen.get(id)?.host;
  return host ? `${id} on ${host}` : id;
};
