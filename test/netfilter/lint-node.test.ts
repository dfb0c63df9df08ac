// Issue 14.7: lint across owners. Each finding names whose rules it blames.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHost, lintNode, parseDump, parseNftText, versionAtLeast, type NodeLintInput } from '../../src/netfilter/index.ts';
import { firewalldForward, KUBE_POD_IPTABLES, POD_NODE_HOST } from '../support/stories.ts';

const nft = (text: string) => {
  const r = parseNftText(text);
  assert.deepEqual(r.diagnostics, []);
  return r.ruleset;
};
const host = (extra: Record<string, unknown> = {}) => {
  const h = buildHost({ ...POD_NODE_HOST, ...extra });
  assert.ok(h.ok);
  return h.host;
};
const KUBE_NFT = `table ip kube-proxy {
\tchain nat-prerouting {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t}
}
`;
const CALICO_NFT = `table ip calico {
\tchain filter-FORWARD {
\t\ttype filter hook forward priority filter; policy accept;
\t}
}
`;

const cases: { name: string; input: () => NodeLintInput; expect: [code: string, owner: string, message: RegExp][] }[] = [
  {
    name: 'an iptables accept overridden by firewalld\'s forward policy drop, for pod and Service traffic',
    input: () => ({ iptables: parseDump(KUBE_POD_IPTABLES).ruleset, nftables: nft(firewalldForward('drop')), host: host() }),
    expect: [['accept-overridden', 'firewalld', /^nft inet firewalld filter_FORWARD \(firewalld\) drops pod traffic 10\.244\.1\.10 → 10\.244\.2\.10:8080; Service default\/web\S* \(10\.96\.0\.80:80\) from a pod, which iptables filter FORWARD \(iptables \(nft backend\)\) accepted$/]],
  },
  {
    name: 'firewalld\'s forward policy drop with nothing accepting pod traffic',
    input: () => ({ iptables: parseDump(KUBE_POD_IPTABLES.replace('-A FORWARD -s 10.244.0.0/16 -j ACCEPT\n', '')).ruleset, nftables: nft(firewalldForward('drop')), host: host() }),
    expect: [['forward-policy-drop-pod-traffic', 'firewalld', /^nft inet firewalld filter_FORWARD \(firewalld\) has policy drop and no accept for pod traffic 10\.244\.1\.10 → 10\.244\.2\.10:8080; Service default\/web/]],
  },
  {
    name: 'no finding when firewalld trusts the pod network',
    input: () => ({ iptables: parseDump(KUBE_POD_IPTABLES).ruleset, nftables: nft(firewalldForward('drop', '\t\tip saddr 10.244.0.0/16 accept\n')), host: host() }),
    expect: [],
  },
  {
    name: 'kube-proxy in both modes; Calico in nftables while kube-proxy says iptables',
    input: () => ({ iptables: parseDump(KUBE_POD_IPTABLES).ruleset, nftables: nft(KUBE_NFT + CALICO_NFT), host: host(), facts: { kubeProxyMode: 'iptables' } }),
    expect: [
      ['kube-proxy-both-modes', 'kube-proxy', /kube-proxy rules of both modes are on this node \(kube-proxy says it runs in iptables mode\)/],
      ['modes-disagree', 'Calico', /kube-proxy runs in iptables mode but Calico's rules are in nftables/],
    ],
  },
  {
    name: 'nft and kernel too old for kube-proxy\'s nftables mode',
    input: () => ({ nftables: nft(KUBE_NFT), facts: { nftVersion: '0.9.8', kernel: '5.10.0-28-amd64' } }),
    expect: [
      ['nft-too-old', 'kube-proxy (nftables mode)', /nft 0\.9\.8 is older than 1\.0\.1/],
      ['kernel-too-old', 'kube-proxy (nftables mode)', /kernel 5\.10\.0-28-amd64 is older than 5\.13/],
    ],
  },
  {
    name: 'new enough: no version finding',
    input: () => ({ nftables: nft(KUBE_NFT), facts: { nftVersion: '1.0.6', kernel: '6.1.0-18-amd64' } }),
    expect: [],
  },
  {
    name: 'queue verdicts in either language',
    input: () => ({ iptables: parseDump('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 80 -j NFQUEUE --queue-num 3\nCOMMIT\n').ruleset, nftables: nft('table inet ips {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t\ttcp dport 443 queue num 1\n\t}\n}\n') }),
    expect: [
      ['queue-verdict', 'unknown', /filter INPUT rule 1 hands packets to userspace \(NFQUEUE\)/],
      ['queue-verdict', 'unknown', /nft inet ips input rule 1 hands packets to userspace \(tcp dport 443 queue num 1\)/],
    ],
  },
  {
    name: 'split brain: a legacy iptables dump and iptables-nft tables with rules',
    input: () => ({ iptables: parseDump('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n').ruleset, nftables: nft('table ip filter {\n\tchain FORWARD {\n\t\ttype filter hook forward priority 0; policy accept;\n\t\tcounter\n\t}\n}\n'), host: host({ backend: 'legacy' }) }),
    expect: [['split-brain', 'unknown', /the iptables dump is from iptables-legacy, and the nft ruleset has iptables-nft tables with rules \(ip filter\)/]],
  },
];

for (const c of cases) {
  test(`lintNode: ${c.name}`, () => {
    const findings = lintNode(c.input());
    const got = findings.map((f) => [f.code, f.owner, f.message]);
    assert.equal(findings.length, c.expect.length, JSON.stringify(got, null, 1));
    for (const [code, owner, message] of c.expect) {
      assert.ok(findings.some((f) => f.code === code && f.owner === owner && message.test(f.message)), `${code} ${owner} ${message} in ${JSON.stringify(got, null, 1)}`);
    }
  });
}

test('versionAtLeast compares numeric parts', () => {
  const rows: [string, string, boolean | undefined][] = [['1.0.6', '1.0.1', true], ['1.0.0', '1.0.1', false], ['v1.1', '1.0.1', true], ['6.1.0-18-amd64', '5.13', true], ['5.4.0', '5.13', false], ['5.13', '5.13', true], ['unknown', '1.0', undefined]];
  for (const [v, min, want] of rows) assert.equal(versionAtLeast(v, min), want, `${v} >= ${min}`);
});
