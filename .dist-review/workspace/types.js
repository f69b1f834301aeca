/**
 * The shapes of a job's workspace and of its changes, shared by the git layer (this folder), the
 * engine, the MCP tools and the command line.
 */
export {};
//# sourceMappingURL=types.js.map