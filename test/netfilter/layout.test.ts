// The source keeps its shape: no import cycles anywhere in src/ (type-only
// imports included), and files of the core under ~600 lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { REPO_ROOT } from '../support/paths.ts';

const SRC = join(REPO_ROOT, 'src');
const files = (d: string): string[] =>
  readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? (e.name === 'generated' ? [] : files(join(d, e.name))) : e.name.endsWith('.ts') ? [join(d, e.name)] : []));

test('no import cycles in src/', () => {
  const all = files(SRC);
  const graph = new Map<string, string[]>();
  for (const f of all) {
    const deps = [...readFileSync(f, 'utf8').matchAll(/^\s*(?:import|export)[^'"]*from\s+['"](\.[^'"]+)['"]/gm)].map((m) => resolve(dirname(f), m[1]!));
    graph.set(f, deps);
  }
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const cycles: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 1);
    stack.push(n);
    for (const d of graph.get(n) ?? []) {
      if (state.get(d) === 1) cycles.push([...stack.slice(stack.indexOf(d)), d].map((x) => relative(SRC, x)).join(' -> '));
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(n, 2);
  };
  for (const f of all) if (!state.has(f)) visit(f);
  assert.deepEqual(cycles, []);
});

const TOO_LONG_KNOWN = new Set<string>();

test('files of the core stay under 600 lines', () => {
  const long = files(join(SRC, 'netfilter'))
    .map((f) => ({ f: relative(SRC, f), n: readFileSync(f, 'utf8').split('\n').length }))
    .filter((x) => x.n > 600 && !TOO_LONG_KNOWN.has(x.f));
  assert.deepEqual(long, []);
});

test('the two rule languages do not import each other; the pipeline and analysis use both', () => {
  const bad: string[] = [];
  for (const [lang, other] of [['iptables', 'nftables'], ['nftables', 'iptables']] as const) {
    for (const f of files(join(SRC, 'netfilter', lang))) {
      for (const m of readFileSync(f, 'utf8').matchAll(/from\s+['"](\.[^'"]+)['"]/g)) {
        if (resolve(dirname(f), m[1]!).includes(`/netfilter/${other}/`)) bad.push(`${relative(SRC, f)} imports ${m[1]}`);
      }
    }
  }
  assert.deepEqual(bad, []);
});
