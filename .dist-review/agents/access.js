import { ToolError, invalid } from '../errors.js';
export const SANDBOXES = ['read-only', 'workspace-write', 'danger-full-access'];
export const APPROVAL_POLICIES = ['suggest', 'auto-edit', 'full-auto'];
const FROM_POLICY = {
    suggest: { sandbox: 'read-only', bypass: false },
    'auto-edit': { sandbox: 'workspace-write', bypass: false },
    'full-auto': { sandbox: 'danger-full-access', bypass: true },
};
/**
 * Resolves the seed's `approval_policy` and codex's own `sandbox` into one access mode. Unknown
 * values are refused (the seed silently turned them into a write mode), and dangerous modes need
 * the operator's explicit consent.
 */
export function resolveAccess(input, allowDangerous) {
    const { approval_policy: policy, sandbox } = input;
    if (policy !== undefined && !APPROVAL_POLICIES.includes(policy)) {
        throw invalid(`unknown approval_policy "${policy}": use one of ${APPROVAL_POLICIES.join(', ')}`);
    }
    if (sandbox !== undefined && !SANDBOXES.includes(sandbox)) {
        throw invalid(`unknown sandbox "${sandbox}": use one of ${SANDBOXES.join(', ')}`);
    }
    const fromPolicy = policy === undefined ? undefined : FROM_POLICY[policy];
    if (fromPolicy && sandbox !== undefined && fromPolicy.sandbox !== sandbox) {
        throw invalid(`approval_policy "${policy}" means sandbox "${fromPolicy.sandbox}", which disagrees with sandbox "${sandbox}": give only one of them`);
    }
    const access = fromPolicy ?? { sandbox: sandbox ?? 'read-only', bypass: false };
    if (access.sandbox === 'danger-full-access' && !allowDangerous) {
        throw new ToolError('dangerous_disabled', `${policy === 'full-auto' ? 'approval_policy "full-auto"' : 'sandbox "danger-full-access"'} lets codex change anything on this machine, so it is off unless the operator starts the server with CODEX_ASYNC_ALLOW_DANGEROUS=1. Use sandbox "workspace-write" to let codex edit files in cwd.`);
    }
    return access;
}
//# sourceMappingURL=access.js.map