/** Logs go to stderr only: on stdio, stdout belongs to the MCP protocol. */
export type Logger = (level: 'info' | 'warn' | 'error', message: string) => void;

export const stderrLogger: Logger = (level, message) => {
  process.stderr.write(`[codex-async-mcp] ${level}: ${message}\n`);
};
