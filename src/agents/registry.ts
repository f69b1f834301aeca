import { AGENT_NAMES, type Agent, type AgentName } from './agent.js';
import { codex } from './codex/index.js';
import { gemini } from './gemini/index.js';

/** Every agent a job can run. Adding one: its folder under agents/, and a line here. */
const AGENTS: Record<AgentName, Agent | undefined> = {
  codex,
  claude: undefined,
  copilot: undefined,
  gemini,
};

/** The agents this build ships, in the order they are listed to people. */
export const agents = (): Agent[] => AGENT_NAMES.flatMap((name) => AGENTS[name] ?? []);

/** A job's agent. Jobs recorded before there were agents (or by a newer build) read as codex's or fail loudly. */
export function agentOf(name: string): Agent {
  const agent = AGENTS[name as AgentName];
  if (!agent) throw new Error(`unknown agent "${name}"`);
  return agent;
}

export const isAgentName = (name: string): name is AgentName => AGENTS[name as AgentName] !== undefined;
