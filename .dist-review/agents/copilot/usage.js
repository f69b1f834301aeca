import fs from 'node:fs';
import path from 'node:path';
import { USAGE_FILE } from './argv.js';
import { isObject, num } from '../json.js';
/**
 * The tokens a run used, from the report `--usage-output-file` writes when Copilot ends (its
 * stream has none): the sum over `modelMetrics`. Null when there is no report (the run was
 * killed, or interrupted before it wrote one) or it names no model.
 */
export function usageFromReport(report) {
    const models = isObject(report) && isObject(report.modelMetrics) ? Object.values(report.modelMetrics) : [];
    const usages = models.filter(isObject).map((m) => (isObject(m.usage) ? m.usage : {}));
    if (usages.length === 0)
        return null;
    const usage = { input_tokens: 0, cached_input_tokens: 0, output_tokens: 0, reasoning_output_tokens: 0 };
    for (const u of usages) {
        usage.input_tokens += num(u.inputTokens);
        usage.cached_input_tokens += num(u.cacheReadTokens);
        usage.output_tokens += num(u.outputTokens);
    }
    return usage;
}
/** The usage report in a job's directory, read; null when it is missing or not JSON. */
export function readCopilotUsage(jobDir) {
    try {
        return usageFromReport(JSON.parse(fs.readFileSync(path.join(jobDir, USAGE_FILE), 'utf8')));
    }
    catch {
        return null;
    }
}
//# sourceMappingURL=usage.js.map