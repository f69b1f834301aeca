/** The agent-neutral shape of a job's progress: every agent's adapter folds its stream into it. */
export const emptyProgress = () => ({
    thread_id: null,
    current: null,
    commands_run: 0,
    files_changed: [],
    todo: [],
    usage: null,
    turn: null,
    turn_error: null,
    last_error: null,
    last_agent_message: null,
});
export const clip = (text, max) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
export const oneLine = (text, max = 120) => clip(text.replace(/\s+/g, ' ').trim(), max);
/** "running `npm test` — 4 commands, 2 files changed, 12k tokens": for progress notifications. */
export function describeProgress(p) {
    const parts = [];
    parts.push(`${p.commands_run} command${p.commands_run === 1 ? '' : 's'}`);
    parts.push(`${p.files_changed.length} file${p.files_changed.length === 1 ? '' : 's'} changed`);
    if (p.usage) {
        const tokens = p.usage.input_tokens + p.usage.output_tokens;
        parts.push(tokens >= 1000 ? `${Math.round(tokens / 1000)}k tokens` : `${tokens} tokens`);
    }
    return p.current ? `${p.current} — ${parts.join(', ')}` : parts.join(', ');
}
//# sourceMappingURL=progress.js.map