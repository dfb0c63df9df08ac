// The cheap form of a semantic diff: probe packets built from the addresses,
// protocols and ports both rulesets mention are traced on both nodes, and
// every probe whose outcomes differ is reported.
import type { Match, Ruleset } from '../iptables/model.ts';
import { formatIp, parseCidr } from '../pipeline/addr.ts';
import { assumedHost, type Host } from '../pipeline/host.ts';
import { validatePacket, type PacketInput } from '../pipeline/packet.ts';
import { tracePacket, type TraceOutcome } from '../pipeline/trace.ts';

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
    const l = ends(tracePacket(left, v.packet, { host: options.leftHost ?? assumedHost() }).outcomes);
    const r = ends(tracePacket(right, v.packet, { host: options.rightHost ?? assumedHost() }).outcomes);
    if (!sameEnds(l, r)) differences.push({ probe, left: describe(l), right: describe(r) });
  }
  return { probes: probes.length, differences };
}
