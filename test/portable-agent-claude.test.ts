/**
 * The agent contract (helpers/contract.ts) for Claude Code again, with every server, wrapper and callback
 * on the portable path a Mac runs (supervise/platform/posix.ts; the harness passes it on).
 */
import { mockedAgent } from './helpers/agentMocks.ts';
import { agentContract } from './helpers/contract.ts';

process.env.CODEX_ASYNC_PLATFORM = 'posix';
agentContract({ agent: 'claude', ...mockedAgent('claude') });
