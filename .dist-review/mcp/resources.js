import { ResourceTemplate } from '@modelcontextprotocol/server';
import { onSessionClose } from './session.js';
/**
 * Each job as resources, for clients that read or attach resources rather than call tools:
 * `codex-job://{job_id}` (the snapshot, JSON), `…/output` (the readable activity log),
 * `…/events` (codex's raw JSONL, its last MiB) and `…/diff` (its changes as a unified diff).
 * Listing shows the 50 most recent jobs.
 */
export function registerResources(server, engine, pushChanges) {
    registerSubscriptions(server, engine, pushChanges);
    const recent = async () => ({
        resources: (await engine().list({ limit: 50 })).jobs.map((job) => ({
            uri: `codex-job://${job.job_id}`,
            name: `codex job ${job.job_id}`,
            title: `${job.status}: ${job.prompt}`,
            mimeType: 'application/json',
        })),
    });
    const idOf = (value) => (Array.isArray(value) ? value[0] : value) ?? '';
    server.registerResource('codex-job', new ResourceTemplate('codex-job://{job_id}', { list: recent }), { title: 'Codex job', description: 'A background Codex job: status, progress, last message (JSON, as codex_poll returns)', mimeType: 'application/json' }, async (uri, vars) => ({
        contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(await engine().poll(idOf(vars.job_id)), null, 2) }],
    }));
    server.registerResource('codex-job-output', new ResourceTemplate('codex-job://{job_id}/output', { list: undefined }), { title: 'Codex job activity', description: 'What the job did, readable: messages, commands with exit codes, file changes', mimeType: 'text/plain' }, async (uri, vars) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: await engine().activity(idOf(vars.job_id)) }] }));
    server.registerResource('codex-job-events', new ResourceTemplate('codex-job://{job_id}/events', { list: undefined }), { title: 'Codex job events', description: "codex exec --json's raw event stream (the last MiB)", mimeType: 'application/x-ndjson' }, async (uri, vars) => ({ contents: [{ uri: uri.href, mimeType: 'application/x-ndjson', text: await engine().rawEvents(idOf(vars.job_id)) }] }));
    server.registerResource('codex-job-diff', new ResourceTemplate('codex-job://{job_id}/diff', { list: undefined }), { title: 'Codex job changes', description: "The job's changes against the commit it started from, as a unified diff (codex_diff's patch)", mimeType: 'text/x-diff' }, async (uri, vars) => {
        const d = await engine().diff(idOf(vars.job_id));
        const cut = d.truncated ? `\n# … cut at ${d.patch?.length ?? 0} bytes: codex_diff with paths shows the rest\n` : '';
        return { contents: [{ uri: uri.href, mimeType: 'text/x-diff', text: `${d.patch ?? ''}${cut}` }] };
    });
}
const JOB_URI = /^codex-job:\/\/([0-9a-f]{12})(\/output|\/events|\/diff)?$/;
/** The resources of one job: each changes whenever the job does. */
export const jobUris = (id) => [`codex-job://${id}`, `codex-job://${id}/output`, `codex-job://${id}/events`, `codex-job://${id}/diff`];
/**
 * For 2026-07-28 (`subscriptions/listen`): announces every change to every job's resources. The
 * serving entry, not the server, knows which URIs each listener asked for and drops the rest, so
 * this feed is a plain fan-out and costs one in-process call per change.
 */
export function pushJobChanges(engine, updated) {
    return engine.watchAll((id) => {
        for (const uri of jobUris(id))
            updated(uri);
    });
}
/**
 * `resources/subscribe` for this session (protocol 2025-06-18 / 2025-11-25): the client gets
 * `notifications/resources/updated` for the URI whenever its job changes — queued, started,
 * finished — in whichever server process that happened. Unsubscribing or disconnecting removes the
 * watch. With `pushChanges` (a 2026-07-28 stdio connection, whose entry routes updates onto the
 * client's `subscriptions/listen` streams) every job's changes are sent instead.
 */
function registerSubscriptions(server, engine, pushChanges) {
    const watches = new Map();
    const low = server.server;
    low.registerCapabilities({ resources: { subscribe: true } });
    let stopPushing;
    if (pushChanges) {
        try {
            stopPushing = pushJobChanges(engine(), (uri) => void low.sendResourceUpdated({ uri }).catch(() => undefined));
        }
        catch {
            // The engine could not open; every request reports why.
        }
    }
    low.setRequestHandler('resources/subscribe', (request) => {
        const uri = request.params.uri;
        const match = JOB_URI.exec(uri);
        if (!match)
            throw new Error(`cannot subscribe to "${uri}": only codex-job://{job_id}[/output|/events|/diff] resources change`);
        if (!watches.has(uri)) {
            watches.set(uri, engine().watch(match[1], () => void server.server.sendResourceUpdated({ uri }).catch(() => undefined)));
        }
        return {};
    });
    low.setRequestHandler('resources/unsubscribe', (request) => {
        watches.get(request.params.uri)?.();
        watches.delete(request.params.uri);
        return {};
    });
    onSessionClose(server, () => {
        for (const stop of watches.values())
            stop();
        watches.clear();
        stopPushing?.();
    });
}
//# sourceMappingURL=resources.js.map