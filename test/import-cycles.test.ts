import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { ROOT } from './helpers/harness.ts';

// Each layer imports only what is below it (docs/ARCHITECTURE.md): a circle of imports means one
// layer reaches up. Type-only imports count too; they tie the modules together just the same.

const SRC = path.join(ROOT, 'src');
const IMPORT = /(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\sfrom\s+)?['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

function importsOf(file: string): string[] {
  const found = new Set<string>();
  for (const m of fs.readFileSync(file, 'utf8').matchAll(IMPORT)) {
    const target = path.resolve(path.dirname(file), m[1] ?? m[2]!).replace(/\.js$/, '.ts');
    if (fs.existsSync(target)) found.add(target);
  }
  return [...found];
}

/** One circle of imports per module that starts one, as a path back to it. */
function circles(files: string[]): string[][] {
  const graph = new Map(files.map((f) => [f, importsOf(f)]));
  const done = new Set<string>();
  const found: string[][] = [];
  const walk = (file: string, trail: string[]) => {
    const at = trail.indexOf(file);
    if (at >= 0) return void found.push([...trail.slice(at), file]);
    if (done.has(file)) return;
    for (const next of graph.get(file) ?? []) walk(next, [...trail, file]);
    done.add(file);
  };
  for (const file of files) walk(file, []);
  return found;
}

it('no module of src/ imports itself through others', () => {
  const files = fs.readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => path.join(SRC, f));
  assert.ok(files.length > 50, `only ${files.length} modules found under ${SRC}`);
  const names = circles(files).map((c) => c.map((f) => path.relative(SRC, f)).join(' → '));
  assert.deepEqual(names, []);
});
