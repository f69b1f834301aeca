// STUB — implemented by the git-layer work; signatures are the contract.
export class GitError extends Error {
  constructor(message: string, readonly stderr: string, readonly code: number | null) {
    super(message);
  }
}
export async function runGit(_args: string[], _opts: { cwd: string; env?: Record<string, string>; input?: string | Buffer }): Promise<string> {
  throw new Error('not yet');
}
