import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  generateKubeDump,
  iptablesProbability,
  kubeChainHash,
  saveString,
  sha256,
  type KubeDump,
} from '../scripts/kube-dump.ts';

interface ParsedTable {
  name: string;
  decls: { chain: string; policy: string; counters: string }[];
  rules: { chain: string; text: string; counters?: string }[];
}

/** Minimal iptables-save reader for the assertions below. */
function parse(text: string): ParsedTable[] {
  const tables: ParsedTable[] = [];
  let cur: ParsedTable | undefined;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      cur = { name: line.slice(1), decls: [], rules: [] };
      tables.push(cur);
    } else if (line === 'COMMIT') {
      cur = undefined;
    } else if (line.startsWith(':')) {
      const m = /^:(\S+) (\S+) (\[\d+:\d+\])$/.exec(line);
      assert.ok(m && cur, `bad declaration: ${line}`);
      cur.decls.push({ chain: m[1]!, policy: m[2]!, counters: m[3]! });
    } else {
      const m = /^(?:(\[\d+:\d+\]) )?-A (\S+) (.*)$/.exec(line);
      assert.ok(m && cur, `bad rule: ${line}`);
      const r: ParsedTable['rules'][number] = { chain: m[2]!, text: m[3]! };
      if (m[1] !== undefined) r.counters = m[1];
      cur.rules.push(r);
    }
  }
  return tables;
}

function table(tables: ParsedTable[], name: string): ParsedTable {
  const t = tables.find((x) => x.name === name);
  assert.ok(t, `table ${name} missing`);
  return t;
}

function rulesOf(t: ParsedTable, chain: string): string[] {
  return t.rules.filter((r) => r.chain === chain).map((r) => r.text);
}

const big: KubeDump = generateKubeDump({ services: 1000, seed: 7 });
const bigTables = parse(big.text);

test('deterministic: same options give byte-identical output', () => {
  const a = generateKubeDump({ services: 300, seed: 42 });
  const b = generateKubeDump({ services: 300, seed: 42 });
  assert.equal(a.text, b.text);
  assert.deepEqual(a.services, b.services);
  assert.deepEqual(a.host, b.host);
  const c = generateKubeDump({ services: 300, seed: 43 });
  assert.notEqual(a.text, c.text);
  const ac = generateKubeDump({ services: 300, seed: 42, counters: true });
  assert.equal(ac.text, generateKubeDump({ services: 300, seed: 42, counters: true }).text);
});

test('probabilities are printed as iptables-save prints them', () => {
  assert.equal(iptablesProbability(1 / 2), '0.50000000000');
  assert.equal(iptablesProbability(1 / 3), '0.33333333349');
  assert.equal(iptablesProbability(1 / 4), '0.25000000000');
  assert.equal(iptablesProbability(1 / 5), '0.20000000019');
  assert.equal(iptablesProbability(1 / 6), '0.16666666651');
  assert.equal(iptablesProbability(1 / 7), '0.14285714272');
  assert.equal(iptablesProbability(1 / 8), '0.12500000000');
  assert.equal(iptablesProbability(1 / 9), '0.11111111101');
  assert.equal(iptablesProbability(1 / 10), '0.10000000009');
  // Same as %.11f of round(p * 2^31) / 2^31 for these.
  for (let k = 2; k <= 20; k++) {
    assert.equal(iptablesProbability(1 / k), (Math.round((1 / k) * 0x80000000) / 0x80000000).toFixed(11));
  }
});

test('KUBE-SVC chains: masquerade rule, 1/(n-i) probabilities, last endpoint unconditional', () => {
  const nat = table(bigTables, 'nat');
  let checked = 0;
  for (const svc of big.services) {
    if (svc.endpoints.length === 0) continue;
    const rules = rulesOf(nat, svc.svcChain);
    const n = svc.endpoints.length;
    assert.equal(rules.length, n + 1, svc.svcChain);
    assert.match(rules[0]!, /^! -s 10\.244\.0\.0\/16 -d \S+\/32 -p (tcp|udp) -m comment --comment ".* cluster IP" -m (tcp|udp) --dport \d+ -j KUBE-MARK-MASQ$/);
    svc.endpoints.forEach((ep, i) => {
      const r = rules[i + 1]!;
      assert.ok(r.endsWith(`-j ${ep.sepChain}`), r);
      assert.ok(r.includes(`"${svc.servicePortName} -> ${ep.ip}:${ep.port}"`), r);
      if (i < n - 1) {
        assert.ok(r.includes(`-m statistic --mode random --probability ${iptablesProbability(1 / (n - i))} -j`), r);
      } else {
        assert.ok(!r.includes('statistic'), `last rule of ${svc.svcChain} must have no statistic: ${r}`);
      }
    });
    checked++;
  }
  assert.ok(checked > 900);
});

test('every KUBE-SEP chain is the MARK-MASQ + DNAT pair', () => {
  const nat = table(bigTables, 'nat');
  const seps = nat.decls.filter((d) => d.chain.startsWith('KUBE-SEP-'));
  const total = big.services.reduce((a, s) => a + s.endpoints.length, 0);
  assert.equal(seps.length, total);
  for (const svc of big.services) {
    for (const ep of svc.endpoints) {
      const rules = rulesOf(nat, ep.sepChain);
      assert.deepEqual(rules, [
        `-s ${ep.ip}/32 -m comment --comment "${svc.servicePortName}" -j KUBE-MARK-MASQ`,
        `-p ${svc.protocol} -m comment --comment "${svc.servicePortName}" -m ${svc.protocol} -j DNAT --to-destination ${ep.ip}:${ep.port}`,
      ]);
    }
  }
});

test('KUBE-SERVICES: one rule per cluster IP / external IP, nodeports rule last', () => {
  const nat = table(bigTables, 'nat');
  const rules = rulesOf(nat, 'KUBE-SERVICES');
  assert.equal(
    rules.at(-1),
    '-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
  );
  assert.equal(rules.filter((r) => r.includes('KUBE-NODEPORTS')).length, 1);
  const withEp = big.services.filter((s) => s.endpoints.length > 0);
  const extIPs = withEp.reduce((a, s) => a + s.externalIPs.length, 0);
  assert.equal(rules.length, withEp.length + extIPs + 1);
  for (const svc of withEp) {
    assert.ok(rules.includes(
      `-d ${svc.clusterIP}/32 -p ${svc.protocol} -m comment --comment "${svc.servicePortName} cluster IP" -m ${svc.protocol} --dport ${svc.port} -j ${svc.svcChain}`,
    ));
    for (const ip of svc.externalIPs) {
      assert.ok(rules.includes(
        `-d ${ip}/32 -p ${svc.protocol} -m comment --comment "${svc.servicePortName} external IP" -m ${svc.protocol} --dport ${svc.port} -j ${svc.extChain}`,
      ));
    }
  }
});

test('NodePorts and external IPs go through KUBE-EXT chains', () => {
  const nat = table(bigTables, 'nat');
  const nodeports = rulesOf(nat, 'KUBE-NODEPORTS');
  const withNp = big.services.filter((s) => s.nodePort !== undefined && s.endpoints.length > 0);
  assert.equal(nodeports.length, withNp.length);
  for (const svc of big.services) {
    const needsExt = svc.endpoints.length > 0 && (svc.nodePort !== undefined || svc.externalIPs.length > 0);
    assert.equal(svc.extChain !== undefined, needsExt);
    if (svc.extChain === undefined) continue;
    assert.equal(svc.extChain.slice(9), svc.svcChain.slice(9), 'EXT and SVC share the hash');
    assert.deepEqual(rulesOf(nat, svc.extChain), [
      `-m comment --comment "masquerade traffic for ${svc.servicePortName} external destinations" -j KUBE-MARK-MASQ`,
      `-j ${svc.svcChain}`,
    ]);
    if (svc.nodePort !== undefined) {
      assert.ok(nodeports.includes(
        `-p ${svc.protocol} -m comment --comment "${svc.servicePortName}" -m ${svc.protocol} --dport ${svc.nodePort} -j ${svc.extChain}`,
      ));
    }
  }
});

test('services without endpoints get REJECT rules in filter and nothing in nat', () => {
  const filter = table(bigTables, 'filter');
  const nat = table(bigTables, 'nat');
  const none = big.services.filter((s) => s.endpoints.length === 0);
  assert.ok(none.length > 0, 'expected some services without endpoints');
  const svcRules = rulesOf(filter, 'KUBE-SERVICES');
  const extRules = rulesOf(filter, 'KUBE-EXTERNAL-SERVICES');
  const rej = '-j REJECT --reject-with icmp-port-unreachable';
  let expectedExt = 0;
  for (const svc of none) {
    const c = `-m comment --comment "${svc.servicePortName} has no endpoints"`;
    assert.ok(svcRules.includes(`-d ${svc.clusterIP}/32 -p ${svc.protocol} ${c} -m ${svc.protocol} --dport ${svc.port} ${rej}`));
    for (const ip of svc.externalIPs) {
      expectedExt++;
      assert.ok(extRules.includes(`-d ${ip}/32 -p ${svc.protocol} ${c} -m ${svc.protocol} --dport ${svc.port} ${rej}`));
    }
    if (svc.nodePort !== undefined) {
      expectedExt++;
      assert.ok(extRules.includes(`-p ${svc.protocol} ${c} -m addrtype --dst-type LOCAL -m ${svc.protocol} --dport ${svc.nodePort} ${rej}`));
    }
    assert.equal(nat.decls.some((d) => d.chain === svc.svcChain), false);
    assert.equal(nat.rules.some((r) => r.text.includes(`"${svc.servicePortName} cluster IP"`)), false);
  }
  assert.equal(svcRules.length, none.length);
  assert.equal(extRules.length, expectedExt);
});

test('layout: tables, built-ins, sorted declarations, rules grouped in declaration order', () => {
  const lines = big.text.split('\n');
  assert.equal(lines[0], '# Generated by iptables-save v1.8.9 (nf_tables) on Thu Jan  1 00:00:00 2026');
  assert.equal(lines.at(-1), '');
  assert.equal(lines.at(-2), '# Completed on Thu Jan  1 00:00:00 2026');
  assert.deepEqual(bigTables.map((t) => t.name), ['filter', 'nat']);
  const builtins: Record<string, string[]> = {
    filter: ['INPUT', 'FORWARD', 'OUTPUT'],
    nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  };
  for (const t of bigTables) {
    const b = builtins[t.name]!;
    assert.deepEqual(t.decls.slice(0, b.length).map((d) => `${d.chain} ${d.policy}`), b.map((c) => `${c} ACCEPT`));
    const user = t.decls.slice(b.length).map((d) => d.chain);
    assert.deepEqual(user, [...user].sort());
    assert.equal(new Set(user).size, user.length, 'chain names are unique');
    for (const d of t.decls.slice(b.length)) assert.equal(d.policy, '-');
    const order = new Map([...b, ...user].map((c, i) => [c, i]));
    let last = -1;
    for (const r of t.rules) {
      const pos = order.get(r.chain);
      assert.ok(pos !== undefined, `rule in undeclared chain ${r.chain}`);
      assert.ok(pos >= last, `rules of ${r.chain} out of order`);
      last = pos;
    }
  }
  const filter = table(bigTables, 'filter');
  assert.deepEqual(filter.decls.slice(3).map((d) => d.chain), [
    'KUBE-EXTERNAL-SERVICES', 'KUBE-FIREWALL', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL', 'KUBE-SERVICES',
  ]);
  for (const name of ['KUBE-SVC-', 'KUBE-SEP-', 'KUBE-EXT-']) {
    for (const d of table(bigTables, 'nat').decls.filter((x) => x.chain.startsWith(name))) {
      assert.match(d.chain, /^KUBE-(SVC|SEP|EXT)-[A-Z2-7]{16}$/);
    }
  }
});

test('counts and service properties', () => {
  const s = big.services;
  assert.equal(s.length, 1000);
  assert.equal(s[0]!.servicePortName, 'default/kubernetes:https');
  assert.equal(s[0]!.clusterIP, '10.96.0.1');
  const keys = new Set(s.map((x) => x.servicePortName));
  assert.equal(keys.size, s.length, 'service port names unique');
  assert.equal(new Set(s.map((x) => x.clusterIP)).size, s.length, 'cluster IPs unique');
  for (const svc of s) {
    const [a, b] = svc.clusterIP.split('.').map(Number);
    assert.ok(a === 10 && b! >= 96 && b! <= 111, svc.clusterIP);
    assert.ok(svc.endpoints.length <= 9);
    assert.equal(new Set(svc.endpoints.map((e) => `${e.ip}:${e.port}`)).size, svc.endpoints.length);
  }
  const nps = s.flatMap((x) => (x.nodePort === undefined ? [] : [x.nodePort]));
  assert.equal(new Set(nps).size, nps.length, 'node ports unique');
  for (const p of nps) assert.ok(p >= 30000 && p <= 32767);
  assert.ok(nps.length > 200 && nps.length < 400, `~30% NodePorts, got ${nps.length}`);
  const none = s.filter((x) => x.endpoints.length === 0).length;
  assert.ok(none >= 5 && none <= 50, `~2% without endpoints, got ${none}`);
  assert.ok(s.some((x) => x.protocol === 'udp'));
  assert.ok(s.some((x) => x.portName === ''));
  assert.ok(s.some((x) => x.externalIPs.length > 0));
  const eps = s.flatMap((x) => x.endpoints).filter((e) => e.ip.startsWith('10.244.'));
  assert.ok(eps.some((e) => e.local) && eps.some((e) => !e.local));
  for (const e of eps) assert.equal(e.local, e.ip.startsWith('10.244.0.'));
  // Line count: fixed rules + per-service rules.
  const withEp = s.filter((x) => x.endpoints.length > 0);
  const nEp = s.reduce((a, x) => a + x.endpoints.length, 0);
  const nExt = withEp.filter((x) => x.extChain !== undefined).length;
  const extIPs = withEp.reduce((a, x) => a + x.externalIPs.length, 0);
  const npWithEp = withEp.filter((x) => x.nodePort !== undefined).length;
  const noEp = s.filter((x) => x.endpoints.length === 0);
  const filterExtra = noEp.reduce((a, x) => a + 1 + x.externalIPs.length + (x.nodePort === undefined ? 0 : 1), 0);
  const natLines = 4 + 4 + 7 // builtins + fixed user chains + fixed rules
    + withEp.length * 3 // SVC decl, KUBE-SERVICES rule, masq rule
    + nEp * 4 // SVC->SEP rule, SEP decl, 2 SEP rules
    + nExt * 3 + extIPs + npWithEp + 1; // EXT decl + 2 rules, ext IP rules, nodeport rules, nodeports rule
  const filterLines = 3 + 6 + 15 + filterExtra;
  const total = big.text.split('\n').length - 1;
  assert.equal(total, natLines + filterLines + 2 * 4); // + 2×(*table, COMMIT, 2 comments)
});

test('counters: built-ins and rules get [p:b], user chains stay [0:0]; stripping gives the plain dump', () => {
  const plain = generateKubeDump({ services: 200, seed: 3 });
  const counted = generateKubeDump({ services: 200, seed: 3, counters: true });
  const tables = parse(counted.text);
  let nonzero = 0;
  for (const t of tables) {
    for (const r of t.rules) {
      assert.ok(r.counters !== undefined, 'every rule has counters');
      if (r.counters !== '[0:0]') nonzero++;
    }
    for (const d of t.decls) if (d.policy === '-') assert.equal(d.counters, '[0:0]');
  }
  assert.ok(nonzero > 0);
  const stripped = counted.text
    .replace(/^\[\d+:\d+\] /gm, '')
    .replace(/^(:\S+ ACCEPT )\[\d+:\d+\]$/gm, '$1[0:0]');
  assert.equal(stripped, plain.text);
  assert.deepEqual(counted.services, plain.services);
  for (const t of parse(plain.text)) for (const r of t.rules) assert.equal(r.counters, undefined);
});

test('chain names use kube-proxy hashing (base32(sha256)[:16])', () => {
  for (const s of ['', 'abc', 'default/kubernetes:httpstcp', 'x'.repeat(200), 'ns/é:p€tcp']) {
    assert.equal(Buffer.from(sha256(s)).toString('hex'), createHash('sha256').update(s).digest('hex'));
  }
  // The name every real cluster has for the API server service.
  assert.equal(kubeChainHash('default/kubernetes:httpstcp'), 'NPX46M4PTMTKRN6Y');
  const svc = big.services[0]!;
  assert.equal(svc.svcChain, 'KUBE-SVC-NPX46M4PTMTKRN6Y');
  const ep = svc.endpoints[0]!;
  assert.equal(ep.sepChain, `KUBE-SEP-${kubeChainHash(`default/kubernetes:httpstcp${ep.ip}:${ep.port}`)}`);
});

test('saveString quotes like xtables_save_string', () => {
  assert.equal(saveString('abc-DEF_09'), 'abc-DEF_09');
  assert.equal(saveString('a b'), '"a b"');
  assert.equal(saveString('ns/name:port'), '"ns/name:port"');
  assert.equal(saveString(`q"x'y\\`), `"q\\"x\\'y\\\\"`);
});

test('host model', () => {
  assert.deepEqual(big.host, {
    interfaces: [
      { name: 'lo', addresses: ['127.0.0.1/8'] },
      { name: 'eth0', addresses: ['192.0.2.10/24'] },
      { name: 'cni0', addresses: ['10.244.0.1/24'] },
      { name: 'flannel.1', addresses: ['10.244.0.0/32'] },
    ],
    routes: [
      { dst: 'default', via: '192.0.2.1', dev: 'eth0' },
      { dst: '10.244.0.0/24', dev: 'cni0' },
      { dst: '10.244.1.0/24', via: '10.244.1.0', dev: 'flannel.1', onlink: true },
      { dst: '10.244.2.0/24', via: '10.244.2.0', dev: 'flannel.1', onlink: true },
      { dst: '10.244.3.0/24', via: '10.244.3.0', dev: 'flannel.1', onlink: true },
    ],
    forwarding: true,
  });
  const other = generateKubeDump({ services: 20, nodeIp: '198.51.100.7', podCidr: '10.244.2.0/24', nodeName: 'w2' });
  assert.deepEqual(other.host.interfaces[2], { name: 'cni0', addresses: ['10.244.2.1/24'] });
  assert.deepEqual(other.host.routes.map((r) => r.dst), ['default', '10.244.2.0/24', '10.244.0.0/24', '10.244.1.0/24', '10.244.3.0/24']);
  assert.equal(other.host.routes[0]!.via, '198.51.100.1');
  for (const e of other.services.flatMap((s) => s.endpoints)) {
    if (e.ip.startsWith('10.244.2.')) assert.ok(e.local && e.nodeName === 'w2');
    else if (e.ip.startsWith('10.244.')) assert.ok(!e.local);
  }
});

test('options: maxEndpoints, custom CIDRs, zero services', () => {
  const d = generateKubeDump({ services: 100, maxEndpoints: 2, serviceCidr: '172.20.0.0/16', clusterCidr: '10.1.0.0/16' });
  for (const s of d.services) {
    assert.ok(s.endpoints.length <= 2);
    assert.ok(s.clusterIP.startsWith('172.20.'));
  }
  assert.ok(d.text.includes('! -s 10.1.0.0/16 -d 172.20.0.1/32'));
  const z = generateKubeDump({ services: 0 });
  assert.equal(z.services.length, 0);
  assert.ok(z.text.includes('-j KUBE-NODEPORTS'));
});
