// 10,000 deterministic mutations (seeded PRNG) of the nft corpus texts:
// parseNftText never throws and never fails internally, every diagnostic
// points at a real line and column, and whatever it returns prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseNftText, printNftRuleset } from '../../src/netfilter/nftables/index.ts';
import { CORPUS, corpusAvailable } from '../support/paths.ts';

const MUTATIONS = 10_000;

/** mulberry32: small, seeded, reproducible. */
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

const INLINE_SEEDS = [
  'table inet t {\n\tset s {\n\t\ttype ipv4_addr . inet_service\n\t\tflags interval\n\t\telements = { 192.0.2.0/24 . 80, 198.51.100.1 . 1-1024 }\n\t}\n\tchain c {\n\t\ttype filter hook input priority filter + 10; policy drop;\n\t\tip saddr . tcp dport @s counter packets 1 bytes 2 accept comment "x"\n\t\ttcp flags syn jump { ct state new log prefix "n " accept }\n\t\tdnat ip to [2001:db8::1]:80\n\t}\n}\n',
  'define P = { 22, 80 }\nadd table ip k { comment "k" ; }\nadd chain ip k c { type nat hook prerouting priority dstnat - 10 ; }\nadd rule ip k c tcp dport $P dnat to numgen inc mod 2 map { 0 : 192.0.2.1, \\\n 1 : 192.0.2.2 }\n',
];

const TOKENS = ['{', '}', '(', ')', '[', ']', ';', ',', ':', '.', '-', '/', '@', '$', '$P', '#', '# handle 7', '"', '\\', '\n', ' ', '\t', '==', '!=', '&', '|', 'jump', 'goto', 'map', 'vmap', 'set', 'type', 'hook', 'priority', 'policy', 'elements', '=', 'table', 'chain', 'add', 'ct', 'meta', 'ip', 'tcp', 'dport', 'counter', 'limit rate', 'dnat to', 'timeout', '1-', '::', '0x', '999999999999999999999', 'define', 'include'];

function mutate(text: string, rnd: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  let s = text;
  const n = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(rnd() * (s.length + 1));
    const len = Math.floor(rnd() * 40);
    switch (Math.floor(rnd() * 6)) {
      case 0:
        s = s.slice(0, at) + s.slice(at + len); // delete a span
        break;
      case 1:
        s = s.slice(0, at) + pick(TOKENS) + s.slice(at); // insert a token
        break;
      case 2:
        s = s.slice(0, at) + s.slice(at, at + len) + s.slice(at); // duplicate a span
        break;
      case 3: {
        const lines = s.split('\n'); // swap two lines
        const i = Math.floor(rnd() * lines.length);
        const j = Math.floor(rnd() * lines.length);
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        s = lines.join('\n');
        break;
      }
      case 4:
        s = s.slice(0, at); // truncate
        break;
      default:
        s = s.slice(0, at) + String.fromCharCode(32 + Math.floor(rnd() * 95)) + s.slice(at + 1); // replace a character
    }
  }
  return s;
}

function seeds(): string[] {
  const out = [...INLINE_SEEDS];
  if (corpusAvailable()) {
    const dir = join(CORPUS, 'nft');
    for (const f of readdirSync(dir).sort()) {
      // small files whole, big ones in windows: keeps the run at a few seconds
      const lines = readFileSync(join(dir, f), 'utf8').split('\n');
      if (lines.length <= 150) out.push(lines.join('\n'));
      else for (let i = 0; i < lines.length; i += 80) out.push(lines.slice(i, i + 100).join('\n'));
    }
  }
  return out;
}

test(`fuzz: ${MUTATIONS} mutated rulesets never crash the parser and every diagnostic has a line and column`, () => {
  const rnd = prng(0x5eed13);
  const base = seeds();
  let withErrors = 0;
  let withUnknown = 0;
  for (let i = 0; i < MUTATIONS; i++) {
    const text = mutate(base[i % base.length]!, rnd);
    const r = parseNftText(text);
    const lines = text.split('\n').length;
    for (const d of r.diagnostics) {
      assert.ok(d.code !== 'internal', `mutation ${i}: internal parser failure ${d.message}\n${text}`);
      assert.ok(Number.isInteger(d.line) && d.line >= 1 && d.line <= lines, `mutation ${i}: bad line ${JSON.stringify(d)}`);
      assert.ok(Number.isInteger(d.column) && d.column >= 1, `mutation ${i}: bad column ${JSON.stringify(d)}`);
    }
    assert.equal(typeof printNftRuleset(r.ruleset), 'string');
    if (r.diagnostics.some((d) => d.severity === 'error')) withErrors++;
    if (r.diagnostics.some((d) => d.code === 'unknown-syntax')) withUnknown++;
  }
  // the mutations really do break things (the test would be vacuous otherwise)
  assert.ok(withErrors > MUTATIONS / 4, `only ${withErrors} mutations gave an error`);
  console.log(`fuzz: ${MUTATIONS} mutations of ${base.length} seeds; ${withErrors} with errors, ${withUnknown} with unknown statements`);
});
