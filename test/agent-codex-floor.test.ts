/**
 * The agent contract (helpers/contract.ts) for the oldest release of Codex CLI the adapter supports
 * (Agent.floor, pinned in test/cli-floors): the cases that depend on the CLI's options and output.
 */
import { mockedFloor } from './helpers/agentMocks.ts';
import { agentFloorContract } from './helpers/contract.ts';

agentFloorContract({ agent: 'codex', ...mockedFloor('codex') });
