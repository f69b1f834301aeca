/**
 * The record of a landing (engine/landing.ts): one directory per landing under `landings/`, its
 * state in landing.json, rewritten whole (a new file renamed over the old, so a reader never sees
 * half of one). Only the landing's own process writes it while it lives; after its death, whoever
 * reads it first finishes it (engine/landing.ts recover) under the directory's lock file.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FileChange, StepResult } from '../workspace/types.js';
import { readSmall, type HomeLayout } from './files.js';
import { isJobId } from './ids.js';

export type LandingStatus = 'running' | 'done' | 'refused' | 'failed' | 'interrupted' | 'cancelled';
export type LandInto = 'checkout' | 'branch';
/**
 * Where a running landing is: `delivering` is the one phase that writes the checkout, and its
 * journal (`delivery`) says to what, so a landing that died there is finished, never left half.
 */
export type LandingPhase = 'starting' | 'preparing' | 'merging' | 'checking' | 'delivering' | 'resolving' | 'ended';

export interface SetAside {
  job_id: string;
  reason: 'conflict' | 'check_failed' | 'no_changes';
  /** The files that conflict (reason conflict). */
  files?: string[];
  check?: StepResult;
  /** Said plainly: what happened and what to do. */
  message: string;
}

export interface Landing {
  id: string;
  status: LandingStatus;
  phase: LandingPhase;
  created_at: number;
  finished_at: number | null;
  /** "pid starttime" of the process running it (supervise/proc.ts selfIdentity); null before it began. */
  owner: string | null;
  job_ids: string[];
  /** The tree each job's worktree held when the landing was asked for: what lands. */
  trees: string[];
  /** The filter and merge drivers every job's workspace trusted: the only ones its git runs (git.ts driverOverrides). */
  drivers: string[];
  check_command: string | null;
  into: LandInto;
  /** The branch made or added to (into branch). */
  branch: string | null;
  /** The commit that branch was at when the landing began; null: it is new (made from HEAD). */
  branch_from: string | null;
  resolve: boolean;
  /** The checkout's top the landing goes to. */
  repo: string;
  /** Where in it the jobs worked (their cwd's place), when they all agree; '' otherwise: where the checks run. */
  subdir: string;
  /** The commit the integration starts from: HEAD plus the uncommitted changes (into checkout), or HEAD (into branch). */
  base_commit: string | null;
  /** The integration's last commit: the base with every landed job's change on top, one commit each. */
  head_commit: string | null;
  /** The integration worktree, while there is one (a check needs the files). */
  integration: string | null;
  landed: string[];
  set_aside: SetAside[];
  commits: { job_id: string; commit: string }[];
  resolving: { job_id: string; continuation_job_id: string }[];
  /** What the checkout got (into checkout), or the branch holds against its base (into branch). */
  files: FileChange[];
  /** The setup run in the integration worktree before the first check (the repository's [worktree] setup). */
  setup: StepResult | null;
  /** The delivery's journal: the checkout's tree before it, the tree it makes, and the paths it writes. */
  delivery: { before: string; after: string; paths: string[] } | null;
  progress: string | null;
  /** Every step it has been through, in order (progress as it changed): a reader that polls misses none. */
  steps: string[];
  message: string;
}

export interface LandingFiles {
  dir: string;
  state: string;
  /** The landing process's stderr. */
  log: string;
  check: string;
  checkLog: string;
  setup: string;
  setupLog: string;
  /** Held (O_EXCL) by whoever finishes a landing whose process died. */
  lock: string;
  /** Made by a cancel: the landing's process stops at its next step (or at once, signalled). */
  cancel: string;
}

export function landingFiles(layout: HomeLayout, id: string): LandingFiles {
  const dir = path.join(layout.landingsDir, id);
  return {
    dir,
    state: path.join(dir, 'landing.json'),
    log: path.join(dir, 'land.log'),
    check: path.join(dir, 'check.sh'),
    checkLog: path.join(dir, 'check.log'),
    setup: path.join(dir, 'setup.sh'),
    setupLog: path.join(dir, 'setup.log'),
    lock: path.join(dir, 'recover.lock'),
    cancel: path.join(dir, 'cancel'),
  };
}

/** The landing's record, or null when there is none (or it cannot be read). */
export function readLanding(layout: HomeLayout, id: string): Landing | null {
  if (!isJobId(id)) return null;
  try {
    // Its journal names every path a delivery writes: a landing of many files is a large record.
    const text = readSmall(landingFiles(layout, id).state, 256 << 20);
    return text === null ? null : (JSON.parse(text) as Landing);
  } catch {
    return null;
  }
}

/** Writes the record whole: a reader sees the old one or the new one. */
export function writeLanding(layout: HomeLayout, landing: Landing): void {
  const f = landingFiles(layout, landing.id);
  fs.mkdirSync(f.dir, { recursive: true, mode: 0o700 });
  const tmp = `${f.state}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeFileSync(fd, JSON.stringify(landing));
    // The journal must be on disk before the checkout is written: a power cut is a death too.
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, f.state);
  const dir = fs.openSync(f.dir, 'r');
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
}

/** Every landing recorded in this home, newest first. */
export function allLandings(layout: HomeLayout): Landing[] {
  let names: string[];
  try {
    names = fs.readdirSync(layout.landingsDir);
  } catch {
    return [];
  }
  return names
    .map((name) => readLanding(layout, name))
    .filter((l): l is Landing => l !== null)
    .sort((a, b) => b.created_at - a.created_at);
}

/** The id of the landing that the unique prefix names; null when none or several do. */
export function landingByPrefix(layout: HomeLayout, prefix: string): string | null {
  let names: string[];
  try {
    names = fs.readdirSync(layout.landingsDir).filter((name) => isJobId(name) && name.startsWith(prefix));
  } catch {
    return null;
  }
  return names.length === 1 ? names[0]! : null;
}
