/**
 * A job that writes commands into the repository's git (config, hooks, attributes): the server's
 * own git, which runs outside any sandbox when the job ends and on every review, never runs them.
 * The planting job is real codex in danger-full-access (the operator allows it), the one mode in
 * which an agent can still write the user's .git; the git layer's own tests plant each thing
 * separately (workspace-git › the server's git runs nothing a job planted …).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { git, gitRepo } from './helpers/git.ts';
import { cliIn, tempDir, until, useServer, waitFinal } from './helpers/harness.ts';

const lines = (tag = '') => Array.from({ length: 10 }, (_, i) => `line ${i}${tag}\n`).join('');

/** A marker directory, and a job's shell command that plants commands leaving markers there. */
function planting(): { ran: () => string[]; plant: string } {
  const markers = tempDir('markers');
  const touch = (name: string) => `touch ${path.join(markers, name)}`;
  const hook = (name: string) => `printf '#!/bin/sh\\n${touch(name)}\\n' > "$hooks/${name}" && chmod +x "$hooks/${name}"`;
  // Each names only the job's own checkout and git: a path check lets it through.
  const plant = [
    'hooks="$(git rev-parse --git-common-dir)/hooks"',
    `git config core.fsmonitor "${touch('fsmonitor')}; false"`,
    hook('post-index-change'),
    hook('reference-transaction'),
    hook('post-checkout'),
    `git config filter.evil.clean "${touch('filter-clean')}; cat"`,
    `git config filter.evil.smudge "${touch('filter-smudge')}; cat"`,
    "printf '* filter=evil\\n' > .gitattributes",
    "sed -i 's/^line 0$/line 0 by the job/' a.txt",
  ].join(' && ');
  return { ran: () => fs.readdirSync(markers).sort(), plant: `[[shell:${plant}]] plant` };
}

describe("a job plants commands in the repository's git: the server's git never runs them", () => {
  const s = useServer({ CODEX_ASYNC_ALLOW_DANGEROUS: '1' });

  /** Runs the planting job; returns once the server has measured its changes (its git add when the job ended). */
  async function plantedBy(prompt: string, repo: string, isolation: 'none' | 'worktree'): Promise<string> {
    const started = await s.conn.call('codex_start', { prompt, cwd: repo, sandbox: 'danger-full-access', isolation });
    const id: string = started.job_id;
    const job = await waitFinal(s.conn, id);
    assert.equal(job.status, 'completed', JSON.stringify(job.error));
    assert.match(git(repo, 'config', 'core.fsmonitor'), /fsmonitor/, 'the job did plant into the repository');
    assert.ok(fs.existsSync(path.join(repo, '.git/hooks/post-index-change')));
    const measured = await until('the changes measured', async () => (await s.conn.call('codex_poll', { job_id: id })).changes);
    assert.deepEqual(measured, { files: 2, additions: 2, deletions: 1 });
    return id;
  }

  it('fsmonitor, hooks and a filter written by a worktree job: not run when it ends, by codex_diff, codex_apply, codex_discard, nor by the CLI diff and apply', async () => {
    const { ran, plant } = planting();
    const repo = gitRepo({ 'a.txt': lines() });
    const id = await plantedBy(plant, repo, 'worktree');
    assert.deepEqual(ran(), [], 'when the job ended');

    const diff = await s.conn.call('codex_diff', { job_id: id });
    assert.deepEqual(diff.files.map((f: any) => f.path), ['.gitattributes', 'a.txt']);
    assert.deepEqual(ran(), [], 'codex_diff');
    const cliDiff = await cliIn(s.h.env(), ['diff', id]);
    assert.equal(cliDiff.code, 0, cliDiff.stderr);
    assert.match(cliDiff.stdout, /^\+line 0 by the job$/m);
    assert.deepEqual(ran(), [], 'the CLI diff');
    const dry = await cliIn(s.h.env(), ['apply', id, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(ran(), [], 'the CLI apply --dry-run');

    const applied = await s.conn.call('codex_apply', { job_id: id });
    assert.equal(applied.applied, true, applied.message);
    assert.equal(fs.readFileSync(path.join(repo, 'a.txt'), 'utf8'), lines().replace('line 0\n', 'line 0 by the job\n'));
    assert.deepEqual(ran(), [], 'codex_apply');

    const discarded = await s.conn.call('codex_discard', { job_id: id });
    assert.equal(discarded.discarded, true);
    assert.deepEqual(ran(), [], 'codex_discard');
  });

  it('the same planted by a job without isolation, in the checkout itself: not run when it ends, nor by codex_diff or the CLI diff', async () => {
    const { ran, plant } = planting();
    const repo = gitRepo({ 'a.txt': lines() });
    const id = await plantedBy(plant, repo, 'none');
    assert.deepEqual(ran(), [], 'when the job ended');
    const diff = await s.conn.call('codex_diff', { job_id: id });
    assert.deepEqual(diff.files.map((f: any) => f.path), ['.gitattributes', 'a.txt']);
    assert.deepEqual(ran(), [], 'codex_diff');
    const cliDiff = await cliIn(s.h.env(), ['diff', id, '--stat']);
    assert.equal(cliDiff.code, 0, cliDiff.stderr);
    assert.deepEqual(ran(), [], 'the CLI diff');
  });
});
