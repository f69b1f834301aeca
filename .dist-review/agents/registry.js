import { AGENT_NAMES } from './agent.js';
import { claude } from './claude/index.js';
import { codex } from './codex/index.js';
import { copilot } from './copilot/index.js';
import { gemini } from './gemini/index.js';
/** Every agent a job can run. Adding one: its folder under agents/, its name in AGENT_NAMES, and a line here. */
const AGENTS = { codex, claude, copilot, gemini };
/** Every agent, in the order they are listed to people. */
export const agents = () => AGENT_NAMES.map((name) => AGENTS[name]);
export const isAgentName = (name) => Object.hasOwn(AGENTS, name);
/** A job's agent, by the name recorded with it. */
export function agentOf(name) {
    if (!isAgentName(name))
        throw new Error(`unknown agent "${name}"`);
    return AGENTS[name];
}
//# sourceMappingURL=registry.js.map