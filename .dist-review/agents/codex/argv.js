/**
 * The argv for `codex exec`. The prompt is never part of it: it goes on stdin (`-` as the prompt
 * argument), so it cannot turn into a flag, has no length limit and is not visible in `ps`.
 */
export function buildExecArgs(o) {
    const args = ['exec', '--json', '--skip-git-repo-check', '-C', o.cwd];
    if (o.access.bypass)
        args.push('--dangerously-bypass-approvals-and-sandbox');
    else
        args.push('-s', o.access.sandbox);
    if (o.model)
        args.push('-m', o.model);
    if (o.reasoningEffort)
        args.push('-c', `model_reasoning_effort=${JSON.stringify(o.reasoningEffort)}`);
    if (o.outputSchemaFile)
        args.push('--output-schema', o.outputSchemaFile);
    for (const image of o.images ?? [])
        args.push('-i', image);
    for (const dir of o.addDirs ?? [])
        args.push('--add-dir', dir);
    if (o.privateTmp)
        args.push('-c', 'sandbox_workspace_write.exclude_slash_tmp=true');
    args.push('-o', o.lastMessageFile);
    if (o.resumeThreadId)
        args.push('resume', o.resumeThreadId);
    args.push('-');
    return args;
}
//# sourceMappingURL=argv.js.map