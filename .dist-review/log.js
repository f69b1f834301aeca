export const stderrLogger = (level, message) => {
    process.stderr.write(`[codex-async-mcp] ${level}: ${message}\n`);
};
//# sourceMappingURL=log.js.map