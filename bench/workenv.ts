/**
 * Issue 21: a job's worktree as a working environment. A repository of 10,000 tracked files (the
 * worktree bench's) with an ignored, generated node_modules (~800 packages, 20,000 files, ~100 MB)
 * and an ignored .env: a plain `git worktree add`; each way of bringing node_modules into a
 * worktree, timed, its disk measured and checked usable; ours (createWorktree + bringIn from a
 * `.worktreeinclude`); and a setup that runs `npm ci` for a lockfile of ~200 packages, from a cold
 * and from a warm cache, beside copying the node_modules a sibling attempt's setup made. All of it
 * offline: the "registry" is a loopback HTTP server in this process serving tarballs made here.
 * On this machine's file system and again, where `mkfs.xfs` and a loop device are at hand, on a
 * private XFS image (reflink=1), the file system where a copy-on-write clone exists.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT, runProcess, tempDir, waitFinal, type Harness } from '../test/helpers/harness.ts';
import { bringIn, includePatterns, type BroughtIn } from '../src/workspace/include.ts';
import { createWorktree, removeWorktree } from '../src/workspace/worktree.ts';
import { duKb, seedWorkedOnRepo, stats, timed } from './lib.ts';

export const WORKENV_HEADING = "A job's worktree as a working environment (issue 21)";

const log = (line: string) => process.stdout.write(`${line}\n`);
const p50 = (xs: number[]) => stats(xs).p50;
const ms = (xs: number[]) => (xs.length ? `${p50(xs).toFixed(0)} ms (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})` : 'n/a');

/** The goal the issue sets: ready within this multiple of a plain `git worktree add`, and disk within this share of the checkout's node_modules. */
const READY_GOAL = 1.5;
const DISK_GOAL = 0.1;

/** A small deterministic generator, so every run (and every machine) makes the same tree. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = 'value options result callback buffer stream parse format resolve module export default config handler request response error state cache index token node path'.split(' ');

/** JavaScript that loads: `exports.fN = …` lines with a comment of words, about `bytes` long. */
function jsText(rand: () => number, bytes: number, tag: string): string {
  let out = `'use strict';\n// ${tag}\n`;
  for (let k = 0; out.length < bytes; k++) {
    const words = Array.from({ length: 4 + Math.floor(rand() * 8) }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' ');
    out += `exports.f${k} = function (a, b) { return a + b * ${k}; }; // ${words}\n`;
  }
  return out;
}

export interface SeededModules {
  packages: number;
  files: number;
  bytes: number;
  /** Names to require() from the top, a scoped and a nested one among them, and a .bin entry. */
  probes: { require: string[]; bin: string };
}

/**
 * A node_modules as npm leaves one: `packages` packages (every eighth scoped, every fiftieth nested
 * in the one before it), each with package.json, README.md, LICENSE, index.js, index.d.ts and lib
 * files, `files` in all; sizes drawn so the whole is about 100 MB; every twentieth has a bin, linked
 * from node_modules/.bin as npm links it (relative symlinks); and npm's .package-lock.json.
 */
export function seedNodeModules(dir: string, packages = 800, files = 20_000): SeededModules {
  const rand = prng(21);
  const bins = Math.ceil(packages / 20);
  // Each bin is two entries (its file and its .bin link); .package-lock.json is one.
  const perPackage = Math.floor((files - 1 - 2 * bins) / packages);
  const extra = files - 1 - 2 * bins - perPackage * packages;
  let written = 0;
  let bytes = 0;
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    written++;
    bytes += text.length;
  };
  const locations: string[] = [];
  const lock: Record<string, unknown> = {};
  let bin = '';
  for (let i = 0; i < packages; i++) {
    const name = i % 8 === 0 ? `@scope${i % 5}/pkg-${i}` : `pkg-${i}`;
    const at = i % 50 === 49 ? path.join(locations[i - 1]!, 'node_modules', name) : path.join(dir, name);
    locations.push(at);
    const hasBin = i % 20 === 0;
    const manifest = { name, version: `1.${i % 10}.${i % 7}`, description: `generated package ${i}`, main: 'index.js', types: 'index.d.ts', license: 'MIT', ...(hasBin ? { bin: { [`pkg-${i}`]: 'bin/cli.js' } } : {}) };
    write(path.join(at, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    write(path.join(at, 'README.md'), `# ${name}\n\n${jsText(rand, 1500 + rand() * 3000, 'readme').replace(/^/gm, '    ')}`);
    write(path.join(at, 'LICENSE'), `MIT License\n\nCopyright (c) generated\n${'Permission is hereby granted, free of charge, to any person obtaining a copy.\n'.repeat(12)}`);
    write(path.join(at, 'index.js'), `'use strict';\nconst lib = require('./lib/f0.js');\nmodule.exports = { name: ${JSON.stringify(name)}, lib };\n`);
    write(path.join(at, 'index.d.ts'), `export declare const name: string;\nexport declare const lib: Record<string, (a: number, b: number) => number>;\n`);
    if (hasBin) {
      write(path.join(at, 'bin/cli.js'), `#!/usr/bin/env node\nconsole.log(require('../index.js').name);\n`);
      fs.chmodSync(path.join(at, 'bin/cli.js'), 0o755);
      const link = path.join(dir, '.bin', `pkg-${i}`);
      fs.mkdirSync(path.dirname(link), { recursive: true });
      fs.symlinkSync(path.relative(path.dirname(link), path.join(at, 'bin/cli.js')), link);
      written++;
      bin = `pkg-${i}`;
    }
    // Mostly small files, a long tail of large ones (bundles): about 5 KiB on average.
    const own = perPackage - 5 + (i < extra ? 1 : 0);
    for (let k = 0; k < own; k++) write(path.join(at, k % 4 === 3 ? `dist/f${k}.js` : `lib/f${k}.js`), jsText(rand, 200 + rand() ** 3 * 24_000, `${name} ${k}`));
    lock[path.relative(path.dirname(dir), at).split(path.sep).join('/')] = { version: manifest.version, license: 'MIT' };
  }
  write(path.join(dir, '.package-lock.json'), `${JSON.stringify({ name: 'bench', lockfileVersion: 3, requires: true, packages: lock }, null, 2)}\n`);
  const nested = `./${path.relative(path.dirname(dir), locations[49]!).split(path.sep).join('/')}`;
  return { packages, files: written, bytes, probes: { require: ['pkg-1', '@scope0/pkg-0', nested], bin } };
}

/** Whether node_modules in `cwd` works: the probes load from there, the .bin entry leads to a file. */
async function usable(cwd: string, probes: SeededModules['probes']): Promise<boolean> {
  const script = `for (const m of ${JSON.stringify(probes.require)}) require(m); require('fs').statSync('node_modules/.bin/${probes.bin}');`;
  const ran = await runProcess(process.execPath, ['-e', script], { PATH: process.env.PATH ?? '/usr/bin:/bin' }, { cwd });
  return ran.code === 0;
}

/** Runs a program to its end; throws with what it printed when it fails. */
async function run(command: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<string> {
  const ran = await runProcess(command, args, opts.env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin' }, { cwd: opts.cwd });
  if (ran.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${ran.code}: ${(ran.stderr || ran.stdout).trim().split('\n').slice(-3).join(' ')}`);
  return ran.stdout;
}

/** A place to measure on: the file system's name, and how to read the disk a new copy took. */
interface Place {
  label: string;
  dir: string;
  /**
   * KiB of disk `added` took beyond `original`. On a file system of our own, the free blocks
   * before and after (statfs, after a sync): it sees shared extents of clones, which du cannot.
   * On the machine's file system, shared with other work, `du` of both in one call, which counts
   * a hardlinked file once.
   */
  private: boolean;
}

/**
 * Writes out what earlier steps left dirty (a copy returns with its 100 MB still in the page cache),
 * so no timed step pays for the one before it in writeback. Untimed.
 */
function settle(dir: string): void {
  execFileSync('sync', ['-f', dir]);
}

function freeKb(dir: string): number {
  settle(dir);
  const s = fs.statfsSync(dir);
  return (s.bfree * s.bsize) / 1024;
}

async function diskOf(place: Place, original: string, make: () => Promise<unknown>, added: string): Promise<number> {
  if (place.private) {
    const before = freeKb(place.dir);
    await make();
    return Math.max(0, before - freeKb(place.dir));
  }
  await make();
  const out = execFileSync('du', ['-sk', original, added], { encoding: 'utf8' }).trim().split('\n');
  return Number(out[1]?.split('\t')[0] ?? NaN);
}

type WayKey = 'copy' | 'fscp' | 'hardlinks' | 'clone' | 'symlink' | 'ours-shared' | 'ours-own';

/** A way of bringing the checkout's node_modules to a worktree. */
interface Way {
  key: WayKey;
  name: string;
  note: string;
  bring(from: string, to: string): Promise<unknown>;
}

const WAYS: Way[] = [
  { key: 'copy', name: '`cp -r --reflink=never` (a copy)', note: 'private, writable', bring: (from, to) => run('cp', ['-r', '--reflink=never', from, to]) },
  // verbatimSymlinks: without it fs.cp makes npm's relative .bin links absolute, into the checkout.
  { key: 'fscp', name: "Node's `fs.promises.cp` (a copy)", note: 'private, writable', bring: (from, to) => fs.promises.cp(from, to, { recursive: true, verbatimSymlinks: true }) },
  { key: 'hardlinks', name: '`cp -al` (hardlinks)', note: 'a write in place changes the checkout', bring: (from, to) => run('cp', ['-al', from, to]) },
  { key: 'clone', name: '`cp -r --reflink=always` (copy-on-write clone)', note: 'private, writable', bring: (from, to) => run('cp', ['-r', '--reflink=always', from, to]) },
  { key: 'symlink', name: "a symlink to the checkout's", note: 'shared; read-only only where a sandbox makes it so', bring: async (from, to) => fs.symlinkSync(from, to) },
];

interface WayResult {
  key: WayKey;
  name: string;
  note: string;
  times: number[];
  ready: number[];
  kb: number;
  usable: boolean;
  failed?: string;
  how?: string;
}

interface PlaceResult {
  place: Place;
  fsType: string;
  modules: SeededModules;
  checkoutKb: number;
  plain: number[];
  plainWorkers: number[];
  ways: WayResult[];
  served?: ServerResult;
}

/** The repository: the worktree bench's 10,000 files, node_modules and .env ignored and listed in .worktreeinclude. */
function seedRepo(root: string): SeededModules {
  fs.mkdirSync(root, { recursive: true });
  seedWorkedOnRepo(root);
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, stdio: 'ignore' });
  fs.appendFileSync(path.join(root, '.gitignore'), 'node_modules/\n.env\n');
  fs.writeFileSync(path.join(root, '.worktreeinclude'), 'node_modules\n.env\n');
  git('add', '.gitignore', '.worktreeinclude');
  git('commit', '-qm', 'bench: ignore node_modules and .env, bring them into worktrees');
  fs.writeFileSync(path.join(root, '.env'), 'DATABASE_URL=postgres://localhost/dev\nAPI_TOKEN=bench-token\n');
  const modules = seedNodeModules(path.join(root, 'node_modules'));
  // Warm the page cache and the index, as a user's `git status` and last `npm test` would have.
  git('status', '--porcelain');
  duKb(path.join(root, 'node_modules'));
  return modules;
}

async function measurePlace(place: Place, runs: number, server?: Harness): Promise<PlaceResult> {
  const root = path.join(place.dir, 'repo');
  const [tSeed, modules] = await timed(async () => seedRepo(root));
  const nm = path.join(root, 'node_modules');
  const checkoutKb = duKb(nm);
  const fsType = execFileSync('df', ['--output=fstype', root], { encoding: 'utf8' }).trim().split('\n').at(-1)!.trim();
  log(`workenv (${place.label}): seeded in ${(tSeed / 1000).toFixed(1)} s: node_modules ${modules.packages} packages, ${modules.files} files, ${(modules.bytes / 2 ** 20).toFixed(1)} MiB of content, ${(checkoutKb / 1024).toFixed(1)} MiB on disk`);
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, stdio: 'ignore' });
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  const wt = path.join(place.dir, 'worktrees', 'w');
  const plain: number[] = [];
  const plainWorkers: number[] = [];
  const results: WayResult[] = WAYS.map((w) => ({ key: w.key, name: w.name, note: w.note, times: [], ready: [], kb: NaN, usable: false }));
  const ours: WayResult[] = [true, false].map((share) => ({
    key: share ? ('ours-shared' as const) : ('ours-own' as const),
    name: `ours: \`createWorktree\` + \`bringIn\`, share ${share}${share ? ' (a sandboxed job)' : ' (danger-full-access)'}`,
    note: '',
    times: [],
    ready: [],
    kb: NaN,
    usable: false,
  }));
  for (let i = 0; i < runs; i++) {
    // Interleaved, so every way sees the same load on a shared machine.
    settle(root);
    plain.push((await timed(async () => git('worktree', 'add', '--quiet', '--detach', wt, 'HEAD')))[0]);
    git('worktree', 'remove', '--force', wt);
    settle(root);
    const [tAdd] = await timed(async () => git('-c', 'checkout.workers=4', 'worktree', 'add', '--quiet', '--detach', wt, 'HEAD'));
    plainWorkers.push(tAdd);
    for (const [k, way] of WAYS.entries()) {
      const r = results[k]!;
      if (r.failed) continue;
      const to = path.join(wt, 'node_modules');
      settle(root);
      try {
        let t = 0;
        const kb = await diskOf(place, nm, async () => (t = (await timed(() => way.bring(nm, to)))[0]), to);
        r.times.push(t);
        r.ready.push(tAdd + t);
        if (i === 0) {
          r.kb = kb;
          r.usable = await usable(wt, modules.probes);
        }
      } catch (e) {
        // cp names each file it could not clone: the first reason is the one to show.
        r.failed = /failed to clone '[^']*' from '[^']*': (.+?)(?: cp: |$)/.exec((e as Error).message)?.[1] ?? (e as Error).message;
        log(`workenv (${place.label}): ${way.name} failed: ${r.failed}`);
      }
      fs.rmSync(to, { recursive: true, force: true });
    }
    git('worktree', 'remove', '--force', wt);
    for (const [k, share] of [true, false].entries()) {
      const r = ours[k]!;
      const spec = { repo: root, path: wt, branch: 'codex/workenv-bench' };
      let brought: BroughtIn | undefined;
      settle(root);
      const [tCreate] = await timed(() => createWorktree(spec, head));
      const kb = await diskOf(
        place,
        nm,
        async () => {
          const [tBring, b] = await timed(() => bringIn({ repo: root, worktree: wt, patterns: includePatterns(root), share }));
          r.times.push(tBring);
          r.ready.push(tCreate + tBring);
          brought = b;
        },
        path.join(wt, 'node_modules'),
      );
      if (i === 0) {
        r.kb = kb;
        r.usable = (await usable(wt, modules.probes)) && fs.existsSync(path.join(wt, '.env'));
        r.how = brought!.entries.map((e) => `${e.path}: ${e.how}`).join(', ');
      }
      await removeWorktree(spec);
    }
  }
  // The worktree's own files, for the disk figure of a plain add.
  log(`workenv (${place.label}): plain add p50 ${p50(plain).toFixed(0)} ms, with 4 checkout workers ${p50(plainWorkers).toFixed(0)} ms`);
  for (const r of [...results, ...ours]) {
    log(`workenv (${place.label}): ${r.name}: ${r.failed ? `failed (${r.failed})` : `bring ${p50(r.times).toFixed(0)} ms, ready ${p50(r.ready).toFixed(0)} ms = ${(p50(r.ready) / p50(plain)).toFixed(2)}× plain, disk ${r.kb.toFixed(0)} KiB (${((r.kb / checkoutKb) * 100).toFixed(1)} %), usable ${r.usable}${r.how ? `, ${r.how}` : ''}`}`);
  }
  const served = server ? await throughServer(server, root, runs) : undefined;
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(path.join(place.dir, 'worktrees'), { recursive: true, force: true });
  return { place, fsType, modules, checkoutKb, plain, plainWorkers, ways: [...results, ...ours], served };
}

interface ServerResult {
  with: number[];
  without: number[];
  how: string;
}

const SLEEPY = path.join(ROOT, 'bench/fixtures/sleepy-codex.sh');

/**
 * Through the server with the stand-in codex (the server's own cost): codex_start with isolation
 * "worktree" (read-only sandbox, the default) on the repository, with its .worktreeinclude and with
 * it moved aside, alternating; from the call to the job's worktree ready (its workspace no longer
 * "preparing"), as the worktree bench measures it.
 */
async function throughServer(h: Harness, root: string, runs: number): Promise<ServerResult> {
  const conn = await h.connect({ CODEX_BIN: SLEEPY, CODEX_ASYNC_MAX_CONCURRENT: '1' });
  const result: ServerResult = { with: [], without: [], how: '' };
  const include = path.join(root, '.worktreeinclude');
  try {
    for (let i = 0; i < runs; i++) {
      for (const withInclude of [true, false]) {
        if (!withInclude) fs.renameSync(include, `${include}.aside`);
        try {
          const began = performance.now();
          const { job_id } = await conn.call('codex_start', { prompt: `workenv bench ${i}`, cwd: root, isolation: 'worktree' });
          let snap: any;
          for (;;) {
            snap = await conn.call('codex_poll', { job_id, tail_lines: 0 });
            if (snap.workspace.state !== 'preparing') break;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          (withInclude ? result.with : result.without).push(performance.now() - began);
          const done = await waitFinal(conn, job_id);
          if (done.status !== 'completed') throw new Error(`workenv bench: job ${job_id} ${done.status}: ${JSON.stringify(done.error)}`);
          if (withInclude) result.how = (done.workspace.brought_in?.entries ?? []).map((e: { path: string; how: string }) => `${e.path}: ${e.how}`).join(', ') || 'nothing brought in';
          await conn.call('codex_discard', { job_id });
        } finally {
          if (!withInclude) fs.renameSync(`${include}.aside`, include);
        }
      }
    }
  } finally {
    await conn.close();
  }
  log(`workenv through the server: worktree ready p50 ${p50(result.with).toFixed(0)} ms with .worktreeinclude (${result.how}), ${p50(result.without).toFixed(0)} ms without`);
  return result;
}

/**
 * A private XFS file system with reflinks, on a sparse image file on a loop device, for the
 * measurements this machine's ext4 cannot make. Needs root and xfsprogs; null and the reason otherwise.
 */
function privateXfs(): { place: Place; close(): void } | { reason: string } {
  if (process.getuid?.() !== 0) return { reason: 'not root (a loop mount needs root)' };
  try {
    execFileSync('mkfs.xfs', ['-V'], { stdio: 'ignore' });
  } catch {
    return { reason: 'mkfs.xfs is not installed (Debian: xfsprogs)' };
  }
  const dir = tempDir('workenv-xfs');
  const image = path.join(dir, 'xfs.img');
  const mnt = path.join(dir, 'mnt');
  fs.mkdirSync(mnt);
  try {
    fs.writeFileSync(image, '');
    fs.truncateSync(image, 3 * 2 ** 30);
    execFileSync('mkfs.xfs', ['-q', '-m', 'reflink=1', image], { stdio: 'pipe' });
    execFileSync('mount', ['-o', 'loop', image, mnt], { stdio: 'pipe' });
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    return { reason: `could not make and loop-mount an XFS image: ${String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim()}` };
  }
  return {
    place: { label: 'XFS image (reflink=1) on a loop device', dir: mnt, private: true },
    close() {
      try {
        execFileSync('umount', [mnt], { stdio: 'ignore' });
      } catch {
        // Busy (a process still in it): detach it now, the kernel frees it when the last user goes.
        execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Setup: `npm ci` for a lockfile of ~200 packages, offline.

interface Registry {
  url: string;
  requests: number;
  close(): Promise<void>;
}

/**
 * `count` packages as tarballs (made with tar, as `npm pack` lays them out: a `package/` folder),
 * served by a loopback registry: a packument per name, the tarballs under /-/. The first `top`
 * are the app's dependencies, each depending on its share of the rest.
 */
async function startRegistry(dir: string, count = 200, top = 20): Promise<Registry & { top: string[] }> {
  const rand = prng(2100);
  const names = Array.from({ length: count }, (_, i) => (i % 10 === 9 ? `@bench/dep-${i}` : `dep-${i}`));
  const perTop = Math.floor((count - top) / top);
  const tarballs = new Map<string, Buffer>();
  const packuments = new Map<string, (base: string) => unknown>();
  for (const [i, name] of names.entries()) {
    const src = path.join(dir, 'src', String(i), 'package');
    const dependencies = i < top ? Object.fromEntries(names.slice(top + i * perTop, top + (i + 1) * perTop).map((d) => [d, '^1.0.0'])) : {};
    const files: Record<string, string> = {
      'package.json': `${JSON.stringify({ name, version: '1.0.0', main: 'index.js', license: 'MIT', dependencies }, null, 2)}\n`,
      'index.js': `'use strict';\nmodule.exports = { name: ${JSON.stringify(name)}, lib: require('./lib/a.js') };\n`,
      'README.md': `# ${name}\n\n${jsText(rand, 1000 + rand() * 2000, 'readme')}`,
      'lib/a.js': jsText(rand, 500 + rand() * 8000, `${name} a`),
      'lib/b.js': jsText(rand, 500 + rand() * 8000, `${name} b`),
    };
    for (const [rel, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(src, rel)), { recursive: true });
      fs.writeFileSync(path.join(src, rel), text);
    }
    const file = `${name.replace('/', '-').replace('@', '')}-1.0.0.tgz`;
    const tgz = path.join(dir, file);
    execFileSync('tar', ['-czf', tgz, '--owner=0', '--group=0', '--mtime=1985-10-26', '-C', path.dirname(src), 'package']);
    const body = fs.readFileSync(tgz);
    tarballs.set(`/${name}/-/${file}`, body);
    const integrity = `sha512-${crypto.createHash('sha512').update(body).digest('base64')}`;
    const shasum = crypto.createHash('sha1').update(body).digest('hex');
    packuments.set(`/${name}`, (base) => ({
      name,
      'dist-tags': { latest: '1.0.0' },
      versions: { '1.0.0': { name, version: '1.0.0', main: 'index.js', dependencies, dist: { tarball: `${base}/${name}/-/${file}`, integrity, shasum } } },
    }));
  }
  let base = '';
  const registry = {
    url: '',
    requests: 0,
    top: names.slice(0, top),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((req, res) => {
    registry.requests++;
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    const tarball = tarballs.get(url);
    const packument = packuments.get(url);
    if (tarball) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': tarball.length });
      res.end(tarball);
    } else if (packument) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(packument(base)));
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"not found"}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  registry.url = `${base}/`;
  return registry;
}

interface SetupResult {
  packages: number;
  files: number;
  kb: number;
  cold: number[];
  warm: number[];
  sibling: number[];
  offlineCold: string;
  warmRequests: number;
  usable: boolean;
}

/**
 * An app whose package.json names 20 dependencies (200 packages with theirs), its lockfile made
 * by a first `npm install` against the loopback registry, which also fills the warm cache. Then,
 * in a worktree of it, per run: `npm ci` with an empty cache (every tarball from the registry:
 * loopback, so a real network only adds to it), `npm ci --offline` from the warm cache, and
 * `cp -r` of a sibling worktree's node_modules, the reuse a cache keyed by the lockfile would give.
 */
async function measureSetup(dir: string, runs: number): Promise<SetupResult> {
  const registry = await startRegistry(path.join(dir, 'registry'));
  try {
    const home = path.join(dir, 'home');
    fs.mkdirSync(home);
    fs.writeFileSync(path.join(home, '.npmrc'), '');
    const warmCache = path.join(dir, 'npm-cache');
    // A clean environment: `npm run bench` passes npm_config_* of its own, and the user's ~/.npmrc is no part of this.
    const npmEnv = (cache: string): Record<string, string> => ({
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      npm_config_cache: cache,
      npm_config_registry: registry.url,
      npm_config_userconfig: path.join(home, '.npmrc'),
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
      npm_config_loglevel: 'error',
    });
    const app = path.join(dir, 'app');
    fs.mkdirSync(app);
    const git = (...args: string[]) => execFileSync('git', args, { cwd: app, stdio: 'ignore' });
    git('init', '-q', '-b', 'main');
    git('config', 'user.name', 'Bench');
    git('config', 'user.email', 'bench@localhost');
    fs.writeFileSync(path.join(app, 'package.json'), `${JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: Object.fromEntries(registry.top.map((n) => [n, '^1.0.0'])) }, null, 2)}\n`);
    fs.writeFileSync(path.join(app, '.gitignore'), 'node_modules/\n');
    await run('npm', ['install'], { cwd: app, env: npmEnv(warmCache) });
    git('add', '-A');
    git('commit', '-qm', 'app with a lockfile');
    const lock = JSON.parse(fs.readFileSync(path.join(app, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
    const packages = Object.keys(lock.packages).filter((k) => k !== '').length;
    const wt = path.join(dir, 'wt');
    const sibling = path.join(dir, 'sibling');
    git('worktree', 'add', '--quiet', '--detach', wt, 'HEAD');
    git('worktree', 'add', '--quiet', '--detach', sibling, 'HEAD');
    await run('npm', ['ci', '--offline'], { cwd: sibling, env: npmEnv(warmCache) });
    const nm = path.join(wt, 'node_modules');
    const probe = async () => (await runProcess(process.execPath, ['-e', `require(${JSON.stringify(registry.top[0])}); require(${JSON.stringify(registry.top[9])})`], { PATH: process.env.PATH ?? '' }, { cwd: wt })).code === 0;

    // Offline with nothing cached: what --offline means, and why the warm cache is needed.
    const emptyCache = tempDir('workenv-npm-empty');
    const offlineCold = await run('npm', ['ci', '--offline'], { cwd: wt, env: npmEnv(emptyCache) }).then(
      () => 'succeeded',
      (e: Error) => (/ENOTCACHED/.test(e.message) ? 'fails: ENOTCACHED (nothing in the cache, no network allowed)' : `fails: ${e.message.slice(0, 160)}`),
    );
    fs.rmSync(emptyCache, { recursive: true, force: true });
    fs.rmSync(nm, { recursive: true, force: true });

    const cold: number[] = [];
    const warm: number[] = [];
    const copied: number[] = [];
    let warmRequests = 0;
    let ok = true;
    for (let i = 0; i < runs; i++) {
      const cache = tempDir('workenv-npm-cold');
      cold.push((await timed(() => run('npm', ['ci'], { cwd: wt, env: npmEnv(cache) })))[0]);
      ok &&= await probe();
      fs.rmSync(cache, { recursive: true, force: true });
      fs.rmSync(nm, { recursive: true, force: true });
      const before = registry.requests;
      warm.push((await timed(() => run('npm', ['ci', '--offline'], { cwd: wt, env: npmEnv(warmCache) })))[0]);
      warmRequests += registry.requests - before;
      ok &&= await probe();
      fs.rmSync(nm, { recursive: true, force: true });
      copied.push((await timed(() => run('cp', ['-r', '--reflink=never', path.join(sibling, 'node_modules'), nm])))[0]);
      ok &&= await probe();
      fs.rmSync(nm, { recursive: true, force: true });
    }
    const files = Number(execFileSync('sh', ['-c', 'find node_modules -type f | wc -l'], { cwd: sibling, encoding: 'utf8' }).trim());
    const kb = duKb(path.join(sibling, 'node_modules'));
    log(`workenv setup: ${packages} packages (${files} files, ${kb} KiB): npm ci cold cache p50 ${p50(cold).toFixed(0)} ms, --offline warm cache ${p50(warm).toFixed(0)} ms (${warmRequests} registry requests), cp -r of a sibling's ${p50(copied).toFixed(0)} ms; offline with an empty cache ${offlineCold}`);
    return { packages, files, kb, cold, warm, sibling: copied, offlineCold, warmRequests, usable: ok };
  } finally {
    await registry.close();
  }
}

// ---------------------------------------------------------------------------------------------

export async function workenvBench(h: Harness, opts: { runs?: number } = {}): Promise<string[]> {
  const runs = opts.runs ?? 3;
  const loadAtStart = os.loadavg();
  const began = Date.now();
  const places: PlaceResult[] = [];
  const dir = tempDir('workenv');
  let xfsReason = '';
  try {
    places.push(await measurePlace({ label: "this machine's file system", dir, private: false }, runs, h));
    const xfs = privateXfs();
    if ('reason' in xfs) {
      xfsReason = xfs.reason;
      log(`workenv: XFS not measured: ${xfs.reason}`);
    } else {
      // Interrupted (Ctrl-C), the mount would outlive the bench.
      const interrupted = () => {
        xfs.close();
        process.exit(130);
      };
      process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
      try {
        places.push(await measurePlace(xfs.place, runs));
      } finally {
        process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
        xfs.close();
      }
    }
    const setupDir = path.join(dir, 'setup');
    fs.mkdirSync(setupDir);
    const setup = await measureSetup(setupDir, runs);
    const loadAtEnd = os.loadavg();
    return report({ runs, places, setup, xfsReason, loadAtStart, loadAtEnd, minutes: (Date.now() - began) / 60000 });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function report(o: { runs: number; places: PlaceResult[]; setup: SetupResult; xfsReason: string; loadAtStart: number[]; loadAtEnd: number[]; minutes: number }): string[] {
  const avg = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');
  const command = `npm run bench -- --only workenv${process.argv.includes('--runs') ? ` --runs ${o.runs}` : ''}`;
  const first = o.places[0]!;
  const m = first.modules;
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 10)} with \`${command}\` (${o.minutes.toFixed(1)} min) on ${os.cpus().length} cores shared with other work:`,
    `load average (1 / 5 / 15 min) ${avg(o.loadAtStart)} at the start, ${avg(o.loadAtEnd)} at the end. The repository is the worktree`,
    `bench's (10,000 tracked files, worked on) with an ignored, generated \`node_modules\` of ${m.packages} packages — package.json,`,
    `README, LICENSE, index.js, index.d.ts and lib/dist files each; scoped and nested ones; npm's relative \`.bin\` links —`,
    `${m.files.toLocaleString('en')} files, ${(m.bytes / 2 ** 20).toFixed(0)} MiB of content (${(first.checkoutKb / 1024).toFixed(0)} MiB on disk), and an ignored \`.env\`; both listed in \`.worktreeinclude\`.`,
    `${o.runs} runs, interleaved, p50 (min–max). **Ready** is the worktree made (\`git worktree add\` with the 4 checkout workers`,
    `\`createWorktree\` uses) plus node_modules brought in, as a ratio to a plain \`git worktree add\` (git's default single`,
    `checkout worker, what a user types); **disk** is what the worktree's node_modules takes beyond the checkout's: on`,
    `this machine's file system \`du\` of both in one call (a hardlinked file counted once), on the private XFS image the`,
    `file system's free blocks before and after (which also sees blocks a clone shares, where \`du\` cannot). **Usable**: from`,
    'the worktree, node `require`s a plain, a scoped and a nested package, and a `.bin` link leads to its file (for ours, `.env`',
    `is there too). Goal: ready ≤ ${READY_GOAL}× plain with node_modules usable; disk ≤ ${DISK_GOAL * 100} % of the checkout's node_modules when shared or cloned.`,
    '',
  ];
  for (const pr of o.places) {
    const plain = p50(pr.plain);
    lines.push(
      `**${pr.place.label}** (\`${pr.fsType}\`): plain \`git worktree add\` ${ms(pr.plain)}; with 4 checkout workers ${ms(pr.plainWorkers)}.`,
      `The checkout's node_modules: ${(pr.checkoutKb / 1024).toFixed(1)} MiB on disk.`,
      '',
      '| way of bringing node_modules in | bring in | ready | × plain add (× with 4 workers) | disk KiB (% of the checkout\'s) | usable | goal: ready / disk | notes |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const r of pr.ways) {
      if (r.failed) {
        const why = /not supported/i.test(r.failed) ? `not supported (${pr.fsType})` : `failed: ${r.failed.slice(0, 120)}`;
        lines.push(`| ${r.name} | ${why} | — | — | — | — | — | |`);
        continue;
      }
      const ratio = p50(r.ready) / plain;
      const share = r.kb / pr.checkoutKb;
      const readyOk = ratio <= READY_GOAL && r.usable;
      lines.push(
        `| ${r.name} | ${ms(r.times)} | ${ms(r.ready)} | ${ratio.toFixed(2)}× (${(p50(r.ready) / p50(pr.plainWorkers)).toFixed(2)}×) | ${r.kb.toFixed(0)} (${(share * 100).toFixed(1)} %) | ${r.usable ? '✓' : '✗'} | ${readyOk ? '✓' : '✗'} / ${share <= DISK_GOAL ? '✓' : '✗'} | ${[r.how, r.note].filter(Boolean).join('; ')} |`,
      );
    }
    if (pr.served) {
      const sv = pr.served;
      lines.push(
        `| through the server: codex_start (isolation worktree, read-only) → the job's worktree ready, with \`.worktreeinclude\` / without | — | ${ms(sv.with)} / ${ms(sv.without)} | ${(p50(sv.with) / plain).toFixed(2)}× with / ${(p50(sv.without) / plain).toFixed(2)}× without | as ours, share true | | ${p50(sv.with) / plain <= READY_GOAL ? '✓' : '✗'} / — | ${sv.how}; includes the snapshot of the user's uncommitted work |`,
      );
    }
    lines.push('');
  }
  if (o.xfsReason) lines.push(`Not measured on XFS or btrfs: ${o.xfsReason}.`, '');
  else lines.push('The XFS image is made by the bench (`mkfs.xfs -m reflink=1` on a 3 GiB sparse file, mounted with `mount -o loop`): it needs root and xfsprogs; without them the section says so.', '');
  const s = o.setup;
  const cold = p50(s.cold);
  lines.push(
    `**Setup: \`npm ci\`** in a worktree of an app whose lockfile holds ${s.packages} packages (${s.files.toLocaleString('en')} files, ${(s.kb / 1024).toFixed(1)} MiB installed),`,
    `on this machine's file system. The registry is a loopback HTTP server in the bench serving tarballs made with \`tar\`, so`,
    `the cold figure is a floor: a real registry over a network only adds to it. A fresh npm cache (\`npm_config_cache\`) for`,
    `each cold run; the warm cache is the one the first \`npm install\` filled. \`npm ci --offline\` with an empty cache ${s.offlineCold};`,
    `from the warm cache it made ${s.warmRequests} requests to the registry in ${o.runs} runs. node_modules usable after each: ${s.usable ? '✓' : '✗'}.`,
    '',
    '| setup | time | ratio to a cold `npm ci` |',
    '|---|---|---|',
    `| \`npm ci\`, cold cache (every tarball from the loopback registry) | ${ms(s.cold)} | 1.00× |`,
    `| \`npm ci --offline\`, warm cache | ${ms(s.warm)} | ${(p50(s.warm) / cold).toFixed(2)}× |`,
    `| \`cp -r\` of the node_modules a sibling attempt's setup made (a cache keyed by the lockfile's hash) | ${ms(s.sibling)} | ${(p50(s.sibling) / cold).toFixed(2)}× |`,
    '',
    ...meaning(o.places, s),
    '',
  );
  return lines;
}

/** What the figures say, per case, with the figures of this run. */
function meaning(places: PlaceResult[], s: SetupResult): string[] {
  const at = (pr: PlaceResult, key: WayKey) => pr.ways.find((w) => w.key === key)!;
  const x = (pr: PlaceResult, key: WayKey) => `${(p50(at(pr, key).ready) / p50(pr.plain)).toFixed(2)}×`;
  const pct = (pr: PlaceResult, key: WayKey) => `${((at(pr, key).kb / pr.checkoutKb) * 100).toFixed(1)} %`;
  const bring = (pr: PlaceResult, key: WayKey) => `${p50(at(pr, key).times).toFixed(0)} ms`;
  const ext = places.find((pr) => !pr.place.private)!;
  const ratio = (pr: PlaceResult, key: WayKey) => p50(at(pr, key).ready) / p50(pr.plain);
  const out = [
    '**What it means.**',
    '',
    `- **No copy-on-write (${ext.fsType}, most Linux machines).** Of the ways that keep the checkout safe, ${ratio(ext, 'symlink') <= READY_GOAL ? 'only the link meets' : 'none meets, the link comes closest to'} the`,
    `  ready goal: the symlink is ${x(ext, 'symlink')} of a plain add (all of it the worktree's own checkout, with 4 workers) and takes no disk.`,
    `  Every copy is a full one: \`cp -r\` ${x(ext, 'copy')}, Node's \`fs.cp\` ${x(ext, 'fscp')}, both 100 % of the disk per worktree. Hardlinks`,
    `  (${x(ext, 'hardlinks')}, ${pct(ext, 'hardlinks')} of the disk: the directories) would ${ratio(ext, 'hardlinks') <= READY_GOAL ? 'meet both goals' : 'meet the disk goal'}, but a job's write in place (\`>>\`,`,
    '  `npm rebuild`, an editor that does not replace) would change the checkout\'s file: ruled out. So here a sandboxed job',
    `  is given a link (the sandbox keeps its target read-only) and a job without a sandbox a copy. Ours follows that rule:`,
    `  linked ${x(ext, 'ours-shared')} (${pct(ext, 'ours-shared')} disk: ${ratio(ext, 'ours-shared') <= READY_GOAL ? 'both goals met' : 'the disk goal met'}), copied ${x(ext, 'ours-own')} (neither goal: a full copy is the price of no sandbox).`,
    `  \`bringIn\`'s own time when it links is ${bring(ext, 'ours-shared')} (the symlink itself: ${bring(ext, 'symlink')}): git listing the ignored paths`,
    '  the patterns name, and a look at the directory\'s first thousand entries to judge it large. Its copy (a `copyFile`',
    `  per file, 32 at a time, off the event loop so the server keeps answering) takes ${bring(ext, 'ours-own')}, \`cp -r\` ${bring(ext, 'copy')}.`,
  ];
  if (ext.served) {
    out.push(
      `  Through the server, \`.worktreeinclude\` adds ${(p50(ext.served.with) - p50(ext.served.without)).toFixed(0)} ms to a job's worktree being ready (${ms(ext.served.with)} against`,
      `  ${ms(ext.served.without)}); the job shows "preparing its worktree" meanwhile, and codex_start does not wait for it.`,
      "  That path also holds the snapshot of the user's uncommitted work and the server's own steps (see the worktree",
      '  section), so its baseline is the row without `.worktreeinclude`, not the plain add.',
    );
  }
  const xfs = places.find((pr) => pr.place.private);
  if (xfs) {
    out.push(
      `- **Copy-on-write (XFS, reflink).** A clone is private and writable and shares the data: \`cp --reflink=always\` ${x(xfs, 'clone')},`,
      `  ${pct(xfs, 'clone')} of the disk (directories and inodes; the data blocks are shared): the disk goal met, the ready goal not, as`,
      `  cloning still creates each of the 20,000 files (${bring(xfs, 'clone')}) against a plain add of ${p50(xfs.plain).toFixed(0)} ms on this image. Ours clones there`,
      `  whatever \`share\` says: ${x(xfs, 'ours-shared')} / ${x(xfs, 'ours-own')}, ${pct(xfs, 'ours-own')} of the disk; \`bringIn\` takes ${bring(xfs, 'ours-own')} where \`cp --reflink=always\` takes`,
      `  ${bring(xfs, 'clone')} (one \`cp --reflink=always\`, then a walk that points links into the checkout at the worktree and counts the files). For a sandboxed job the link would`,
      `  ${ratio(xfs, 'symlink') <= READY_GOAL ? 'meet the ready goal here too' : 'still be the fastest here'} (${x(xfs, 'symlink')}); the clone buys a node_modules the job can write, at ${bring(xfs, 'clone')}–${bring(xfs, 'ours-own')} per 20,000 files.`,
      `  Node's \`fs.cp\` clones on this kernel as well (copy_file_range shares extents on XFS: ${pct(xfs, 'fscp')} of the disk), where`,
      `  \`cp --reflink=never\` does not (${pct(xfs, 'copy')}). The image is a sparse file on this machine's ext4 through a loop device, its`,
      '  writes held in the page cache: compare ratios within a table, not times across tables.',
    );
  }
  const warm = p50(s.warm);
  const sib = p50(s.sibling);
  out.push(
    `- **Setup.** \`npm ci --offline\` from a warm cache takes ${(warm / p50(s.cold)).toFixed(2)}× the time of a cold one (whose registry is on loopback): npm's`,
    `  own cache, shared by all attempts, already saves most of the install and needs no key of ours. Copying the`,
    `  node_modules a sibling's setup made is ${(sib / warm).toFixed(2)}× the warm \`npm ci\` (${(warm - sib).toFixed(0)} ms less per attempt for ${s.packages} packages): it pays`,
    '  per attempt, but it is a full copy (the disk of a node_modules per attempt where nothing clones), and such a cache',
    "  must be keyed by the lockfile's hash and the Node version (native modules) and cleaned up; a setup that does more",
    '  than install (codegen, a build) is not covered by it.',
  );
  return out;
}
