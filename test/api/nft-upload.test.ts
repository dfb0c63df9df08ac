// nftables rulesets through the upload and dump routes: JSON body field `nft`,
// text/plain alone (JSON or text, detected), dedupe of re-uploads that differ
// only in live values, raw and canonical texts, 422 with line and column,
// and iptables-only clients unchanged.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PROBLEM_TYPE, counterDump, startApi, type TestApi } from '../support/api.ts';
import { FIXTURES } from '../support/paths.ts';
import { parseNftText } from '../../src/netfilter/index.ts';

const V1 = '/api/v1';
const sha256 = (t: string | Buffer): string => createHash('sha256').update(t).digest('hex');
const CORPUS = join(FIXTURES, '..', '..', '..', 'shared', 'corpus', 'nft');

/** A small firewalld-like ruleset with live values; `variant` adds a rule (a new version). */
export function nftRuleset(options: { packets?: number; variant?: number; elements?: string[] } = {}): string {
  const p = options.packets ?? 0;
  const extra = options.variant !== undefined ? [`\t\ttcp dport ${8000 + options.variant} accept`] : [];
  const elements = options.elements?.length ? `\t\telements = { ${options.elements.join(', ')} }\n` : '';
  return [
    'table inet firewalld {',
    '\tset seen {',
    '\t\ttype ipv4_addr',
    '\t\tflags dynamic,timeout',
    '\t\ttimeout 1h',
    elements + '\t}',
    '',
    '\tchain filter_INPUT {',
    '\t\ttype filter hook input priority 10; policy accept;',
    '\t\tct state established,related accept',
    `\t\ttcp dport 22 counter packets ${p} bytes ${p * 60} accept`,
    ...extra,
    '\t\tjump filter_INPUT_ZONES',
    '\t}',
    '',
    '\tchain filter_INPUT_ZONES {',
    `\t\tiifname "eth9" counter packets ${p * 2} bytes ${p * 120} drop`,
    '\t}',
    '}',
    '',
  ].join('\n');
}

describe('nftables uploads', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi();
  });
  after(async () => api.close());

  it('stores an nft text upload on its own as a version of family nft, with its raw bytes and canonical text', async () => {
    const text = nftRuleset({ packets: 3 });
    const res = await api.request.post(`${V1}/nodes/fw1/dumps`).query({ family: 'nft' }).type('text/plain').send(text).expect(201);
    assert.equal(res.body.family, 'nft');
    assert.equal(res.body.format, 'nft-text');
    assert.equal(res.body.created, true);
    assert.deepEqual(res.body.stats, { tables: 1, chains: 2, rules: 4 });
    assert.equal(res.body.nft.id, res.body.id);
    const raw = await api.request.get(`${V1}/nodes/fw1/dumps/latest/raw`).query({ family: 'nft' }).expect(200);
    assert.equal(raw.text, text);
    const canonical = await api.request.get(`${V1}/nodes/fw1/dumps/latest/canonical`).query({ family: 'nft' }).expect(200);
    assert.equal(sha256(canonical.text), res.body.sha256);
    assert.match(canonical.text, /tcp dport 22 counter accept/);
    assert.doesNotMatch(canonical.text, /packets/);
    const counted = await api.request.get(`${V1}/nodes/fw1/dumps/${res.body.id}/canonical`).query({ counters: true }).expect(200);
    assert.match(counted.text, /tcp dport 22 counter packets 3 bytes 180 accept/);
    // The canonical text is a fixed point: uploading it gives the same version.
    const again = await api.request.post(`${V1}/nodes/fw1/dumps`).query({ family: 'nft' }).type('text/plain').send(canonical.text).expect(200);
    assert.equal(again.body.id, res.body.id);
    assert.equal(again.body.created, false);
    const sha = await api.request.get(`${V1}/nodes/fw1/dumps/latest/sha`).query({ family: 'nft' }).expect(200);
    assert.deepEqual(sha.body, { node: 'fw1', family: 'nft', id: res.body.id, sha256: res.body.sha256 });
    // iptables reads of the node still say it has no iptables dump.
    await api.request.get(`${V1}/nodes/fw1/dumps/latest/sha`).expect(404);
  });

  it('does not make a new version for counters, dynamic set elements or expiry; a new rule does', async () => {
    const first = await api.request.post(`${V1}/nodes/fw2/dumps`).query({ family: 'nft' }).type('text/plain').send(nftRuleset({ packets: 1 })).expect(201);
    const live = nftRuleset({ packets: 99, elements: ['192.0.2.7 timeout 1h expires 59m58s'] });
    const same = await api.request.post(`${V1}/nodes/fw2/dumps`).query({ family: 'nft' }).type('text/plain').send(live).expect(200);
    assert.equal(same.body.id, first.body.id);
    assert.equal(same.body.created, false);
    // The raw text is the latest upload's, live values included.
    assert.equal((await api.request.get(`${V1}/nodes/fw2/dumps/${first.body.id}/raw`).expect(200)).text, live);
    const detail = await api.request.get(`${V1}/nodes/fw2/dumps/${first.body.id}`).expect(200);
    assert.equal(detail.body.uploads, 2);
    const next = await api.request.post(`${V1}/nodes/fw2/dumps`).query({ family: 'nft' }).type('text/plain').send(nftRuleset({ variant: 1 })).expect(201);
    assert.notEqual(next.body.id, first.body.id);
    const list = await api.request.get(`${V1}/nodes/fw2/dumps`).query({ family: 'nft' }).expect(200);
    assert.deepEqual(list.body.items.map((i: { id: number }) => i.id), [next.body.id, first.body.id]);
  });

  it('takes `nft -j list ruleset` JSON alone, as a string in `nft` and as an object, as one version', async () => {
    const json = await readFile(join(FIXTURES, 'nft', 'kube-mini.json'), 'utf8');
    const alone = await api.request.post(`${V1}/nodes/kp1/dumps`).type('text/plain').send(json).expect(201);
    assert.equal(alone.body.format, 'nft-json');
    assert.equal(alone.body.family, 'nft');
    // Its canonical text reads back as the same version (a fixed point, in nft's text syntax).
    const canonical = await api.request.get(`${V1}/nodes/kp1/dumps/latest/canonical`).query({ family: 'nft' }).expect(200);
    assert.match(canonical.text, /^table ip kp \{/);
    assert.match(canonical.text, /ct state invalid drop/);
    const asText = await api.request.post(`${V1}/nodes/kp1/dumps`).query({ format: 'nft-text' }).type('text/plain').send(canonical.text).expect(200);
    assert.equal(asText.body.id, alone.body.id);
    assert.equal(asText.body.format, 'nft-text');
    assert.deepEqual(asText.body.diagnostics, []);
    const text = await readFile(join(FIXTURES, 'nft', 'kube-mini.nft'), 'utf8');

    const body = { dump: counterDump(), nft: json, cluster: 'c1' };
    const both = await api.request.post(`${V1}/nodes/kp2/dumps`).send(body).expect(201);
    assert.equal(both.body.family, 'ipv4');
    assert.equal(both.body.nft.family, 'nft');
    assert.equal(both.body.nft.sha256, alone.body.sha256);
    assert.equal((await api.request.get(`${V1}/nodes/kp2/dumps/latest/raw`).query({ family: 'nft' }).expect(200)).text, json);
    const object = await api.request.post(`${V1}/nodes/kp2/dumps`).send({ dump: counterDump({ packets: 5 }), nft: JSON.parse(json) }).expect(200);
    assert.equal(object.body.nft.id, both.body.nft.id);
    assert.equal(object.body.nft.created, false);
    assert.equal(object.body.nft.format, 'nft-json');

    const node = await api.request.get(`${V1}/nodes/kp2`).expect(200);
    assert.equal(node.body.latest.nft.id, both.body.nft.id);
    assert.equal(node.body.latest.ipv4.id, both.body.id);
    const onlyNft = await api.request.post(`${V1}/nodes/kp3/dumps`).send({ nft: text }).expect(201);
    assert.equal(onlyNft.body.family, 'nft');
  });

  it('refuses a bad nft ruleset with 422, line and column, and stores nothing of the upload', async () => {
    const bad = 'table inet t {\n\tchain c {\n\t\ttcp dport 22 accept\n\t}\n';
    const res = await api.request.post(`${V1}/nodes/bad1/dumps`).query({ family: 'nft' }).type('text/plain').send(bad).expect(422);
    assert.match(res.headers['content-type'] ?? '', PROBLEM_TYPE);
    assert.equal(res.body.field, 'dump');
    assert.equal(res.body.problems[0].code, 'unterminated-block');
    assert.equal(res.body.problems[0].line, 5);
    assert.equal(res.body.problems[0].column, 1);
    await api.request.get(`${V1}/nodes/bad1`).expect(404);

    // Syntax packetpath does not know is kept (a warning with line and column); `?strict=true` refuses it.
    const unknown = 'table inet t {\n\tchain c {\n\t\ttcp dport 22 frobnicate\n\t}\n}\n';
    const strict = await api.request.post(`${V1}/nodes/bad1/dumps`).query({ strict: true, family: 'nft' }).type('text/plain').send(unknown).expect(422);
    assert.deepEqual([strict.body.problems[0].line, strict.body.problems[0].column, strict.body.problems[0].code], [3, 16, 'unknown-syntax']);
    await api.request.get(`${V1}/nodes/bad1`).expect(404);
    const kept = await api.request.post(`${V1}/nodes/bad1/dumps`).query({ family: 'nft' }).type('text/plain').send(unknown).expect(201);
    assert.deepEqual(kept.body.diagnostics.map((d: { line: number; column: number; severity: string }) => [d.line, d.column, d.severity]), [[3, 16, 'warning']]);

    // In a JSON body, with a good iptables dump beside it: nothing is stored either.
    const badJson = '{"nftables": [{"table": {"family": "inet", "name": "t"}}, ';
    const both = await api.request.post(`${V1}/nodes/bad2/dumps`).send({ dump: counterDump(), nft: badJson }).expect(422);
    assert.equal(both.body.field, 'nft');
    assert.equal(both.body.problems[0].line, 1);
    assert.ok(both.body.problems[0].column > 1);
    await api.request.get(`${V1}/nodes/bad2`).expect(404);

    const none = await api.request.post(`${V1}/nodes/bad3/dumps`).send({ cluster: 'x' }).expect(400);
    assert.ok(none.body.errors.some((e: { path: string }) => e.path === '/body/dump'));
    // nft text alone in a text/plain body is detected and stored as the node's nft version.
    const guess = await api.request.post(`${V1}/nodes/guess/dumps`).type('text/plain').send(nftRuleset()).expect(201);
    assert.equal(guess.body.family, 'nft');
    assert.equal(guess.body.format, 'nft-text');
    // As `dump` (the iptables field) it is not an iptables dump, and the 422 says what to do.
    const misplaced = await api.request.post(`${V1}/nodes/bad3/dumps`).send({ dump: nftRuleset() }).expect(422);
    assert.match(misplaced.body.detail, /looks like an nftables ruleset: upload it with \?family=nft/);
    await api.request.post(`${V1}/nodes/bad3/dumps`).send({ nft: { tables: [] } }).expect(400);
  });

  it('keeps iptables-only uploads and reads as they were', async () => {
    const res = await api.request.post(`${V1}/nodes/ipt/dumps`).type('text/plain').send(counterDump()).expect(201);
    assert.equal(res.body.family, 'ipv4');
    assert.equal(res.body.nft, undefined);
    const node = await api.request.get(`${V1}/nodes/ipt`).expect(200);
    assert.deepEqual(Object.keys(node.body.latest).sort(), ['ipv4', 'ipv6']);
    // An nft version where an iptables one is read is said plainly.
    const nft = await api.request.post(`${V1}/nodes/ipt/dumps`).send({ nft: nftRuleset() }).expect(201);
    const chains = await api.request.get(`${V1}/nodes/ipt/tables/filter/chains`).query({ dump: nft.body.id }).expect(422);
    assert.match(chains.body.detail, /nftables ruleset/);
    // Findings read a pinned nft version as the node's nft ruleset (lint across owners).
    const findings = await api.request.get(`${V1}/nodes/ipt/findings`).query({ dump: nft.body.id }).expect(200);
    assert.equal(findings.body.nftDump, nft.body.id);
  });

  it('stores every nft ruleset of the corpus that parses without errors, and dedupes its re-upload', async () => {
    let files: string[];
    try {
      files = (await readdir(CORPUS)).filter((f) => f.endsWith('.txt'));
    } catch {
      return; // the shared corpus is test material outside the repository; absent on a bare clone
    }
    let stored = 0;
    for (const f of files) {
      const text = await readFile(join(CORPUS, f), 'utf8');
      const clean = parseNftText(text).diagnostics.every((d) => d.severity !== 'error');
      const node = `corpus-${stored}-${f.length}`;
      const res = await api.request.post(`${V1}/nodes/${node}/dumps`).query({ format: 'nft-text' }).type('text/plain').send(text);
      if (!clean) {
        assert.equal(res.status, 422, f);
        continue;
      }
      assert.equal(res.status, 201, `${f}: ${JSON.stringify(res.body).slice(0, 300)}`);
      const again = await api.request.post(`${V1}/nodes/${node}/dumps`).query({ format: 'nft-text' }).type('text/plain').send(text).expect(200);
      assert.equal(again.body.id, res.body.id, f);
      const canonical = await api.request.get(`${V1}/nodes/${node}/dumps/latest/canonical`).query({ family: 'nft' }).expect(200);
      const fixed = await api.request.post(`${V1}/nodes/${node}/dumps`).type('text/plain').query({ format: 'nft-text' }).send(canonical.text);
      assert.equal(fixed.body.id, res.body.id, `${f}: canonical text is not a fixed point`);
      stored++;
    }
    assert.ok(stored >= 10, `only ${stored} corpus rulesets stored`);
  });
});

describe('nftables reads: tables, chains, rules, counters', () => {
  let api: TestApi;
  let nftId = 0;
  before(async () => {
    api = await startApi();
    await api.request.post(`${V1}/nodes/r1/dumps`).send({ dump: counterDump({ packets: 2 }) }).expect(201);
    nftId = (await api.request.post(`${V1}/nodes/r1/dumps`).query({ family: 'nft' }).type('text/plain').send(nftRuleset({ packets: 4 })).expect(201)).body.id;
  });
  after(async () => api.close());

  it('lists nft tables named the way nft names them; iptables tables stay the default', async () => {
    const nft = await api.request.get(`${V1}/nodes/r1/tables`).query({ family: 'nft' }).expect(200);
    assert.deepEqual(nft.body, { dump: nftId, family: 'nft', tables: [{ name: 'inet firewalld', chains: 2, rules: 4, sets: 1 }] });
    const ipt = await api.request.get(`${V1}/nodes/r1/tables`).expect(200);
    assert.deepEqual(ipt.body.tables.map((t: { name: string }) => t.name), ['filter']);
    assert.equal(ipt.body.family, 'ipv4');
    const byId = await api.request.get(`${V1}/nodes/r1/tables`).query({ family: 'nft', dump: nftId }).expect(200);
    assert.equal(byId.body.dump, nftId);
  });

  it('lists an nft table’s chains with base-chain hook, priority, policy and jumps', async () => {
    const res = await api.request.get(`${V1}/nodes/r1/tables/${encodeURIComponent('inet firewalld')}/chains`).expect(200);
    assert.equal(res.body.table, 'inet firewalld');
    const [input, zones] = res.body.chains;
    assert.deepEqual(
      { name: input.name, builtin: input.builtin, policy: input.policy, type: input.type, hook: input.hook, priority: input.priority, jumpsTo: input.jumpsTo, counters: input.counters },
      { name: 'filter_INPUT', builtin: true, policy: 'accept', type: 'filter', hook: 'input', priority: 10, jumpsTo: ['filter_INPUT_ZONES'], counters: null },
    );
    assert.deepEqual(zones.referencedBy, [{ table: 'inet firewalld', chain: 'filter_INPUT', position: 3 }]);
    assert.equal(zones.builtin, false);
    await api.request.get(`${V1}/nodes/r1/tables/${encodeURIComponent('ip nope')}/chains`).expect(404);
    await api.request.get(`${V1}/nodes/r1/tables/${encodeURIComponent('inet')}/chains`).expect(400);
  });

  it('shows an nft chain’s rules with their counters, as JSON, nft lines and a listing', async () => {
    const path = `${V1}/nodes/r1/tables/${encodeURIComponent('inet firewalld')}/chains/filter_INPUT`;
    const res = await api.request.get(path).expect(200);
    assert.match(res.headers['content-type'] ?? '', /application\/json/);
    assert.equal(res.body.name, 'filter_INPUT');
    assert.equal(res.body.hook, 'input');
    assert.deepEqual(
      res.body.rules.map((r: { position: number; line: number; text: string; counters: unknown }) => [r.position, r.line, r.text, r.counters]),
      [
        [1, 10, 'ct state established,related accept', null],
        [2, 11, 'tcp dport 22 counter packets 4 bytes 240 accept', { packets: 4, bytes: 240 }],
        [3, 12, 'jump filter_INPUT_ZONES', null],
      ],
    );
    assert.ok(res.body.rules[1].stmts.some((s: { kind: string }) => s.kind === 'counter'));
    const save = await api.request.get(path).query({ format: 'save' }).expect(200);
    assert.equal(save.text, 'ct state established,related accept\ntcp dport 22 counter packets 4 bytes 240 accept\njump filter_INPUT_ZONES\n');
    const listing = await api.request.get(path).query({ format: 'listing' }).expect(200);
    assert.match(listing.text, /^table inet firewalld \{\n\tchain filter_INPUT \{\n\t\ttype filter hook input priority filter \+ 10; policy accept;\n/);
    assert.doesNotMatch(listing.text, /filter_INPUT_ZONES \{/);
    // The iptables chain route answers as before.
    const ipt = await api.request.get(`${V1}/nodes/r1/tables/filter/chains/INPUT`).expect(200);
    assert.equal(ipt.body.rules[0].counters.packets, 2);
  });

  it('searches nft rules by table, chain, comment, target, address, port and protocol; a bad address is a 400', async () => {
    const drops = await api.request.get(`${V1}/nodes/r1/rules`).query({ family: 'nft', target: 'drop' }).expect(200);
    assert.deepEqual(drops.body.rules.map((r: { table: string; chain: string; position: number }) => `${r.table}/${r.chain}/${r.position}`), ['inet firewalld/filter_INPUT_ZONES/1']);
    const jumps = await api.request.get(`${V1}/nodes/r1/rules`).query({ family: 'nft', target: 'filter_INPUT_ZONES', table: 'inet firewalld', chain: 'filter_*' }).expect(200);
    assert.equal(jumps.body.rules.length, 1);
    const ssh = await api.request.get(`${V1}/nodes/r1/rules`).query({ family: 'nft', port: 22, proto: 'tcp' }).expect(200);
    assert.deepEqual(ssh.body.rules.map((r: { chain: string; text: string }) => `${r.chain}: ${r.text}`), ['filter_INPUT: tcp dport 22 counter packets 4 bytes 240 accept']);
    const bad = await api.request.get(`${V1}/nodes/r1/rules`).query({ family: 'nft', ip: '10.0.0.300' }).expect(400);
    assert.match(bad.body.detail, /"10\.0\.0\.300" is not an IPv4 or IPv6 address/);
    await api.request.get(`${V1}/nodes/r1/rules`).query({ ip: 'nope' }).expect(400);
  });
});

describe('rule search in kube-proxy\'s nftables mode', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi();
    const nft = await readFile(join(FIXTURES, 'nft', 'kube-proxy-mini.json'), 'utf8');
    await api.request.post(`${V1}/nodes/kp/dumps`).send({ nft }).expect(201);
  });
  after(async () => api.close());

  it('finds a Service\'s rules by its cluster IP, by port and by name, as nft prints them', async () => {
    const byIp = await api.request.get(`${V1}/nodes/kp/rules`).query({ family: 'nft', ip: '203.0.113.80', port: 80 }).expect(200);
    assert.deepEqual(byIp.body.rules.map((r: { table: string; chain: string; position: number }) => `${r.table} ${r.chain} #${r.position}`), ['ip kube-proxy services #1', 'ip kube-proxy service-ULMVA6XW-default/web/tcp/http #1']);
    assert.match(byIp.body.rules[0].text, /vmap @service-ips/);
    const dns = await api.request.get(`${V1}/nodes/kp/rules`).query({ family: 'nft', service: 'kube-system/kube-dns' }).expect(200);
    assert.deepEqual(dns.body.rules.map((r: { chain: string }) => r.chain), ['service-endpoints-check']);
    const web = await api.request.get(`${V1}/nodes/kp/rules`).query({ family: 'nft', service: 'default/web', target: 'dnat' }).expect(200);
    assert.equal(web.body.rules.length, 2);
  });
});

describe('nftables storage', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi();
  });
  after(async () => api.close());
  const blob = (sha: string) => api.db.prisma.blob.findUnique({ where: { sha256: sha }, select: { encoding: true, baseSha256: true } });
  /** A kube-proxy-like nft ruleset of `n` Services; `extra` adds one more. */
  const services = (n: number, extra = false): string => {
    const chains = Array.from({ length: n + (extra ? 1 : 0) }, (_, i) => `\tchain service-${i} {\n\t\tip daddr 198.51.100.${i % 250} tcp dport ${1000 + i} counter packets ${i} bytes ${i * 60} accept\n\t}\n`);
    return `table ip kube-proxy {\n${chains.join('\n')}}\n`;
  };

  it('stores a nearly identical nft version as a line delta of the node’s previous one; the same ruleset on another node of the cluster once', async () => {
    const a = await api.request.post(`${V1}/nodes/s1/dumps`).query({ family: 'nft', cluster: 'c' }).type('text/plain').send(services(200)).expect(201);
    assert.equal((await blob(a.body.sha256))?.encoding, 'gzip');
    const b = await api.request.post(`${V1}/nodes/s1/dumps`).query({ family: 'nft', cluster: 'c' }).type('text/plain').send(services(200, true)).expect(201);
    assert.deepEqual(await blob(b.body.sha256), { encoding: 'delta', baseSha256: a.body.sha256 });
    const c = await api.request.post(`${V1}/nodes/s2/dumps`).query({ family: 'nft', cluster: 'c' }).type('text/plain').send(services(201)).expect(201);
    assert.equal(c.body.sha256, b.body.sha256, 'the same ruleset on another node is the same text, stored once');
    // The uploaded text, counters and all, reads back byte for byte.
    assert.equal((await api.request.get(`${V1}/nodes/s2/dumps/${c.body.id}/raw`).expect(200)).text, services(201));
  });
});
