// test/agent-copilot.test.ts again, with every server and wrapper on the portable path a Mac runs (supervise/platform/posix.ts).
process.env.CODEX_ASYNC_PLATFORM = 'posix';
await import('./agent-copilot.test.ts');
