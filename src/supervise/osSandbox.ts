import { bwrapCommand, probeBubblewrap, type SandboxKind, type SandboxProbe, type SandboxSpec } from './sandbox.js';
import { probeSeatbelt, seatbeltCommand } from './seatbelt.js';

/** Which OS sandbox confines a job, and the programs that make each (Config has them). */
export interface SandboxSettings {
  /** CODEX_ASYNC_SANDBOX_KIND, else the platform's own (config.ts defaultSandboxKind). */
  sandboxKind: SandboxKind;
  /** bubblewrap, by name on searchPath or by absolute path (CODEX_ASYNC_BWRAP). */
  bwrap: string;
  /** sandbox-exec, likewise (CODEX_ASYNC_SEATBELT). */
  seatbelt: string;
  searchPath: string;
}

const probes = new Map<string, Promise<SandboxProbe>>();

/**
 * Whether the chosen sandbox can be made here. Asked once per process and program: a machine does
 * not gain or lose user namespaces (or sandbox-exec) while a server runs, and a start must not pay
 * for a process each time.
 */
export function probeSandbox(s: SandboxSettings): Promise<SandboxProbe> {
  const program = s.sandboxKind === 'seatbelt' ? s.seatbelt : s.bwrap;
  const key = `${s.sandboxKind}\0${program}\0${s.searchPath}`;
  let probe = probes.get(key);
  if (!probe) {
    probe = s.sandboxKind === 'seatbelt' ? probeSeatbelt(program, s.searchPath) : probeBubblewrap(program, s.searchPath);
    probes.set(key, probe);
  }
  return probe;
}

/** The job's command inside the sandbox the probe found working. */
export function sandboxedCommand(
  probe: Extract<SandboxProbe, { ok: true }>,
  spec: SandboxSpec,
  command: string,
  args: readonly string[],
): { command: string; args: string[] } {
  return probe.kind === 'seatbelt' ? seatbeltCommand(probe.binary, spec, command, args) : bwrapCommand(probe.binary, spec, command, args);
}
