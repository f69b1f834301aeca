import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { buildExecArgs } from '../src/agents/codex/argv.ts';
import { parseEventLine } from '../src/agents/codex/events.ts';
import { emptyProgress } from '../src/agents/progress.ts';
import { codexStream } from '../src/agents/codex/stream.ts';
import { foldNewEvents, readActivityTail, readNewLines } from '../src/jobs/eventlog.ts';

const line = (event: object) => `${JSON.stringify(event)}\n`;

describe('reading the codex event stream', () => {
  it('turns unknown events, unknown items and junk into harmless values', () => {
    assert.deepEqual(parseEventLine('{"type":"session.configured","x":1}'), { type: 'unknown', originalType: 'session.configured' });
    assert.deepEqual(parseEventLine('{"type":"item.completed","item":{"id":"i","type":"hologram"}}'), {
      type: 'item.completed',
      item: { type: 'unknown', id: 'i', originalType: 'hologram' },
    });
    assert.equal(parseEventLine('Reading prompt from stdin...'), null);
    assert.equal(parseEventLine('{"type": "turn.comp'), null);
    assert.equal(parseEventLine('[1,2]'), null);
    assert.deepEqual(parseEventLine('{"type":"turn.failed","error":{"message":"boom"}}'), { type: 'turn.failed', message: 'boom' });
  });

  it('folds only complete lines, resumes at the offset, and takes the torn tail once codex has exited', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cam-stream-')), 'events.jsonl');
    const msg = line({ type: 'item.completed', item: { id: 'a', type: 'agent_message', text: 'hi' } });
    fs.writeFileSync(file, line({ type: 'thread.started', thread_id: 't-1' }) + msg + '{"type":"turn.completed","usage":{"output_tokens":4}}');
    const progress = emptyProgress();
    const offset = foldNewEvents(codexStream, file, 0, progress, false);
    assert.equal(offset, Buffer.byteLength(line({ type: 'thread.started', thread_id: 't-1' }) + msg));
    assert.equal(progress.thread_id, 't-1');
    assert.equal(progress.last_agent_message, 'hi');
    assert.equal(progress.turn, null, 'the torn last line is not read yet');
    assert.equal(foldNewEvents(codexStream, file, offset, progress, false), offset, 'nothing new, nothing read');
    const end = foldNewEvents(codexStream, file, offset, progress, true);
    assert.equal(end, fs.statSync(file).size);
    assert.equal(progress.turn, 'completed');
    assert.equal(progress.usage?.output_tokens, 4);
  });

  it('skips a single line longer than the line limit without losing the events after it', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cam-stream-')), 'events.jsonl');
    const huge = line({ type: 'item.completed', item: { id: 'h', type: 'command_execution', aggregated_output: 'x'.repeat(10 << 20) } });
    fs.writeFileSync(file, huge + line({ type: 'turn.completed', usage: {} }));
    const progress = emptyProgress();
    foldNewEvents(codexStream, file, 0, progress, true);
    assert.equal(progress.turn, 'completed');
    assert.equal(progress.commands_run, 0, 'the oversized line was skipped');
    assert.match(readActivityTail(codexStream, file, 10, 8000), /turn completed/);
  });
});

describe('the codex command line', () => {
  it('never carries the prompt, reads it from stdin, and resumes a thread', () => {
    const args = buildExecArgs({
      cwd: '/w',
      access: { sandbox: 'workspace-write', bypass: false },
      lastMessageFile: '/s/last',
      model: 'gpt-5.5',
      reasoningEffort: 'high',
      images: ['/w/a.png'],
      addDirs: ['/x'],
      resumeThreadId: 'thread-1',
    });
    assert.deepEqual(args, [
      'exec', '--json', '--skip-git-repo-check', '-C', '/w', '-s', 'workspace-write', '-m', 'gpt-5.5',
      '-c', 'model_reasoning_effort="high"', '-i', '/w/a.png', '--add-dir', '/x', '-o', '/s/last', 'resume', 'thread-1', '-',
    ]);
    const bypass = buildExecArgs({ cwd: '/w', access: { sandbox: 'danger-full-access', bypass: true }, lastMessageFile: '/l' });
    assert.ok(bypass.includes('--dangerously-bypass-approvals-and-sandbox'));
    assert.ok(!bypass.includes('-s'));
    assert.ok(!bypass.includes('--full-auto'), '--full-auto was removed from codex');
  });

  it('follows a log line by line, waits for a torn last line, and skips a line too long to show', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cam-follow-')), 'events.jsonl');
    const first = line({ type: 'thread.started', thread_id: 't' });
    fs.writeFileSync(file, `${first}{"type":"turn.sta`);
    let r = readNewLines(file, 0, false);
    assert.deepEqual(r, { lines: [first.trim()], offset: first.length });
    assert.deepEqual(readNewLines(file, r.offset, false), { lines: [], offset: first.length }, 'a torn line waits');
    fs.writeFileSync(file, `${first}${'x'.repeat(5 << 20)}\n${line({ type: 'turn.started' })}`);
    const ends: number[] = [];
    const seen: string[] = [];
    for (let offset = 0, before = -1; offset !== before; ) {
      before = offset;
      r = readNewLines(file, offset, true, 1 << 20);
      seen.push(...r.lines);
      ends.push((offset = r.offset));
    }
    assert.deepEqual(seen, [first.trim(), '{"type":"turn.started"}']);
    assert.equal(ends.at(-1), fs.statSync(file).size);
  });
});
