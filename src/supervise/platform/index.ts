import fs from 'node:fs';
import { linux } from './linux.js';
import type { Platform } from './platform.js';
import { posix } from './posix.js';

export type { Environment, Platform, ProcRow, ProcStat } from './platform.js';

let chosen: Platform | null = null;

/**
 * The platform this process supervises with: Linux's /proc where there is one, the portable one
 * elsewhere; CODEX_ASYNC_PLATFORM=posix forces the portable one (the tests run it on Linux). Read
 * once: a job's wrapper and callbacks are started with the same choice (config.callbackSettings).
 */
export function platform(): Platform {
  chosen ??= process.env.CODEX_ASYNC_PLATFORM === 'posix' || !hasProc() ? posix : linux;
  return chosen;
}

export const hasProc = () => fs.existsSync('/proc/self/stat');

/**
 * The platform whose clock a recorded start time is on, where it can be read here: a job recorded
 * by a server on the other path (a home shared while CODEX_ASYNC_PLATFORM changed) is still
 * recognised on Linux, which can read both. Null: no way to tell here.
 */
export function platformOf(startTime: string): Platform | null {
  if (posix.owns(startTime)) return posix;
  if (linux.owns(startTime) && hasProc()) return linux;
  return null;
}
