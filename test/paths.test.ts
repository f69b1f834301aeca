import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { checkWritableRoots } from '../src/engine/validate.ts';
import { isWithin } from '../src/paths.ts';
import { tempDir } from './helpers/harness.ts';

describe('path containment', () => {
  const cases: Array<[child: string, parent: string, within: boolean]> = [
    ['/a/b', '/a/b', true],
    ['/a/b/', '/a/b', true],
    ['/a/b', '/a/b/', true],
    ['/a/b/c', '/a/b', true],
    ['/a/b/c/', '/a/b//', true],
    ['/a/b/..state', '/a/b', true],
    ['/a/b/...', '/a/b', true],
    ['/a/b/..', '/a/b', false],
    ['/a/b/../c', '/a/b', false],
    ['/a/bc', '/a/b', false],
    ['/a', '/a/b', false],
    ['/a/b/c/../../b/d', '/a/b', true],
    ['/x/y', '/a/b', false],
    ['/', '/', true],
    ['/a', '/', true],
  ];
  for (const [child, parent, within] of cases) {
    it(`${child} is ${within ? '' : 'not '}within ${parent}`, () => {
      assert.equal(isWithin(child, parent), within);
    });
  }
});

describe('a writable root must not hold the state directory', () => {
  const access = { sandbox: 'workspace-write' } as Parameters<typeof checkWritableRoots>[0];

  for (const name of ['..state', '...', 'state/']) {
    it(`refuses a cwd holding a state directory named ${name}`, () => {
      const cwd = fs.realpathSync(tempDir('roots'));
      const home = path.join(cwd, name);
      fs.mkdirSync(home);
      assert.throws(() => checkWritableRoots(access, cwd, [], home), /contains the job state directory/);
    });
  }

  it('refuses a cwd holding the state directory behind a symlink', () => {
    const cwd = fs.realpathSync(tempDir('roots'));
    const real = path.join(cwd, 'real-state');
    fs.mkdirSync(real);
    const link = path.join(fs.realpathSync(tempDir('link')), 'state');
    fs.symlinkSync(real, link);
    assert.throws(() => checkWritableRoots(access, cwd, [], link), /contains the job state directory/);
  });

  it('accepts a sibling whose name only starts with the state directory\'s', () => {
    const parent = fs.realpathSync(tempDir('roots'));
    fs.mkdirSync(path.join(parent, 'state'));
    fs.mkdirSync(path.join(parent, 'state-work'));
    checkWritableRoots(access, path.join(parent, 'state-work'), [], path.join(parent, 'state'));
  });
});
