/**
 * Whether our bubblewrap sandbox can be made here, asked the way a server asks (src/supervise/
 * osSandbox.ts probeSandbox): the tests that run Claude Code, Copilot CLI or Gemini CLI in read-only or
 * workspace-write need it, since without it the server rightly refuses those jobs.
 */
import { probeSandbox } from '../../src/supervise/osSandbox.ts';

// CODEX_ASYNC_BWRAP as the server reads it: set to a missing path, a run shows what a machine without bubblewrap sees.
const probe = await probeSandbox({ sandboxKind: 'bubblewrap', bwrap: process.env.CODEX_ASYNC_BWRAP || 'bwrap', seatbelt: '', searchPath: process.env.PATH ?? '' });

/**
 * Why the sandboxed agents' tests cannot run here, or false: a machine set up by the README alone
 * may lack Debian's bubblewrap (.ci/run installs it, so CI never skips them).
 */
export const SANDBOX_MISSING: string | false = probe.ok ? false : `${probe.reason} (${probe.fix}; .ci/run installs bubblewrap)`;
