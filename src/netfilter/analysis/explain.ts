// Human explanations: why a rule did not match (for near misses) and what
// a trace outcome means, with the likely origin and a fix for well-known
// situations.
import type { Match } from '../iptables/model.ts';
import { formatIp } from '../pipeline/addr.ts';
import { hexMark } from '../pipeline/packet.ts';
import type { EvalContext } from '../pipeline/context.ts';
import { ctStates } from '../iptables/eval/matches.ts';
import type { BaseChainRun } from './base-chains.ts';

const opt = (m: Match & { kind: 'module' }, name: string) => m.options.find((o) => o.name === name);

/** Says, in the packet's terms, why one match of a rule failed. */
export function describeMismatch(m: Match, ctx: EvalContext): string {
  const p = ctx.packet;
  const neg = (n: boolean) => (n ? 'is' : 'is not');
  switch (m.kind) {
    case 'source':
      return `the source ${formatIp(p.src)} ${neg(m.negated)} in ${m.cidr}`;
    case 'destination':
      return `the destination ${formatIp(p.dst)} ${neg(m.negated)} in ${m.cidr}`;
    case 'inInterface':
      return `the packet came in on ${p.inInterface ?? '(local process)'}, ${m.negated ? '' : 'not '}${m.name}`;
    case 'outInterface':
      return `the packet leaves on ${p.outInterface ?? '(not yet routed)'}, ${m.negated ? '' : 'not '}${m.name}`;
    case 'protocol':
      return `the protocol is ${p.protocol}, ${m.negated ? '' : 'not '}${m.protocol}`;
    case 'fragment':
      return m.negated ? 'the packet is a fragment' : 'the packet is not a fragment';
    case 'module': {
      switch (m.module) {
        case 'mark':
        case 'connmark': {
          const o = opt(m, 'mark');
          const v = m.module === 'mark' ? p.mark : p.connmark;
          const what = m.module === 'mark' ? 'mark' : 'connmark';
          return o?.negated ? `the ${what} ${hexMark(v)} matches ${o.args[0]}, which the rule excludes` : `the ${what} is ${hexMark(v)}, not ${o?.args[0]}`;
        }
        case 'conntrack':
        case 'state': {
          const o = opt(m, m.module === 'state' ? 'state' : 'ctstate');
          const states = [...ctStates(ctx)].join(',');
          if (o) return `the conntrack state is ${states}, ${o.negated ? '' : 'not '}${o.args[0]}`;
          break;
        }
        case 'tcp':
        case 'udp':
        case 'sctp': {
          const d = opt(m, 'dport');
          const s = opt(m, 'sport');
          if (d && p.dport !== undefined) return `the destination port is ${p.dport}, ${d.negated ? '' : 'not '}${d.args[0]}`;
          if (s && p.sport !== undefined) return `the source port is ${p.sport}, ${s.negated ? '' : 'not '}${s.args[0]}`;
          break;
        }
        case 'multiport': {
          const o = m.options[0];
          if (o) return `the ${o.name.startsWith('s') ? 'source' : 'destination'} port is ${o.name.startsWith('s') ? p.sport : p.dport}, ${o.negated ? '' : 'not '}in ${o.args[0]}`;
          break;
        }
        case 'addrtype': {
          const o = m.options.find((x) => x.name === 'dst-type' || x.name === 'src-type');
          if (o) return `the ${o.name === 'dst-type' ? 'destination' : 'source'} address type is ${o.negated ? '' : 'not '}${o.args[0]}`;
          break;
        }
        case 'comment':
          break;
      }
      return `-m ${m.module}${m.options.map((o) => `${o.negated ? ' !' : ''} --${o.name} ${o.args.join(' ')}`).join('')} does not hold`;
    }
  }
  return 'a condition does not hold';
}

export interface Explanation {
  /** One or two sentences: what happened and which rule or policy decided it. */
  readonly summary: string;
  readonly decidedBy: string;
  /** Where marks and NAT were set along the way. */
  readonly changes: readonly string[];
  readonly nearMisses: readonly string[];
  /** For well-known situations: where this comes from and what to change. */
  readonly origin?: string;
  readonly fix?: readonly string[];
}

interface OutcomeLike {
  readonly verdict: string;
  readonly disposition: string;
  readonly reason: string;
  readonly packet: Record<string, unknown>;
  readonly events: readonly { table: string; chain: string; kind: string; rule: number | null; text: string; verdict: string; changes?: readonly string[]; language?: 'nftables'; family?: string; backend?: 'legacy' }[];
  readonly nearMisses: readonly { table: string; chain: string; rule: number; target: string; failed: string }[];
}

export interface ExplainContext {
  /** Names of the node's filter-table chains (to spot Docker's DOCKER-USER). */
  readonly filterChains: ReadonlySet<string>;
  readonly node?: string;
  /** The packet before the trace changed it (for the original destination port). */
  readonly originalDport?: number;
}

/** A base chain as it reads in a sentence: nft ones with their family and table, as `nft` names them. */
function baseChainName(b: BaseChainRun): string {
  return b.language === 'nftables' ? `the nft chain ${b.family} ${b.table} ${b.chain}` : `the ${b.backend === 'legacy' ? 'iptables-legacy' : 'iptables'} ${b.table} ${b.chain} chain`;
}

/** The near misses worth reading: those that would have turned the outcome around (at most 12). */
export function nearMissesWorthReading<N extends { readonly target: string }>(o: { readonly disposition: string; readonly nearMisses: readonly N[] }): N[] {
  const dropped = o.disposition === 'DROPPED' || o.disposition === 'REJECTED';
  const blocking = (t: string) => t === 'DROP' || t === 'REJECT';
  return o.nearMisses.filter((n) => (dropped ? !blocking(n.target) && n.target !== 'RETURN' && !n.target.startsWith('jump to KUBE-MARK') : blocking(n.target))).slice(0, 12);
}

export function explainOutcome(o: OutcomeLike, ctx: ExplainContext, baseChains: readonly BaseChainRun[] = []): Explanation {
  const last = o.events[o.events.length - 1];
  const where = (e: NonNullable<typeof last>) => {
    const chain = e.language === 'nftables' ? `nft ${e.family} ${e.table} ${e.chain}` : `${e.backend === 'legacy' ? 'iptables-legacy ' : ''}${e.table} ${e.chain}`;
    return e.kind === 'policy' ? `the ${chain} policy ${e.verdict}` : `${chain} rule ${e.rule} (${e.text})`;
  };
  const changes = o.events.flatMap((e) => (e.changes ?? []).map((c) => `${c} — ${e.table} ${e.chain} rule ${e.rule}`));
  const nearMisses = nearMissesWorthReading(o)
    .map((n) => `${n.table} ${n.chain} rule ${n.rule} would ${n.target}, but ${n.failed}`);
  const node = ctx.node ? `on ${ctx.node} ` : '';
  const p = o.packet as { src?: string; dst?: string; dport?: number; inInterface?: string | null; outInterface?: string | null };
  let decidedBy = last ? where(last) : o.reason;
  let summary: string;
  let origin: string | undefined;
  let fix: string[] | undefined;
  switch (o.disposition) {
    case 'DROPPED':
    case 'REJECTED':
      summary = `The packet is ${o.disposition === 'REJECTED' ? 'rejected' : 'dropped'} ${node}by ${decidedBy}.`;
      if (!last) decidedBy = o.reason;
      break;
    case 'NO_ROUTE':
      summary = `The packet is dropped ${node}by routing: ${o.reason}.`;
      decidedBy = 'routing';
      break;
    case 'DELIVERED_LOCAL':
      summary = `The packet is delivered to a local process ${node}(${p.dst}${p.dport !== undefined ? ':' + p.dport : ''}).`;
      break;
    case 'FORWARDED':
    case 'SENT':
      summary = `The packet leaves ${ctx.node ? `${ctx.node} ` : ''}on ${p.outInterface ?? '?'} towards ${p.dst}${p.dport !== undefined ? ':' + p.dport : ''}.`;
      break;
    default:
      summary = `The outcome ${node}is unknown: ${o.reason}.`;
  }
  const decider = baseChains.find((b) => b.decided);
  // Another owner's accept (an nft chain's, or the other iptables backend's) that did not stop the drop.
  // (An iptables chain's default ACCEPT policy is not worth naming.)
  const otherOwner = (b: BaseChainRun): boolean => b.language === 'nftables' || (!b.byPolicy && (b.language !== decider?.language || b.backend !== decider.backend));
  const overridden = decider ? baseChains.filter((b) => b.hook === decider.hook && b !== decider && otherOwner(b) && (b.verdict === 'accept' || b.verdict === 'ACCEPT')) : [];
  if (decider && overridden.length) {
    // nftables: an accept ends only its own base chain; every other base chain at the hook still runs.
    origin = `${overridden.map((b) => `${baseChainName(b)} (${b.owner}) accepted the packet`).join('; ')}, but ${overridden.some((b) => b.language === 'nftables') ? 'in nftables ' : ''}an accept ends only its own base chain: ${baseChainName(decider)} (${decider.owner}, priority ${decider.priority}) at the same ${decider.hook} hook still ran and dropped it.`;
    const inIf = p.inInterface ? ` -i ${p.inInterface}` : '';
    const outIf = p.outInterface ? ` -o ${p.outInterface}` : '';
    if (decider.language === 'iptables') fix = [`${decider.backend === 'legacy' ? 'iptables-legacy' : 'iptables'} -t ${decider.table} -I ${decider.chain}${inIf}${outIf}${p.dst ? ` -d ${p.dst}` : ''} -j ACCEPT`];
    else fix = [`nft insert rule ${decider.family} ${decider.table} ${decider.chain}${p.inInterface ? ` iifname "${p.inInterface}"` : ''}${p.outInterface ? ` oifname "${p.outInterface}"` : ''} accept`];
  } else if (last?.kind === 'policy' && last.verdict === 'DROP' && last.table === 'filter' && last.chain === 'FORWARD' && ctx.filterChains.has('DOCKER-USER')) {
    origin = 'Docker sets the filter FORWARD policy to DROP (since Docker 1.13); traffic that Docker did not set up, such as pod traffic between nodes, falls through to it.';
    const inIf = p.inInterface ? ` -i ${p.inInterface}` : '';
    const outIf = p.outInterface ? ` -o ${p.outInterface}` : '';
    const subnet = p.dst && /^\d+\.\d+\.\d+\.\d+$/.test(p.dst) ? p.dst.replace(/\.\d+$/, '.0/24') : p.dst;
    fix = [`iptables -I DOCKER-USER${inIf}${outIf} -j ACCEPT`, `iptables -A FORWARD${inIf} -d ${subnet} -j ACCEPT`];
  } else if (last?.kind === 'rule' && ((last.verdict === 'DROP' && /has no endpoints/.test(last.text)) || (last.language === 'nftables' && last.table === 'kube-proxy' && last.chain === 'reject-chain'))) {
    origin = 'kube-proxy rejects traffic to a Service that has no ready endpoints.';
    fix = ['kubectl get endpointslices -l kubernetes.io/service-name=<service> — check the Service selector and that its pods are Ready'];
  } else if ((o.disposition === 'DROPPED' || o.disposition === 'REJECTED') && last?.table === 'filter' && (last.chain === 'INPUT' || o.events.some((e) => e.table === 'filter' && e.chain === 'INPUT')) && ctx.originalDport !== undefined && ctx.originalDport >= 30000 && ctx.originalDport <= 32767) {
    origin = `A NodePort (${ctx.originalDport}) is dropped by the node's INPUT rules.`;
    fix = [`iptables -I INPUT -p tcp --dport ${ctx.originalDport} -j ACCEPT`];
  } else if (o.disposition === 'NO_ROUTE' && /forwarding .* is off/.test(o.reason)) {
    origin = 'IP forwarding is disabled on this node, so it does not route packets that are not addressed to it.';
    fix = ['sysctl -w net.ipv4.ip_forward=1'];
  }
  return { summary, decidedBy, changes, nearMisses, ...(origin ? { origin } : {}), ...(fix ? { fix } : {}) };
}
