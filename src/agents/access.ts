import { ToolError, invalid } from '../errors.js';

export const SANDBOXES = ['read-only', 'workspace-write', 'danger-full-access'] as const;
export const APPROVAL_POLICIES = ['suggest', 'auto-edit', 'full-auto'] as const;
export type Sandbox = (typeof SANDBOXES)[number];
export type ApprovalPolicy = (typeof APPROVAL_POLICIES)[number];

/**
 * How the agent may touch the machine (each adapter maps it to its CLI's flags). `bypass` is codex's
 * `--dangerously-bypass-approvals-and-sandbox`, what the seed's `full-auto` meant.
 */
export interface Access {
  sandbox: Sandbox;
  bypass: boolean;
}

const FROM_POLICY: Record<ApprovalPolicy, Access> = {
  suggest: { sandbox: 'read-only', bypass: false },
  'auto-edit': { sandbox: 'workspace-write', bypass: false },
  'full-auto': { sandbox: 'danger-full-access', bypass: true },
};

/** What a value that names no access mode is told, by this check and by the tools' input schemas. */
export function unknownAccess(what: 'approval_policy' | 'sandbox', got: string): string {
  return `unknown ${what} "${got.slice(0, 40)}": use one of ${(what === 'sandbox' ? SANDBOXES : APPROVAL_POLICIES).join(', ')}`;
}

/**
 * Resolves the seed's `approval_policy` and codex's own `sandbox` into one access mode. Unknown
 * values are refused (the seed silently turned them into a write mode), and dangerous modes need
 * the operator's explicit consent.
 */
export function resolveAccess(
  input: { approval_policy?: string | undefined; sandbox?: string | undefined },
  allowDangerous: boolean,
): Access {
  const { approval_policy: policy, sandbox } = input;
  if (policy !== undefined && !(APPROVAL_POLICIES as readonly string[]).includes(policy)) throw invalid(unknownAccess('approval_policy', policy));
  if (sandbox !== undefined && !(SANDBOXES as readonly string[]).includes(sandbox)) throw invalid(unknownAccess('sandbox', sandbox));
  const fromPolicy = policy === undefined ? undefined : FROM_POLICY[policy as ApprovalPolicy];
  if (fromPolicy && sandbox !== undefined && fromPolicy.sandbox !== sandbox) {
    throw invalid(
      `approval_policy "${policy}" means sandbox "${fromPolicy.sandbox}", which disagrees with sandbox "${sandbox}": give only one of them`,
    );
  }
  const access = fromPolicy ?? { sandbox: (sandbox as Sandbox | undefined) ?? 'read-only', bypass: false };
  if (access.sandbox === 'danger-full-access' && !allowDangerous) {
    throw new ToolError(
      'dangerous_disabled',
      `${policy === 'full-auto' ? 'approval_policy "full-auto"' : 'sandbox "danger-full-access"'} lets codex change anything on this machine, so it is off unless the operator starts the server with CODEX_ASYNC_ALLOW_DANGEROUS=1. Use sandbox "workspace-write" to let codex edit files in cwd.`,
    );
  }
  return access;
}
