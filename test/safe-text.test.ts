import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { safeJson, safeText, safeValue } from '../src/cli/safe-text.ts';

describe('job text made safe for a terminal', () => {
  const cases: Array<[what: string, text: string, shown: string]> = [
    ['plain text, newlines and tabs stay', 'a\tb\nc ✓ é', 'a\tb\nc ✓ é'],
    ['OSC 0 (window title)', '\x1b]0;pwned\x07', '␛]0;pwned␇'],
    ['OSC 52 (clipboard)', '\x1b]52;c;cm0gLXJmIH4=\x07', '␛]52;c;cm0gLXJmIH4=␇'],
    ['cursor up and erase line', 'ok\n\x1b[1A\x1b[2K✓ all tests passed', 'ok\n␛[1A␛[2K✓ all tests passed'],
    ['C1 CSI', '\u009b31mred', '\\x9b31mred'],
    ['DEL and NUL', 'a\x7fb\x00', 'a␡b␀'],
    ['a lone carriage return, which would overwrite the line', 'passed\rfailed', 'passed␍failed'],
    ['CRLF line ends', 'one\r\ntwo\r\n', 'one\ntwo\n'],
    ['bidirectional overrides and isolates (Trojan Source)', 'if (admin) {\u202e } \u2066x\u2069', 'if (admin) {\\u202e } \\u2066x\\u2069'],
  ];
  for (const [what, text, shown] of cases) {
    it(what, () => assert.equal(safeText(text), shown));
  }

  it('is the same when applied twice', () => {
    for (const [, text] of cases) assert.equal(safeText(safeText(text)), safeText(text));
  });

  it('reaches every string of a job view, leaving other values alone', () => {
    const view = { job_id: 'abc', exit_code: 0, error: null, progress: { todo: [{ text: '\x1b[2J', completed: true }] } };
    assert.deepEqual(safeValue(view), { job_id: 'abc', exit_code: 0, error: null, progress: { todo: [{ text: '␛[2J', completed: true }] } });
  });

  it('writes JSON with no raw control character, and the same value', () => {
    const value = { text: '\x1b]0;t\x07 \u009b \x7f \u202e' };
    const json = safeJson(value);
    assert.doesNotMatch(json, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
    assert.deepEqual(JSON.parse(json), value);
  });
});
