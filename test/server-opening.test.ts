/**
 * A server answers initialize and tools/list while it still loads and opens its engine (cli/opening.ts):
 * MCP clients show a server as "pending" until tools/list is answered, and the engine's code is most
 * of the server's. Calls that come before the engine is open wait for it, in order, and then are the
 * engine's; a watch asked for meanwhile starts with it; an engine that cannot open fails each call.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { whenOpen } from '../src/cli/opening.ts';
import type { JobApi } from '../src/engine/api.ts';
import { ToolError } from '../src/errors.ts';
import { useHarness, waitFinal, TOOL_COUNT } from './helpers/harness.ts';

/** A promise with its resolve and reject outside. */
function later<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** A JobApi answering poll and counting its watches, standing in for the engine. */
function fakeJobs() {
  const watching = new Set<string>();
  const jobs = {
    poll: async (id: string) => ({ job_id: id, status: 'running' }),
    watch: (id: string) => {
      watching.add(id);
      return () => watching.delete(id);
    },
    retentionMs: 1234,
  } as unknown as JobApi;
  return { jobs, watching };
}

describe('jobs still opening', () => {
  it('hold a call until the engine is open, then answer it from the engine; once open, the getter is the engine', async () => {
    const opening = later<JobApi>();
    const get = whenOpen(opening.promise);
    const { jobs } = fakeJobs();
    let answered = false;
    const polled = Promise.resolve(get().poll('j1')).then((r) => ((answered = true), r));
    await new Promise((r) => setImmediate(r));
    assert.equal(answered, false, 'not before the engine is open');
    opening.resolve(jobs);
    assert.deepEqual(await polled, { job_id: 'j1', status: 'running' });
    assert.equal(get(), jobs);
    assert.equal(get().retentionMs, 1234);
  });

  it('start a watch asked for meanwhile when the engine opens, and never one stopped before that', async () => {
    const opening = later<JobApi>();
    const get = whenOpen(opening.promise);
    const { jobs, watching } = fakeJobs();
    const stopA = get().watch('a', () => undefined);
    const stopB = get().watch('b', () => undefined);
    stopB();
    opening.resolve(jobs);
    await opening.promise;
    await new Promise((r) => setImmediate(r));
    assert.deepEqual([...watching], ['a']);
    stopA();
    assert.deepEqual([...watching], []);
  });

  it('fail every call with the reason when the engine cannot open', async () => {
    const opening = later<JobApi>();
    const get = whenOpen(opening.promise);
    const pending = get();
    opening.reject(new ToolError('storage', 'the job database is damaged'));
    await assert.rejects(async () => pending.poll('j1'), /the job database is damaged/);
    await assert.rejects(async () => get().list({}), /the job database is damaged/);
    assert.doesNotThrow(() => get().watch('j1', () => undefined)());
  });
});

describe('a server just started', () => {
  const s = useHarness();

  it('serves tool calls sent the moment it is connected, before and while its engine opens', async () => {
    const conn = await s.h.connect();
    const cwd = s.h.workdir();
    const [tools, list, started] = await Promise.all([conn.client.listTools(), conn.call('codex_list', {}), conn.call('codex_start', { prompt: 'at once', cwd })]);
    assert.equal(tools.tools.length, TOOL_COUNT);
    assert.deepEqual(list.jobs, []);
    assert.equal((await waitFinal(conn, started.job_id)).status, 'completed');
  });
});
