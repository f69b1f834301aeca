import { spawn } from 'node:child_process';
/**
 * The pager a person has chosen, as git picks it: GIT_PAGER, then PAGER, else `less -FRX` (quit if
 * it fits one screen, keep colours, leave the text on the screen). Null for none: not a terminal,
 * or a pager set to "" or "cat".
 */
export function pagerCommand(out, env = process.env) {
    if (!out.tty || out.json)
        return null;
    const chosen = (env.GIT_PAGER ?? env.PAGER ?? 'less -FRX').trim();
    return chosen === '' || chosen === 'cat' ? null : chosen;
}
/** A shell's status when the command itself could not be found or run. */
const NOT_RUN = new Set([126, 127]);
/**
 * Shows `text` through the user's pager, or prints it when there is none or it cannot start. The
 * pager runs through the shell, as git runs it, so a GIT_PAGER such as `delta | less` works.
 */
export async function page(out, text) {
    const command = pagerCommand(out);
    if (command === null || !(await throughPager(command, text)))
        process.stdout.write(text);
}
/** Whether the pager ran; false when it could not start (nothing was shown). */
function throughPager(command, text) {
    return new Promise((resolve) => {
        // Ctrl-C belongs to the pager (less uses it to stop a search); this process waits for it to end.
        const ignore = () => { };
        process.on('SIGINT', ignore);
        const done = (ran) => {
            process.off('SIGINT', ignore);
            resolve(ran);
        };
        // LESS and LV as git sets them when unset, for a pager given without its flags.
        const env = { LESS: 'FRX', LV: '-c', ...process.env };
        const child = spawn('sh', ['-c', command], { stdio: ['pipe', 'inherit', 'inherit'], env });
        child.on('error', () => done(false));
        // The person quit the pager before reading to the end: the rest is not wanted.
        child.stdin.on('error', () => { });
        child.on('close', (code) => done(!NOT_RUN.has(code ?? 0)));
        child.stdin.end(text);
    });
}
//# sourceMappingURL=pager.js.map