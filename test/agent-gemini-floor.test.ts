/**
 * The agent contract (helpers/contract.ts) for the oldest release of Gemini CLI the adapter supports
 * (Agent.floor, pinned in test/cli-floors): the cases that depend on the CLI's options and output.
 */
import { mockedFloor } from './helpers/agentMocks.ts';
import { agentFloorContract } from './helpers/contract.ts';

// Its shell tool exists only in yolo mode, as for the newest release (agent-gemini.test.ts).
agentFloorContract({ agent: 'gemini', ...mockedFloor('gemini'), shellAccess: 'danger-full-access' });
