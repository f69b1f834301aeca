const SHELL_TOOLS = new Set(['run_shell_command']);
/** write_file creates or overwrites a file; replace edits one in place (`edit` in older releases). */
const EDIT_TOOLS = new Set(['write_file', 'replace', 'edit']);
const str = (v) => (typeof v === 'string' && v !== '' ? v : null);
export function classifyTool(name, parameters) {
    if (SHELL_TOOLS.has(name))
        return { kind: 'shell', command: str(parameters.command) ?? '' };
    const path = str(parameters.file_path) ?? str(parameters.absolute_path) ?? str(parameters.path);
    if (EDIT_TOOLS.has(name) && path)
        return { kind: 'edit', path };
    return { kind: 'other', name: name || 'a tool', target: path ?? str(parameters.pattern) ?? str(parameters.query) ?? str(parameters.url) };
}
/**
 * The tool a result answers: gemini names every call `<tool>__<id>` (0.61's Turn), and the result
 * carries only that id. Null when an id does not follow the pattern.
 */
export function toolOfCallId(toolId) {
    const at = toolId.indexOf('__');
    return at > 0 ? toolId.slice(0, at) : null;
}
export const isShellTool = (name) => name !== null && SHELL_TOOLS.has(name);
export const isEditTool = (name) => name !== null && EDIT_TOOLS.has(name);
//# sourceMappingURL=tools.js.map