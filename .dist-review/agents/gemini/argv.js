/**
 * Gemini CLI has no OS sandbox of its own to use here (its `--sandbox` runs it in a container), so
 * each access mode is an approval mode — which tools gemini offers the model at all, since a
 * headless run cannot ask anyone:
 * - read-only: `default` — only tools that need no approval: reading, listing and searching files,
 *   web search. No edit tool, no shell.
 * - workspace-write: `auto_edit` — adds write_file and replace (gemini itself refuses paths outside
 *   the workspace: cwd and add_dirs) and web_fetch. Still no shell: a command would run with the
 *   user's full rights, which is not "workspace-write".
 * - danger-full-access: `yolo` — every tool, the shell included, unconfined.
 */
export const APPROVAL_MODE = {
    'read-only': 'default',
    'workspace-write': 'auto_edit',
    'danger-full-access': 'yolo',
};
/**
 * The argv for a headless run. The prompt is never part of it: `-p ""` makes the run headless and
 * gemini appends stdin (the prompt) to that empty prompt. `--skip-trust` trusts the job's cwd for
 * this run only: an untrusted folder would make gemini refuse to run headless. Without a model
 * gemini picks its own (GEMINI_MODEL, settings' model.name, else its "auto" router).
 */
export function buildGeminiArgs(spec) {
    const args = ['-p', '', '--output-format', 'stream-json', '--skip-trust'];
    args.push('--approval-mode', spec.access.bypass ? 'yolo' : APPROVAL_MODE[spec.access.sandbox]);
    if (spec.model)
        args.push('--model', spec.model);
    for (const dir of spec.addDirs)
        args.push('--include-directories', dir);
    // A session id resumes the session of that id among the cwd's project's sessions.
    if (spec.resume)
        args.push('--resume', spec.resume);
    return args;
}
//# sourceMappingURL=argv.js.map