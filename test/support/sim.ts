// Helpers for simulator unit tests: build small dumps, parse + trace, and
// reduce a trace to compact, comparable values.
import assert from 'node:assert/strict';
import {
  buildHost,
  parseDump,
  tracePacket,
  validatePacket,
  type Family,
  type Host,
  type HostFile,
  type Packet,
  type PacketInput,
  type Ruleset,
  type TraceResult,
} from '../../src/netfilter/index.ts';

const BUILTIN: Record<string, readonly string[]> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/**
 * One `*table ... COMMIT` block. Built-in chains are declared with policy ACCEPT
 * (or as given in `policies`), user chains named by `-A X` / `-j X` / `-g X` are
 * declared automatically.
 */
export function table(name: keyof typeof BUILTIN, rules: string | readonly string[], policies: Record<string, 'ACCEPT' | 'DROP'> = {}): string {
  const lines = (typeof rules === 'string' ? [rules] : rules).filter((l) => l.trim() !== '');
  const builtin = BUILTIN[name]!;
  const user = new Set<string>();
  for (const l of lines) {
    for (const m of l.matchAll(/(?:^-A|\s-[jg]) (\S+)/g)) {
      const c = m[1]!;
      if (!builtin.includes(c) && /^[A-Z0-9][A-Z0-9_.-]*$/i.test(c) && !isTargetName(c)) user.add(c);
    }
  }
  return [
    `*${name}`,
    ...builtin.map((c) => `:${c} ${policies[c] ?? 'ACCEPT'} [0:0]`),
    ...[...user].map((c) => `:${c} - [0:0]`),
    ...lines,
    'COMMIT',
    '',
  ].join('\n');
}

const TARGET_NAMES = new Set([
  'ACCEPT', 'DROP', 'RETURN', 'QUEUE', 'REJECT', 'DNAT', 'SNAT', 'MASQUERADE', 'REDIRECT', 'NETMAP', 'MARK', 'CONNMARK', 'LOG', 'NFLOG',
  'ULOG', 'TRACE', 'NOTRACK', 'CT', 'CHECKSUM', 'TCPMSS', 'TPROXY', 'NFQUEUE', 'SET', 'CLASSIFY', 'DSCP', 'TOS', 'TTL', 'HL', 'AUDIT',
  'CONNSECMARK', 'SECMARK', 'IDLETIMER', 'TEE',
]);
const isTargetName = (s: string): boolean => TARGET_NAMES.has(s);

/** A host with two interfaces and a default route; forwarding on. */
export const HOST: HostFile = {
  interfaces: [
    { name: 'eth0', addresses: ['192.0.2.1/24'] },
    { name: 'eth1', addresses: ['198.51.100.1/24'] },
  ],
  routes: [{ dst: 'default', via: '192.0.2.254', dev: 'eth0' }],
  forwarding: true,
};

/** The IPv6 twin of HOST. */
export const HOST6: HostFile = {
  interfaces: [
    { name: 'eth0', addresses: ['2001:db8:0:1::1/64'] },
    { name: 'eth1', addresses: ['2001:db8:0:2::1/64'] },
  ],
  routes: [{ dst: 'default', via: '2001:db8:0:1::fffe', dev: 'eth0' }],
  forwarding: true,
};

/** An incoming TCP SYN from the internet side to the node's eth0 address. */
export const PKT: PacketInput = { src: '203.0.113.7', dst: '192.0.2.1', protocol: 'tcp', sport: 40000, dport: 80, inInterface: 'eth0' };

export function parse(dump: string, family?: Family): Ruleset {
  const r = parseDump(dump, family ? { family } : {});
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  assert.deepEqual(errors, [], `test dump does not parse:\n${dump}`);
  return r.ruleset;
}

export function host(file: HostFile | null): Host | undefined {
  if (file === null) return undefined;
  const h = buildHost(file);
  assert.ok(h.ok, h.ok ? '' : h.errors.join('; '));
  return h.host;
}

export interface CompactOutcome {
  readonly p: number | null;
  readonly verdict: string;
  readonly disposition: string;
  /** `table/chain#rule:VERDICT`, `table/chain#policy:VERDICT` for policies. */
  readonly events: string[];
  /** The contract's JSON view of the final packet. */
  readonly packet: Record<string, unknown>;
  /** The final packet itself (TTL, TOS, ... that the JSON view leaves out). */
  readonly final: Packet;
  readonly assumptions: readonly string[];
  readonly reason: string;
}

export interface Compact {
  readonly outcomes: CompactOutcome[];
  readonly warnings: readonly string[];
  readonly raw: TraceResult;
}

export const eventKey = (e: { table: string; chain: string; kind: string; rule: number | null; verdict: string }): string =>
  `${e.table}/${e.chain}#${e.kind === 'policy' ? 'policy' : e.rule}:${e.verdict}`;

export interface TraceArgs {
  /** Host file; `null` traces without one (assumed host). Default HOST. */
  readonly host?: HostFile | null;
  readonly family?: Family;
}

/** Parses the dump, validates the packet, traces it and returns compact outcomes. */
export function trace(dump: string, packet: PacketInput, args: TraceArgs = {}): Compact {
  const ruleset = parse(dump, args.family);
  const v = validatePacket(packet);
  assert.ok(v.ok, v.ok ? '' : v.errors.join('; '));
  const h = host(args.host === undefined ? HOST : args.host);
  const raw = tracePacket(ruleset, v.packet, h ? { host: h } : {});
  return {
    outcomes: raw.outcomes.map((o) => ({
      p: o.probability,
      verdict: o.verdict,
      disposition: o.disposition,
      events: o.events.map(eventKey),
      packet: o.packet,
      final: o.finalPacket,
      assumptions: o.assumptions,
      reason: o.reason,
    })),
    warnings: raw.warnings,
    raw,
  };
}

/** The single outcome of a trace (fails when the trace forked). */
export function only(c: Compact): CompactOutcome {
  if (c.outcomes.length !== 1) assert.fail(`expected one outcome, got ${c.outcomes.length}:\n${show(c)}`);
  return c.outcomes[0]!;
}

/** Readable outcomes for failure messages (without the internal final packet). */
export function show(c: Compact): string {
  return JSON.stringify(c.outcomes.map(({ final: _final, ...rest }) => rest), null, 1);
}

export const sum = (xs: readonly (number | null)[]): number => xs.reduce<number>((a, x) => a + (x ?? NaN), 0);
