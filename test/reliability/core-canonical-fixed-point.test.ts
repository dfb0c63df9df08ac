// Canonical text is a fixed point: uploading a version's own canonical text
// gives the same version (same sha256), for well-formed dumps and for the
// malformed ones a fuzzer makes out of them (deterministic mutations of the
// fixtures and, when ../shared is beside the checkout, the corpus).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { prepareDump } from '../../src/store/ingest.ts';
import { CORPUS, corpusAvailable, FIXTURES } from '../support/paths.ts';

function dumpsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...dumpsUnder(p));
    else if (/\.txt$/.test(e.name) && !/README/.test(e.name)) out.push(p);
  }
  return out.sort();
}

/** A small deterministic PRNG (LCG) seeded by a name, so every run, in any checkout, mutates the same way. */
function random(name: string, salt = 1): () => number {
  let s = salt;
  for (let i = 0; i < name.length; i++) s = (s * 31 + name.charCodeAt(i)) & 0x7fffffff;
  return () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}

const WORDS = ['-', 'DROP', 'ACCEPT', 'FOO', '[0:0]', '-j', '-m', 'tcp', '!', '--dport', '80', ':X', '*nat', 'COMMIT', '-N', '-P', '-A', ':INPUT', '"a b"', '-g', 'RETURN', '0x1/0x1', "'q'", '""'];

function mutate(text: string, rnd: () => number): string {
  const lines = text.split('\n');
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) {
    const i = Math.floor(rnd() * lines.length);
    const words = lines[i]!.split(' ');
    switch (Math.floor(rnd() * 5)) {
      case 0: words.splice(Math.floor(rnd() * words.length), 1); break;
      case 1: words.splice(Math.floor(rnd() * (words.length + 1)), 0, pick(WORDS)); break;
      case 2: words[Math.floor(rnd() * words.length)] = pick(WORDS); break;
      case 3: lines.splice(i, 1); continue;
      default: lines.splice(i, 0, pick(lines)); continue;
    }
    lines[i] = words.join(' ');
  }
  return lines.join('\n');
}

function assertFixedPoint(text: string, where: string): boolean {
  let first;
  try {
    first = prepareDump(text);
  } catch {
    return false; // nothing usable: no version, nothing to re-upload
  }
  const again = prepareDump(first.canonicalText);
  assert.equal(again.sha256, first.sha256, `${where}: the canonical text reads back differently\n${first.canonicalText}\n---\n${again.canonicalText}`);
  assert.equal(again.canonicalText, first.canonicalText);
  return true;
}

describe('canonical text is a fixed point', () => {
  const rows: [string, string][] = [
    ['an invalid built-in policy', '*filter\n:INPUT FOO [0:0]\n:FORWARD ACCEPT [0:0]\nCOMMIT\n'],
    ['a built-in policy "-"', '*filter\n:INPUT - [0:0]\nCOMMIT\n'],
    ['a quoted chain name with a blank', '*filter\n:INPUT ACCEPT [0:0]\n-A "a b" -j ACCEPT\n-A INPUT -j "a b"\nCOMMIT\n'],
    ['an address with a blank', '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -d "a b" -j ACCEPT\nCOMMIT\n'],
    ['a state with a blank', '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m state --state "a b" -j ACCEPT\nCOMMIT\n'],
    ['an option swallowing the target', '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p udp -m multiport --dports 68,67 --dport -j DROP\nCOMMIT\n'],
  ];
  for (const [name, text] of rows) it(name, () => assert.ok(assertFixedPoint(text, name)));

  it('chain and target names iptables refuses are errors, and read back the same', () => {
    for (const text of ['*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j ""\nCOMMIT\n', '*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -j - --to-destination 192.0.2.1:80\nCOMMIT\n', '*filter\n:INPUT ACCEPT [0:0]\n-A -x -j ACCEPT\nCOMMIT\n']) {
      const first = prepareDump(text);
      assert.ok(first.diagnostics.some((d) => d.code === 'bad-chain-name'), text);
      assert.ok(assertFixedPoint(text, text));
    }
  });

  it('over 20 mutations of every fixture', () => {
    let checked = 0;
    for (const file of dumpsUnder(FIXTURES)) {
      const text = readFileSync(file, 'utf8');
      const rnd = random(relative(FIXTURES, file));
      for (let k = 0; k < 20; k++) if (assertFixedPoint(k === 0 ? text : mutate(text, rnd), `${file} mutation ${k}`)) checked++;
    }
    assert.ok(checked > 200, `${checked} versions checked`);
  });

  it('over 8 mutations of every corpus dump', { skip: corpusAvailable() ? false : `no corpus at ${CORPUS} (../shared beside the checkout)` }, () => {
    for (const kind of ['iptables-save', 'iptables-S']) {
      for (const file of dumpsUnder(join(CORPUS, kind))) {
        const text = readFileSync(file, 'utf8');
        const rnd = random(relative(CORPUS, file), 7);
        for (let k = 0; k < 8; k++) assertFixedPoint(k === 0 ? text : mutate(text, rnd), `${file} mutation ${k}`);
      }
    }
  });
});
