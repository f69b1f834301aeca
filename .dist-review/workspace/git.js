/**
 * Runs git as a child process (argv, never a shell string) with settings that make its output
 * predictable: C locale, no pager, no prompt for credentials, paths printed as they are.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
export class GitError extends Error {
    stderr;
    code;
    name = 'GitError';
    constructor(message, stderr, code) {
        super(message);
        this.stderr = stderr;
        this.code = code;
    }
}
/**
 * Variables that, inherited from a parent git (a hook, `git rebase --exec`), would point git at
 * another repository or index than the cwd's.
 */
const REPO_VARS = [
    'GIT_DIR',
    'GIT_WORK_TREE',
    'GIT_INDEX_FILE',
    'GIT_COMMON_DIR',
    'GIT_OBJECT_DIRECTORY',
    'GIT_ALTERNATE_OBJECT_DIRECTORIES',
    'GIT_NAMESPACE',
    'GIT_PREFIX',
    'GIT_LITERAL_PATHSPECS',
    'GIT_GLOB_PATHSPECS',
    'GIT_ICASE_PATHSPECS',
    'GIT_NOGLOB_PATHSPECS',
];
function gitEnv(extra) {
    const env = { ...process.env };
    for (const name of REPO_VARS)
        delete env[name];
    return {
        ...env,
        GIT_TERMINAL_PROMPT: '0',
        // Never refresh the user's index as a side effect of a read (git status and diff would).
        GIT_OPTIONAL_LOCKS: '0',
        GIT_PAGER: 'cat',
        PAGER: 'cat',
        LC_ALL: 'C',
        ...extra,
    };
}
/** The full result of one git command; throws GitError unless it exits 0 or with one of `okCodes`. */
export function runGitResult(args, opts) {
    const argv = ['-c', 'core.quotepath=off', '--no-pager', ...args];
    const command = `git ${args.join(' ')}`;
    return new Promise((resolve, reject) => {
        // Output is collected in chunks, so patches of any size come back whole (no maxBuffer).
        const child = spawn('git', argv, { cwd: opts.cwd, env: gitEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
        const out = [];
        const err = [];
        child.stdout.on('data', (b) => out.push(b));
        child.stderr.on('data', (b) => err.push(b));
        child.on('error', (e) => {
            const why = e.code === 'ENOENT' && !fs.existsSync(opts.cwd)
                ? `the directory ${opts.cwd} does not exist`
                : e.code === 'ENOENT'
                    ? 'git is not installed or not on PATH'
                    : e.message;
            reject(new GitError(`${command} could not run: ${why}`, '', null));
        });
        child.on('close', (code) => {
            const stderr = Buffer.concat(err).toString('utf8').trim();
            const status = code ?? -1;
            if (status === 0 || opts.okCodes?.includes(status)) {
                resolve({ stdout: Buffer.concat(out), stderr, code: status });
            }
            else {
                reject(new GitError(`${command} failed (exit ${code ?? 'by signal'})${stderr ? `: ${stderr}` : ''}`, stderr, code));
            }
        });
        // git may exit before reading all its input (e.g. on a bad argument); its exit status says why.
        child.stdin.on('error', () => { });
        child.stdin.end(opts.input ?? '');
    });
}
/** git's standard output as bytes (binary patches, NUL-separated listings with any path bytes). */
export async function runGitBuffer(args, opts) {
    return (await runGitResult(args, opts)).stdout;
}
/** git's standard output as text. */
export async function runGit(args, opts) {
    return (await runGitBuffer(args, opts)).toString('utf8');
}
/** Splits git's `-z` output into its fields (the trailing NUL ends the last one). */
export function splitZ(out) {
    const parts = out.split('\0');
    if (parts.at(-1) === '')
        parts.pop();
    return parts;
}
/** The empty tree's id in this repository's hash (SHA-1 or SHA-256): the "before" of a repository with no commit. */
export async function emptyTree(cwd) {
    return (await runGit(['hash-object', '-t', 'tree', '--stdin'], { cwd, input: '' })).trim();
}
/** Author and committer for the commits this layer makes, so it works where user.name is unset. */
export const COMMIT_ENV = {
    GIT_AUTHOR_NAME: 'codex-async-mcp',
    GIT_AUTHOR_EMAIL: 'codex-async-mcp@localhost',
    GIT_COMMITTER_NAME: 'codex-async-mcp',
    GIT_COMMITTER_EMAIL: 'codex-async-mcp@localhost',
};
/** Records `tree` as a commit (parents optional), unsigned whatever the user's commit.gpgSign says. */
export async function commitTree(cwd, tree, parents, message) {
    const args = ['commit-tree', '--no-gpg-sign', tree, ...parents.flatMap((p) => ['-p', p])];
    return (await runGit(args, { cwd, env: COMMIT_ENV, input: `${message}\n` })).trim();
}
/** Paths for a message: the first `max`, then how many more. */
export function listPaths(paths, max) {
    return paths.length > max ? `${paths.slice(0, max).join(', ')} and ${paths.length - max} more` : paths.join(', ');
}
//# sourceMappingURL=git.js.map