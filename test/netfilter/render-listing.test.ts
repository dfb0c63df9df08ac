// The listing form, inline: what `iptables -L -n -v --line-numbers` prints
// (test/kernel/listing.test.ts compares against the real command).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDump } from '../../src/netfilter/index.ts';
import { formatCount, renderTableListing } from '../../src/netfilter/iptables/printer/render-listing.ts';

test('counters abbreviate as xtables_print_num does without -x', () => {
  assert.deepEqual([0n, 99999n, 100000n, 123456n, 9999999n, 12345678901n].map((n) => formatCount(n)), ['    0', '99999', ' 100K', ' 123K', '  10M', '  12G']);
  assert.equal(formatCount(123456n, false), '123K');
});

test('a filter table: headers, num column, hosts without /32, extensions as iptables prints them', () => {
  const t = parseDump(`*filter
:INPUT DROP [12:3456]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:SSH - [0:0]
[100:200] -A INPUT -s 192.0.2.10/32 -p tcp -m tcp --dport 22 -j SSH
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "replies" -j ACCEPT
-A SSH -i eth0 -j ACCEPT
COMMIT
`).ruleset.tables[0]!;
  assert.equal(
    renderTableListing(t),
    [
      'Chain INPUT (policy DROP 12 packets, 3456 bytes)',
      'num   pkts bytes target     prot opt in     out     source               destination         ',
      '1      100   200 SSH        6    --  *      *       192.0.2.10           0.0.0.0/0            tcp dpt:22',
      '2        0     0 ACCEPT     0    --  *      *       0.0.0.0/0            0.0.0.0/0            ctstate RELATED,ESTABLISHED /* replies */',
      '',
      'Chain FORWARD (policy ACCEPT 0 packets, 0 bytes)',
      'num   pkts bytes target     prot opt in     out     source               destination         ',
      '',
      'Chain OUTPUT (policy ACCEPT 0 packets, 0 bytes)',
      'num   pkts bytes target     prot opt in     out     source               destination         ',
      '',
      'Chain SSH (1 references)',
      'num   pkts bytes target     prot opt in     out     source               destination         ',
      '1        0     0 ACCEPT     0    --  eth0   *       0.0.0.0/0            0.0.0.0/0           ',
      '',
    ].join('\n'),
  );
});
