// The kernel's choice of NAT address and port (sim/nat.ts). The addresses
// below are what Linux picked in test/kernel/cases/targeted.ts ("NAT to port
// and address ranges"), where the same tuples run through a real kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jhash2, parseNatRange, pickNatAddress, pickNatPort } from '../../src/netfilter/pipeline/nat.ts';
import { formatIp, parseIp } from '../../src/netfilter/pipeline/addr.ts';

const flags = { persistent: false, random: false };
const ip = (s: string) => parseIp(s)!;

// Reference values from include/linux/jhash.h's jhash2 compiled with gcc (x86-64).
test('jhash2 equals the kernel implementation, all tail lengths', () => {
  assert.equal(jhash2([], 0), 0xdeadbeef);
  assert.equal(jhash2([1, 2, 3, 4], 0), 1716064838);
  assert.equal(jhash2([0x0a0200c0, 0, 0, 0], 0x010200c0), 2056595358);
  assert.equal(jhash2([0xdeadbeef, 0xffffffff, 0, 7, 0x12345678], 99), 439148164);
  assert.equal(jhash2([42], 0xffffffff), 264108534);
});

const ROWS: { name: string; range: string; src: string; dst: string; persistent?: boolean; want: string }[] = [
  { name: 'DNAT range, client .10', range: '198.51.100.40-198.51.100.47', src: '192.0.2.10', dst: '192.0.2.1', want: '198.51.100.43' },
  { name: 'DNAT range, client .11', range: '198.51.100.40-198.51.100.47', src: '192.0.2.11', dst: '192.0.2.1', want: '198.51.100.44' },
  { name: 'SNAT range, client .10', range: '198.51.100.60-198.51.100.69', src: '192.0.2.10', dst: '198.51.100.10', want: '198.51.100.60' },
  { name: 'SNAT range, client .77', range: '198.51.100.60-198.51.100.69', src: '192.0.2.77', dst: '198.51.100.10', want: '198.51.100.61' },
  { name: 'one address is no choice', range: '198.51.100.5', src: '192.0.2.10', dst: '192.0.2.1', want: '198.51.100.5' },
];

for (const row of ROWS) {
  test(`pickNatAddress: ${row.name}`, () => {
    const r = parseNatRange(row.range, 'ipv4', { ...flags, persistent: row.persistent ?? false });
    assert.equal(formatIp(pickNatAddress(r, ip(row.src), ip(row.dst))!), row.want);
  });
}

test('pickNatAddress stays inside the range for many clients, IPv4 and IPv6', () => {
  const r4 = parseNatRange('198.51.100.40-198.51.100.47', 'ipv4', flags);
  const r6 = parseNatRange('[2001:db8::10-2001:db8::1f]:80', 'ipv6', flags);
  const seen = new Set<string>();
  for (let i = 1; i < 200; i++) {
    const a = pickNatAddress(r4, ip(`192.0.2.${i}`), ip('192.0.2.1'))!;
    assert.ok((a.n as number) >= (r4.minIp!.n as number) && (a.n as number) <= (r4.maxIp!.n as number));
    seen.add(formatIp(a));
    const b = pickNatAddress(r6, ip(`2001:db8:1::${i.toString(16)}`), ip('2001:db8::1'))!;
    assert.ok((b.n as bigint) >= (r6.minIp!.n as bigint) && (b.n as bigint) <= (r6.maxIp!.n as bigint));
  }
  assert.ok(seen.size > 4, 'connections spread over the range');
});

test('--persistent: the address depends on the client only', () => {
  const r = parseNatRange('198.51.100.40-198.51.100.47', 'ipv4', { persistent: true, random: false });
  const a = formatIp(pickNatAddress(r, ip('192.0.2.10'), ip('192.0.2.1'))!);
  for (const dst of ['192.0.2.2', '203.0.113.9']) assert.equal(formatIp(pickNatAddress(r, ip('192.0.2.10'), ip(dst))!), a);
});

const PORTS: { name: string; spec: string; port: number; side: 'src' | 'dst'; random?: boolean; want: number; choice?: boolean }[] = [
  { name: 'DNAT keeps a port inside the range', spec: '198.51.100.20:9000-9010', port: 9005, side: 'dst', want: 9005 },
  { name: 'DNAT takes the first port for one outside', spec: '198.51.100.20:9000-9010', port: 9015, side: 'dst', want: 9000 },
  { name: 'DNAT --random picks at random even inside', spec: '198.51.100.20:9000-9010', port: 9005, side: 'dst', random: true, want: 9000, choice: true },
  { name: 'SNAT keeps a source port inside the range', spec: '198.51.100.70:20000-20010', port: 20004, side: 'src', want: 20004 },
  { name: 'SNAT picks at random for one outside', spec: '198.51.100.70:20000-20010', port: 40000, side: 'src', want: 20000, choice: true },
  { name: 'a single port is no choice', spec: '198.51.100.70:20000', port: 40000, side: 'src', want: 20000 },
];

for (const row of PORTS) {
  test(`pickNatPort: ${row.name}`, () => {
    const pick = pickNatPort(parseNatRange(row.spec, 'ipv4', { persistent: false, random: row.random ?? false }), row.port, row.side)!;
    assert.equal(pick.port, row.want);
    assert.equal(pick.random !== undefined, row.choice ?? false);
  });
}
