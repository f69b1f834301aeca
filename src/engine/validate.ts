import fs from 'node:fs';
import path from 'node:path';
import { invalid, ToolError } from '../errors.js';
import type { Access } from '../agents/access.js';
import { AGENT_NAMES, type AgentName } from '../agents/agent.js';
import { ISOLATIONS, type Isolation } from '../workspace/types.js';
import { JOB_ID_PREFIX_PATTERN, MIN_ID_PREFIX } from '../jobs/ids.js';
import { isWithin } from '../paths.js';
import { patternProblem } from '../workspace/include.js';

/** The most attempts one codex_start may ask for: each is a codex process and a worktree. */
export const MAX_ATTEMPTS = 8;

export const LIMITS = {
  /** Codex's own limit on one input (codex-cli 0.169: "maximum length of 1048576 characters"). */
  promptChars: 1024 * 1024,
  labelChars: 200,
  images: 20,
  addDirs: 20,
  outputSchemaBytes: 256 * 1024,
  timeoutSeconds: 7 * 24 * 3600,
  listLimit: 200,
  commandChars: 4096,
  includePatterns: 50,
} as const;

/** A whole job id or a prefix of one (at least MIN_ID_PREFIX characters); the engine resolves it. */
export function checkJobId(id: string): string {
  if (!JOB_ID_PREFIX_PATTERN.test(id)) {
    throw invalid(
      (t) => `"${id.slice(0, 80)}" is not a job id: job ids are 12 hex characters as returned by ${t('start')} (see ${t('list')}), or their first ${MIN_ID_PREFIX} or more`,
    );
  }
  return id;
}

/** A shell command the wrapper runs besides the agent (see supervise/launch.ts); null when none was given. */
export function checkCommand(what: 'check_command' | 'setup_command', command: string | undefined): string | null {
  if (command === undefined) return null;
  if (command.trim() === '') throw invalid(`${what} is empty: give a shell command such as "${what === 'check_command' ? 'npm test' : 'npm ci'}", or leave it out`);
  if (command.length > LIMITS.commandChars) throw invalid(`${what} is longer than ${LIMITS.commandChars} characters: put it in a script in the repository and run that`);
  if (command.includes('\0')) throw invalid(`${what} contains a NUL character`);
  return command;
}

export interface WorktreeOptions {
  setup_command?: string | undefined;
  include?: string[] | undefined;
}

/**
 * A start's setup_command and include, as far as they can be judged without the repository (a
 * fleet's front end judges them too): both prepare a worktree; the patterns stay inside it.
 * `setup_command`: null for "" (none, not even the repository's), undefined when not given.
 */
export function checkWorktreeOptions(isolation: Isolation, given: WorktreeOptions): { setup_command: string | null | undefined; include: string[] } {
  const include = given.include ?? [];
  if (include.length > LIMITS.includePatterns) throw invalid(`include has ${include.length} patterns; at most ${LIMITS.includePatterns} are allowed: list them in the repository's .worktreeinclude`);
  if (include.some((p) => p.trim() === '' || p.startsWith('#'))) throw invalid('include has an empty pattern (or a comment): give gitignore patterns such as "node_modules" or ".env"');
  for (const p of include) {
    const problem = patternProblem(p, 'include');
    if (problem) throw invalid(problem);
  }
  const named = given.setup_command ? 'setup_command' : include.length ? 'include' : null;
  if (isolation !== 'worktree' && named) {
    throw invalid(`${named} prepares the job's worktree, and this job runs in your checkout (isolation "none"): set isolation "worktree", or leave ${named} out`);
  }
  return { setup_command: given.setup_command === '' ? null : (checkCommand('setup_command', given.setup_command) ?? undefined), include };
}

export function checkPrompt(prompt: string): string {
  if (prompt.trim() === '') throw invalid('prompt is empty: say what codex should do');
  // Characters as codex counts them (Unicode scalar values), not UTF-16 units or bytes.
  let chars = prompt.length;
  for (let i = 0; i < prompt.length; i++) {
    const unit = prompt.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) chars--;
  }
  if (chars > LIMITS.promptChars) {
    throw invalid(
      `prompt is ${chars} characters; codex accepts at most ${LIMITS.promptChars}. Put large material in a file in cwd and refer to it.`,
    );
  }
  return prompt;
}

function statOrNull(p: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch {
    return null;
  }
}

/** An absolute, existing directory; returned with symlinks resolved. */
export function checkCwd(cwd: string): string {
  if (!path.isAbsolute(cwd)) throw invalid(`cwd must be an absolute path, got "${cwd}"`);
  const st = statOrNull(cwd);
  if (!st) throw invalid(`cwd "${cwd}" does not exist`);
  if (!st.isDirectory()) throw invalid(`cwd "${cwd}" is not a directory`);
  return fs.realpathSync(cwd);
}

/** Paths that must exist; relative ones are taken relative to cwd. */
export function checkPaths(
  what: 'images' | 'add_dirs',
  paths: readonly string[] | undefined,
  cwd: string,
): string[] {
  const list = paths ?? [];
  const max = what === 'images' ? LIMITS.images : LIMITS.addDirs;
  if (list.length > max) throw invalid(`${what} has ${list.length} entries; at most ${max} are allowed`);
  return list.map((p) => {
    const full = path.resolve(cwd, p);
    const st = statOrNull(full);
    if (!st) throw invalid(`${what} entry "${p}" does not exist (resolved to ${full})`);
    if (what === 'images' && !st.isFile()) throw invalid(`images entry "${p}" is not a file`);
    if (what === 'add_dirs' && !st.isDirectory()) throw invalid(`add_dirs entry "${p}" is not a directory`);
    return fs.realpathSync(full);
  });
}

export function checkTimeout(what: string, seconds: number | undefined, fallback: number): number {
  const value = seconds ?? fallback;
  if (!(value > 0) || value > LIMITS.timeoutSeconds) {
    throw invalid(`${what} must be above 0 and at most ${LIMITS.timeoutSeconds} (7 days), got ${value}`);
  }
  return value;
}

export function checkOutputSchema(schema: Record<string, unknown> | undefined): string | null {
  if (schema === undefined) return null;
  const text = JSON.stringify(schema);
  if (Buffer.byteLength(text) > LIMITS.outputSchemaBytes) {
    throw invalid(`output_schema is larger than ${LIMITS.outputSchemaBytes} bytes`);
  }
  if (schema.type !== undefined && schema.type !== 'object') {
    throw invalid('output_schema must describe a JSON object (codex requires "type": "object" at the top level)');
  }
  return text;
}

export function notFound(id: string): ToolError {
  return new ToolError('not_found', (t) => `no job "${id}": check the id with ${t('list')}`);
}

const MODEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$/;
export const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'] as const;

// What a value outside a closed set is told, by these checks and by the tools' input schemas alike.
export const unknownEffort = (got: string) => `unknown reasoning_effort "${got.slice(0, 40)}": use one of ${REASONING_EFFORTS.join(', ')}`;
export const unknownAgent = (got: string) => `agent must be one of ${AGENT_NAMES.join(', ')}, got "${got.slice(0, 40)}"`;
export const unknownIsolation = (got: string) => `isolation must be one of ${ISOLATIONS.join(', ')}, got "${got.slice(0, 40)}"`;

/** Model options reach codex as separate argv entries; a strict form keeps them from being anything else. */
export function checkModelOptions(input: { model?: string | undefined; reasoning_effort?: string | undefined }): void {
  if (input.model !== undefined && !MODEL_PATTERN.test(input.model)) {
    throw invalid(`model "${input.model.slice(0, 80)}" is not a model name such as "gpt-5.5"`);
  }
  if (input.reasoning_effort !== undefined && !(REASONING_EFFORTS as readonly string[]).includes(input.reasoning_effort)) {
    throw invalid(unknownEffort(input.reasoning_effort));
  }
}

/**
 * Directories codex may write to must not hold the state directory (nor be inside it): a job could
 * otherwise rewrite other jobs' records. Full access is the operator's explicit choice and skips this.
 */
export function checkWritableRoots(access: Access, cwd: string, addDirs: readonly string[], home: string): void {
  if (access.sandbox !== 'workspace-write') return;
  const state = fs.existsSync(home) ? fs.realpathSync(home) : home;
  for (const root of [cwd, ...addDirs]) {
    if (isWithin(state, root) || isWithin(root, state)) {
      throw invalid(
        `codex could write to ${root}, which ${isWithin(root, state) ? 'is inside' : 'contains'} the job state directory ${state}: choose a narrower cwd or add_dirs, or set CODEX_ASYNC_HOME elsewhere`,
      );
    }
  }
}

/**
 * With CODEX_ASYNC_ALLOWED_ROOTS, every path codex is pointed at must resolve (symlinks followed)
 * inside one of the roots. Without it, directories must at least belong to this user.
 */
export function checkAllowedRoots(paths: Array<{ what: string; path: string; dir: boolean }>, roots: string[] | null): void {
  const uid = process.getuid?.();
  for (const p of paths) {
    if (roots === null) {
      if (p.dir && uid !== undefined && fs.statSync(p.path).uid !== uid) {
        throw invalid(`${p.what} ${p.path} belongs to another user; set CODEX_ASYNC_ALLOWED_ROOTS to allow directories you do not own`);
      }
      continue;
    }
    if (!roots.some((root) => isWithin(p.path, root))) {
      throw invalid(`${p.what} ${p.path} is outside the allowed roots (CODEX_ASYNC_ALLOWED_ROOTS: ${roots.join(', ')})`);
    }
  }
}

/**
 * The agent of each attempt of a start: one attempt per entry of `agents` (best-of-N across agents),
 * else `attempts` of `agent` (codex when none is named). A fleet's front end and the engine alike.
 */
export function checkLineup(input: { agent?: string; agents?: string[]; attempts?: number }): AgentName[] {
  const known = (name: string): AgentName => {
    if (!(AGENT_NAMES as readonly string[]).includes(name)) throw invalid(unknownAgent(name));
    return name as AgentName;
  };
  if (input.agents === undefined) {
    const attempts = input.attempts ?? 1;
    if (!Number.isInteger(attempts) || attempts < 1 || attempts > MAX_ATTEMPTS) {
      throw invalid(`attempts must be a whole number from 1 to ${MAX_ATTEMPTS}, got ${attempts}`);
    }
    return new Array<AgentName>(attempts).fill(known(input.agent ?? 'codex'));
  }
  if (input.agent !== undefined) throw invalid('give agent (for every attempt) or agents (one attempt each), not both');
  if (input.agents.length < 1 || input.agents.length > MAX_ATTEMPTS) {
    throw invalid(`agents must name 1 to ${MAX_ATTEMPTS} agents, one attempt each, e.g. ["codex", "claude"]`);
  }
  if (input.attempts !== undefined && input.attempts !== input.agents.length) {
    throw invalid(`agents names ${input.agents.length} attempts, but attempts is ${input.attempts}: leave attempts out`);
  }
  return input.agents.map(known);
}

/** Where a start's jobs work: `fallback` unless named, and several attempts always in worktrees of their own. */
export function checkIsolation(value: string | undefined, attempts: number, fallback: Isolation): Isolation {
  if (value !== undefined && !(ISOLATIONS as readonly string[]).includes(value)) {
    throw invalid(unknownIsolation(value));
  }
  const isolation = (value as Isolation | undefined) ?? (attempts > 1 ? 'worktree' : fallback);
  if (attempts > 1 && isolation !== 'worktree') {
    throw invalid('each of several attempts runs in a worktree of its own: leave isolation out, or set it to "worktree"');
  }
  return isolation;
}
