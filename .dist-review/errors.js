/** How the MCP tools are named: the default wording of every message. */
export const toolName = (operation) => `codex_${operation}`;
export class ToolError extends Error {
    kind;
    phrase;
    name = 'ToolError';
    constructor(kind, phrase) {
        super(typeof phrase === 'string' ? phrase : phrase(toolName));
        this.kind = kind;
        this.phrase = phrase;
    }
    /** The message, with the operations it points to named by `name`. */
    say(name) {
        return typeof this.phrase === 'string' ? this.phrase : this.phrase(name);
    }
}
export const invalid = (message) => new ToolError('invalid_input', message);
//# sourceMappingURL=errors.js.map