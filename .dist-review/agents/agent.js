/** The agents a job can run, by the name clients pass as `agent`. */
export const AGENT_NAMES = ['codex', 'claude', 'copilot', 'gemini'];
/** CODEX_BIN, CLAUDE_BIN, …: the full path (or command name) of an agent's binary, for the operator to set. */
export const binEnvOf = (name) => `${name.toUpperCase()}_BIN`;
/** An EventStream from an agent's parser, folder and renderer: each line parsed once per use. */
export function eventStream(reader) {
    const { parse, apply, render, item, renderLive } = reader;
    return {
        fold(line, progress) {
            const event = parse(line);
            if (event)
                apply(progress, event);
        },
        render(line) {
            const event = parse(line);
            const text = event && render(event);
            return event && text ? { text, item: item?.(event) ?? null } : null;
        },
        ...(renderLive && {
            renderLive(line) {
                const event = parse(line);
                return event && renderLive(event);
            },
        }),
    };
}
//# sourceMappingURL=agent.js.map