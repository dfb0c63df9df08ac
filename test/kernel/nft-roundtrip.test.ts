// Kernel round trip of the nft text parser and printer (private namespaces only):
// for every corpus ruleset nft 1.0.6 loads (and the MANIFEST's repaired
// variants of those that fail for a known reason):
//  - L1 = `nft list ruleset` after loading the original;
//  - L2 = the same after loading printNftRuleset(parseNftText(original)); L1 must equal L2,
//    and so must the `nft -j list ruleset` twins (handles aside);
//  - the kernel's own listing L1 (and its `nft -a` twin, handles kept) parses without diagnostics,
//    parse(print(parse(L1))) is the same model as parse(L1), and reloading our printing of L1 gives L1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseNftText, printNftRuleset, type NftRuleset } from '../../src/netfilter/nftables/index.ts';
import { CORPUS, corpusAvailable } from '../support/paths.ts';
import { nftAvailable, nftCheck, nftLoadAndList } from './nft-netns.ts';

const avail = await nftAvailable();
const NFT_DIR = join(CORPUS, 'nft');

/** Repairs the MANIFEST describes for files nft 1.0.6 refuses for one known reason. */
function repaired(name: string, text: string): string | undefined {
  if (name.startsWith('docker29-')) return text.replace(/hook output priority dstnat/g, 'hook output priority -100');
  if (name === 'kube-proxy-nftables-unit-test-overall-rules.txt') {
    const lines = text.split('\n');
    const late = (l: string): boolean => /^add (rule|element) /.test(l);
    return [...lines.filter((l) => !late(l)), ...lines.filter(late)].join('\n');
  }
  return undefined;
}

/** Statements and objects the corpus lacks (queue and ibrname left out: this kernel has neither). */
const INLINE = `
table inet x {
	counter cnt { packets 1 bytes 2 }
	quota q { over 25 mbytes used 1 kbytes }
	limit lim { rate over 10 mbytes/second burst 1 mbytes }
	ct helper ftp { type "ftp" protocol tcp; l3proto inet; }
	ct timeout to1 { protocol udp; l3proto ip; policy = { unreplied : 10, replied : 60 }; }
	ct expectation ex { protocol tcp; dport 5432; timeout 1h; size 12; l3proto ip; }
	synproxy sp { mss 1460 wscale 7 timestamp sack-perm }
	set aff { type ipv4_addr; flags dynamic,timeout; timeout 3h; size 1000; }
	set cs { type ipv4_addr; counter; elements = { 192.0.2.7 counter packets 2 bytes 100 comment "seven" } }
	set s6 { type ipv6_addr . inet_service; flags interval; auto-merge; elements = { 2001:db8::/32 . 80-90, ::1 . 443 } }
	map m4 { type ipv4_addr . inet_service : ipv4_addr . inet_service; elements = { 192.0.2.1 . 80 : 198.51.100.1 . 8080 } }
	map vm { type ifname : verdict; flags interval; elements = { "eth0" : jump sub, "lo*" : accept } }
	chain sub {
		counter name "cnt" quota name "q" limit name "lim" return
	}
	chain pre {
		type filter hook prerouting priority raw - 10; policy accept;
		@nh,16,8 0x10 notrack
		tcp dport 21 ct helper set "ftp"
		udp dport 53 ct timeout set "to1"
		tcp dport 5432 ct expectation set "ex"
		ct original ip saddr 192.0.2.1 meta mark set ct mark
		ct mark set meta mark & 0xffff | 0x10
	}
	chain in {
		type filter hook input priority filter + 10; policy drop;
		ct state invalid drop
		ct state established,related accept
		iifname vmap @vm
		tcp flags syn tcp dport 22 update @aff { ip saddr timeout 1h limit rate 3/minute } accept
		tcp flags & (fin | syn | rst | ack) == syn log prefix "SYN " level debug flags tcp sequence,options flags ip options
		tcp flags syn / syn,ack,rst limit rate over 5/second burst 10 packets drop
		meta hour "08:00"-"17:00" meta day { "Monday", "Friday" } accept
		meta l4proto tcp jump { tcp dport 80 accept; tcp dport 443 accept; }
		ct state vmap { new : jump sub, untracked : continue }
		tcp dport 8443 synproxy mss 1460 wscale 7 timestamp sack-perm
		tcp dport 8444 synproxy name "sp"
		ip protocol icmp reject with icmp type host-unreachable
		ip6 nexthdr icmpv6 reject with icmpv6 type admin-prohibited
		meta l4proto tcp reject with tcp reset
		reject with icmpx type port-unreachable
		reject
	}
	chain forward_c {
		type filter hook forward priority 0; policy accept;
		tcp flags syn tcp option maxseg size set rt mtu
		ip dscp set cs1
		ip6 daddr . tcp dport @s6 counter packets 0 bytes 0
		ip saddr & 255.255.0.0 == 10.1.0.0 accept
		meta mark & 0x00010000 == 0x00010000 accept comment "marked"
		iif "lo" oif != "lo" meta pkttype { broadcast, multicast } drop
		fib saddr . mark . iif oif 0 drop
		ether saddr 02:00:00:00:00:01 drop
		ip ttl < 2 drop
		add @aff { ip saddr }
		ip saddr @cs update @aff { ip saddr counter }
		exthdr hbh exists drop
		frag more-fragments 1 counter drop
		rt type 0 drop
	}
	chain nat_pre {
		type nat hook prerouting priority dstnat; policy accept;
		tcp dport 80 dnat ip to 192.0.2.1:8080
		tcp dport 81 dnat ip6 to [2001:db8::1]:8080
		tcp dport 82 dnat ip addr . port to ip daddr . tcp dport map @m4
		tcp dport 83 dnat ip to numgen random mod 2 map { 0 : 192.0.2.1, 1 : 192.0.2.2 }
		tcp dport 84 dnat ip to jhash ip saddr . tcp sport mod 2 seed 0xdeadbeef offset 1 map { 1 : 192.0.2.1, 2 : 192.0.2.2 }
		tcp dport 85 redirect to :8080
		tcp dport 86 dnat ip to 192.0.2.1-192.0.2.9:1000-2000 persistent
		tcp dport 87 meta nfproto ipv4 dnat ip to symhash mod 2 map { 0 : 192.0.2.3, 1 : 192.0.2.4 }
	}
	chain nat_post {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 10.0.0.0/8 meta l4proto tcp masquerade to :1024-65535 fully-random,persistent
		ip saddr 10.1.0.0/16 snat ip to 192.0.2.1-192.0.2.5 random
		ip6 saddr fd00::/8 snat ip6 to [2001:db8::1]-[2001:db8::5]
		oifname "eth0" ip saddr 10.2.0.0/16 snat ip prefix to ip saddr map { 10.2.0.0/16 : 192.168.0.0/16 }
		masquerade
	}
}
table netdev nd {
	chain ing {
		type filter hook ingress device "lo" priority filter; policy accept;
		ether type arp dup to "lo"
		vlan id 42 vlan pcp 1 drop
		udp dport 53 fwd to "lo"
	}
}
table bridge br {
	chain f {
		type filter hook forward priority filter; policy accept;
		vlan id != { 1, 2 } vlan type ip6 accept
	}
}
table arp a {
	chain in {
		type filter hook input priority 0; policy accept;
		arp operation request accept
	}
}
`.slice(1);

function inputs(): { name: string; text: string }[] {
  const out: { name: string; text: string }[] = [{ name: 'inline: every statement and object kind', text: INLINE }];
  if (!corpusAvailable()) return out;
  for (const f of readdirSync(NFT_DIR).sort()) {
    const text = readFileSync(join(NFT_DIR, f), 'utf8');
    out.push({ name: f, text });
    const r = repaired(f, text);
    if (r !== undefined) out.push({ name: `${f} (repaired as MANIFEST says)`, text: r });
  }
  return out;
}

/** The model without where-it-came-from fields (line, raw, handle, position). */
function shape(r: NftRuleset): unknown {
  return JSON.parse(JSON.stringify(r, (k, v: unknown) => (k === 'line' || k === 'raw' || k === 'handle' || k === 'position' ? undefined : v)));
}

function withoutHandles(json: string): unknown {
  return JSON.parse(json, (k, v: unknown) => (k === 'handle' || k === 'metainfo' ? undefined : v));
}

function firstDiff(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) if (x[i] !== y[i]) return `line ${i + 1}:\n  L1: ${x[i]}\n  L2: ${y[i]}`;
  return '';
}

const skip = (t: { skip: (m: string) => void }): boolean => {
  if (avail.ok) return false;
  console.warn(`\n!!! NFT KERNEL ROUND-TRIP TEST SKIPPED: ${avail.reason}\n`);
  t.skip(avail.reason);
  return true;
};

test('kernel round trip: listing after loading our printing equals listing after loading the original', async (t) => {
  if (skip(t)) return;
  let loadable = 0;
  const identical: string[] = [];
  const refused: string[] = [];
  for (const { name, text } of inputs()) {
    const l1 = await nftLoadAndList(text);
    if (!l1.ok) {
      refused.push(`${name}: ${l1.stderr.split('\n')[0]}`);
      continue;
    }
    loadable++;
    const parsed = parseNftText(text);
    assert.deepEqual(parsed.diagnostics.filter((d) => d.severity === 'error'), [], `${name}: nft loads it, so no error diagnostic`);
    const printed = printNftRuleset(parsed.ruleset);
    const check = await nftCheck(printed);
    assert.ok(check.ok, `${name}: nft -c -f refuses our printing: ${check.stderr}`);
    const l2 = await nftLoadAndList(printed);
    assert.ok(l2.ok, `${name}: loading our printing failed: ${l2.stderr}`);
    assert.equal(l2.stdout, l1.stdout, `${name}: kernel listings differ at ${firstDiff(l1.stdout, l2.stdout)}`);
    const j1 = await nftLoadAndList(text, { json: true });
    const j2 = await nftLoadAndList(printed, { json: true });
    assert.deepEqual(withoutHandles(j2.stdout), withoutHandles(j1.stdout), `${name}: nft -j listings differ`);
    identical.push(name);

    // the kernel's own listing: parses cleanly, and print/parse keeps its model
    const p1 = parseNftText(l1.stdout);
    assert.deepEqual(p1.diagnostics, [], `${name}: diagnostics on the kernel's listing`);
    assert.deepEqual(shape(parseNftText(printNftRuleset(p1.ruleset)).ruleset), shape(p1.ruleset), `${name}: parse(print(parse(L1))) != parse(L1)`);
    const l3 = await nftLoadAndList(printNftRuleset(p1.ruleset));
    assert.equal(l3.stdout, l1.stdout, `${name}: reloading our printing of the kernel's listing changes it at ${firstDiff(l1.stdout, l3.stdout)}`);

    // `nft -a`: handles become model handles; printed back as comments they change nothing
    const la = await nftLoadAndList(text, { handles: true });
    const pa = parseNftText(la.stdout);
    assert.deepEqual(pa.diagnostics, [], `${name}: diagnostics on nft -a listing`);
    const all = pa.ruleset.tables.flatMap((tb) => [tb, ...tb.chains, ...tb.sets, ...tb.chains.flatMap((c) => c.rules)]);
    assert.ok(all.every((x) => typeof x.handle === 'number' && x.handle > 0), `${name}: every table, chain, set and rule has its handle`);
    assert.deepEqual(shape(pa.ruleset), shape(p1.ruleset), `${name}: nft -a listing parses to the same model`);
    const l4 = await nftLoadAndList(printNftRuleset(pa.ruleset, { handles: true }));
    assert.equal(l4.stdout, l1.stdout, `${name}: printing with # handle comments changes the listing`);
  }
  console.log(`nft round trip: ${identical.length}/${loadable} loadable rulesets identical; nft refused ${refused.length}:\n  ${refused.join('\n  ')}`);
  assert.ok(loadable >= 21, `expected at least 20 loadable corpus rulesets, got ${loadable}`);
  assert.equal(identical.length, loadable);
});

test('printer round trip on every nftables differential ruleset: the kernel lists our printing as it lists the original', { skip: avail.ok ? false : avail.reason }, async () => {
  const { NFT_CASES } = await import('./cases/nft.ts');
  let checked = 0;
  for (const c of NFT_CASES) {
    const l1 = await nftLoadAndList(c.nft);
    assert.ok(l1.ok, `${c.name}: nft refuses the case: ${l1.ok ? '' : l1.stderr}`);
    const parsed = parseNftText(c.nft);
    assert.deepEqual(parsed.diagnostics.filter((d) => d.severity === 'error'), [], c.name);
    const l2 = await nftLoadAndList(printNftRuleset(parsed.ruleset));
    assert.ok(l2.ok, `${c.name}: nft refuses our printing: ${l2.ok ? '' : l2.stderr}`);
    assert.equal(l2.stdout, l1.stdout, c.name);
    checked++;
  }
  assert.ok(checked >= 20);
});
