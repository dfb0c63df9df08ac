// The cheap form of a semantic diff: probe packets built from the addresses,
// protocols and ports both nodes' rulesets mention (iptables and nft) are
// traced on both nodes, and every probe whose outcomes differ is reported. So
// a node in kube-proxy's iptables mode and one in nftables mode compare by
// what they do to packets, not by their very different rules.
import type { Match, Ruleset } from '../iptables/model.ts';
import { formatIp, parseCidr } from '../pipeline/addr.ts';
import { assumedHost, type Host } from '../pipeline/host.ts';
import { validatePacket, type PacketInput } from '../pipeline/packet.ts';
import { tracePacket, type TraceOutcome } from '../pipeline/trace.ts';
import type { NftRuleset } from '../nftables/model.ts';

export interface ProbeDifference {
  readonly probe: PacketInput;
  readonly left: readonly string[];
  readonly right: readonly string[];
}

export interface SemanticDiff {
  readonly probes: number;
  readonly differences: readonly ProbeDifference[];
}

export interface SemanticDiffOptions {
  readonly leftHost?: Host;
  readonly rightHost?: Host;
  /** Each node's native nft ruleset: probes come from it too, and trace through it with the iptables dump. */
  readonly leftNft?: NftRuleset;
  readonly rightNft?: NftRuleset;
  readonly maxProbes?: number;
}

interface Seeds {
  addrs: Set<string>;
  ports: Map<string, Set<number>>;
  ifaces: Set<string>;
}

function collect(rs: Ruleset, seeds: Seeds): void {
  const addCidr = (cidr: string) => {
    const c = parseCidr(cidr);
    if (!c || c.ip.family !== rs.family) return;
    seeds.addrs.add(formatIp(c.ip));
  };
  for (const t of rs.tables) {
    for (const c of t.chains) {
      for (const r of c.rules) {
        let proto: string | undefined;
        for (const m of r.matches as Match[]) {
          if (m.kind === 'source' || m.kind === 'destination') addCidr(m.cidr);
          if (m.kind === 'protocol' && !m.negated) proto = m.protocol;
          if (m.kind === 'inInterface' && !m.negated && !m.name.endsWith('+')) seeds.ifaces.add(m.name);
          if (m.kind === 'module') {
            for (const o of m.options) {
              if ((o.name === 'dport' || o.name === 'dports') && proto) {
                for (const p of (o.args[0] ?? '').split(',')) {
                  const n = Number(p.split(':')[0]);
                  if (Number.isInteger(n)) seeds.ports.set(proto, (seeds.ports.get(proto) ?? new Set()).add(n));
                }
              }
            }
          }
        }
        if (r.target?.kind === 'extension' && r.target.name === 'DNAT') {
          const to = r.target.options.find((o) => o.name === 'to-destination')?.args[0] ?? '';
          addCidr(to.replace(/^\[/, '').split(/[\]:-]/)[0]!);
        }
      }
    }
  }
}

const PROTOS = new Set(['tcp', 'udp']);

/**
 * Seeds from an nft ruleset: addresses of the family anywhere in rules and set elements (kube-proxy
 * keeps its Service IPs in the `service-ips` map, as `ip . proto . port` keys), and the ports of
 * those keys and of `tcp|udp|th dport` matches.
 */
function collectNft(nft: NftRuleset, family: Ruleset['family'], seeds: Seeds): void {
  const addAddr = (v: unknown): void => {
    if (typeof v !== 'string') return;
    const c = parseCidr(v);
    if (c && c.ip.family === family) seeds.addrs.add(formatIp(c.ip));
  };
  const addPort = (proto: string, v: unknown): void => {
    if (typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 65536) seeds.ports.set(proto, (seeds.ports.get(proto) ?? new Set()).add(v));
  };
  const visit = (x: unknown): void => {
    if (Array.isArray(x)) return x.forEach(visit);
    if (x === null || typeof x !== 'object') return;
    const o = x as Record<string, unknown> & { kind?: string };
    if (o.kind === 'literal') addAddr(o['value']);
    else if (o.kind === 'concat') {
      const items = o['items'] as { kind: string; value?: unknown }[];
      const proto = items.find((i) => i.kind === 'literal' && typeof i.value === 'string' && PROTOS.has(i.value))?.value as string | undefined;
      if (proto) for (const i of items) if (i.kind === 'literal') addPort(proto, i.value);
    } else if (o.kind === 'match') {
      const left = o['left'] as { kind?: string; protocol?: string; field?: string };
      if (left?.kind === 'payload' && left.field === 'dport' && left.protocol) {
        const protos = PROTOS.has(left.protocol) ? [left.protocol] : left.protocol === 'th' ? ['tcp', 'udp'] : [];
        const right = o['right'] as { kind?: string; value?: unknown; elements?: { key: { kind: string; value?: unknown } }[] };
        const values = right?.kind === 'literal' ? [right.value] : right?.kind === 'set' ? (right.elements ?? []).map((e) => e.key.value) : [];
        for (const p of protos) for (const v of values) addPort(p, v);
      }
    }
    for (const v of Object.values(o)) if (typeof v === 'object') visit(v);
  };
  for (const t of nft.tables) {
    visit(t.sets);
    for (const c of t.chains) visit(c.rules);
  }
}

/** Where a probe ends — verdict, disposition, destination — with the summed probability of each. */
function ends(outcomes: readonly TraceOutcome[]): Map<string, number | null> {
  const byEnd = new Map<string, number | null>();
  for (const o of outcomes) {
    const p = o.packet as { dst: string; dport?: number };
    const key = `${o.verdict} ${o.disposition} ${p.dst}${p.dport !== undefined ? ':' + p.dport : ''}`;
    const prev = byEnd.has(key) ? byEnd.get(key)! : 0;
    byEnd.set(key, prev === null || o.probability === null ? null : prev + o.probability);
  }
  return byEnd;
}

const describe = (m: Map<string, number | null>): string[] =>
  [...m].map(([k, p]) => `${k} (${p === null ? 'probability unknown' : `${(p * 100).toFixed(1)}%`})`).sort();

/** Same ends, and the same probabilities where both sides know them. */
function sameEnds(a: Map<string, number | null>, b: Map<string, number | null>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, p] of a) {
    if (!b.has(k)) return false;
    const q = b.get(k)!;
    if (p !== null && q !== null && Math.abs(p - q) > 1e-9) return false;
  }
  return true;
}

export function semanticDiff(left: Ruleset, right: Ruleset, options: SemanticDiffOptions = {}): SemanticDiff {
  const seeds: Seeds = { addrs: new Set(), ports: new Map(), ifaces: new Set() };
  collect(left, seeds);
  collect(right, seeds);
  const family = left.family;
  if (options.leftNft) collectNft(options.leftNft, family, seeds);
  if (options.rightNft) collectNft(options.rightNft, family, seeds);
  const src = family === 'ipv4' ? '203.0.113.77' : '2001:db8::77';
  const iface = [...seeds.ifaces][0] ?? 'eth0';
  const probes: PacketInput[] = [];
  const max = options.maxProbes ?? 400;
  const portsOf = (proto: string) => [...(seeds.ports.get(proto) ?? new Set([proto === 'udp' ? 53 : 80]))].slice(0, 20);
  outer: for (const dst of seeds.addrs) {
    if (dst.endsWith('.0') || dst === '0.0.0.0' || dst === '::') continue;
    for (const proto of ['tcp', 'udp']) {
      for (const dport of portsOf(proto)) {
        probes.push({ src, dst, protocol: proto, sport: 40000, dport, inInterface: iface });
        if (probes.length >= max) break outer;
      }
    }
  }
  const differences: ProbeDifference[] = [];
  for (const probe of probes) {
    const v = validatePacket(probe);
    if (!v.ok) continue;
    const l = ends(tracePacket(left, v.packet, { host: options.leftHost ?? assumedHost(), ...(options.leftNft ? { nftables: options.leftNft } : {}) }).outcomes);
    const r = ends(tracePacket(right, v.packet, { host: options.rightHost ?? assumedHost(), ...(options.rightNft ? { nftables: options.rightNft } : {}) }).outcomes);
    if (!sameEnds(l, r)) differences.push({ probe, left: describe(l), right: describe(r) });
  }
  return { probes: probes.length, differences };
}
