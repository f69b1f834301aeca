import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ToolError } from '../errors.js';

const run = promisify(execFile);

export interface CodexBinary {
  path: string;
  version: string;
}

const HOW_TO_FIX =
  'Install the Codex CLI (`npm install -g @openai/codex`) or set CODEX_BIN to the full path of the codex executable in the MCP server configuration.';

function isExecutableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * An executable by absolute path or by name on `searchPath`. Only absolute PATH entries count: a
 * relative one would be looked up in each job's cwd, letting a repository pick the binary.
 */
export function findExecutable(name: string, searchPath: string): string | null {
  if (path.isAbsolute(name)) return isExecutableFile(name) ? name : null;
  for (const dir of searchPath.split(path.delimiter)) {
    if (!path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return null;
}

/**
 * Finds codex once and remembers it. A failure is not remembered, so installing codex while the
 * server runs fixes the next call without a restart.
 */
export class CodexLocator {
  private found: Promise<CodexBinary> | null = null;

  constructor(
    private readonly configured: string | undefined,
    private readonly searchPath: string,
  ) {}

  locate(): Promise<CodexBinary> {
    this.found ??= this.probe().catch((err: unknown) => {
      this.found = null;
      throw err;
    });
    return this.found;
  }

  private async probe(): Promise<CodexBinary> {
    const name = this.configured ?? 'codex';
    const file = path.isAbsolute(name) ? name : findExecutable(name, this.searchPath);
    if (!file) throw new ToolError('codex_unavailable', `"${name}" was not found on PATH. ${HOW_TO_FIX}`);
    if (!isExecutableFile(file)) {
      throw new ToolError('codex_unavailable', `CODEX_BIN "${file}" is not an executable file. ${HOW_TO_FIX}`);
    }
    try {
      const { stdout } = await run(file, ['--version'], { timeout: 15_000 });
      return { path: file, version: stdout.trim().replace(/^codex-cli\s+/, '') };
    } catch (err) {
      const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
      throw new ToolError('codex_unavailable', `"${file} --version" failed (${reason}). ${HOW_TO_FIX}`);
    }
  }
}
