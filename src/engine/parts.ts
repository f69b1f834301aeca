import type { AgentLocators } from '../agents/binary.js';
import type { Config } from '../config.js';
import type { Bus } from '../jobs/bus.js';
import type { HomeLayout } from '../jobs/files.js';
import type { JobStore } from '../jobs/store.js';
import type { Logger } from '../log.js';
import type { Runner } from './runner.js';
import type { Waiters } from './waiters.js';
import type { Workspaces } from './workspaces.js';

/** What every operation family of one engine works with: made once by Engine, shared by reference. */
export interface EngineParts {
  readonly config: Config;
  readonly log: Logger;
  readonly layout: HomeLayout;
  readonly store: JobStore;
  readonly bus: Bus;
  readonly locators: AgentLocators;
  readonly waiters: Waiters;
  readonly runner: Runner;
  readonly workspaces: Workspaces;
  /** Set by Engine.close: waits and follows return instead of waiting on. */
  closed: boolean;
}
