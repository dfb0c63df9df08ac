// A trace as a picture: the packet's path through each node's hooks and base
// chains, one box per rule or policy that acted, forks with their
// probabilities, the end of every path, the deciding rule, near misses and
// assumptions. Outcomes share their common prefix (a trie: a statistic fork
// is one box with an arrow per endpoint), the most probable lanes are drawn
// in full and the rest fold into one "more" box at the point they leave the
// drawn ones, so a 10k-Service trace stays readable; the notes say what
// was folded.
import type { BaseChainRun } from '../base-chains.ts';
import type { ClusterEnd } from '../../pipeline/cluster.ts';
import { endsThePacket, type TraceEvent, type TraceOutcome } from '../../pipeline/trace.ts';
import { nearMissesWorthReading } from '../explain.ts';
import { shortPct } from '../present.ts';
import { Shape, Tone, type DrawEdge, type DrawFrame, type DrawNode, type Drawing } from './drawing.ts';
import { ruleLines, shorten } from './labels.ts';

/** An outcome as the core returns it or as the API's JSON has it. */
export type DrawnOutcome = Omit<TraceOutcome, 'finalPacket'>;

export interface DrawnHop {
  readonly node: string;
  readonly inInterface: string | null;
  readonly outcome: DrawnOutcome;
}

export interface DrawnClusterPath {
  readonly probability: number | null;
  readonly hops: readonly DrawnHop[];
  readonly end: ClusterEnd;
  readonly endNode: string;
  readonly summary: string;
}

/** The packet as asked (a PacketInput, a request body's packet). */
export type PacketLike = { readonly [K in 'src' | 'dst' | 'protocol' | 'sport' | 'dport' | 'inInterface' | 'local']?: unknown };

export interface TraceDrawingOptions {
  readonly title?: string;
  /** The node of a single-node trace (its frame's label). */
  readonly node?: string;
  /** The packet asked about (src, dst, protocol, ports, inInterface), for the start box. */
  readonly packet?: PacketLike;
  /** Lines put first in the notes (a what-if's before, say). */
  readonly notes?: readonly string[];
  /** Paths drawn in full; the rest fold into "more" boxes. */
  readonly maxLanes?: number;
}

export const MAX_LANES = 8;
const NEAR_MISSES_PER_HOP = 8;
const ASSUMPTIONS_PER_HOP = 4;
const WIDTH = 56;

interface Lane {
  readonly probability: number | null;
  readonly hops: readonly DrawnHop[];
  readonly endTitle: string;
  readonly endDetail: string;
  readonly end: ClusterEnd | 'FORWARDED' | 'SENT';
}

/** One box on a lane: its key among its siblings, how to draw it, where it sits. */
interface Step {
  readonly key: string;
  readonly node: (id: string) => DrawNode;
  /** Fixed text on the arrow into it (the link between two nodes). */
  readonly via?: string;
  readonly hop: number;
  /** Index of the event in its hop, for near-miss anchors. */
  readonly event?: number;
}

const ROOT = 'start';

export function drawTrace(result: { readonly outcomes: readonly DrawnOutcome[]; readonly warnings: readonly string[] }, options: TraceDrawingOptions = {}): Drawing {
  const node = options.node ?? 'node';
  const lanes: Lane[] = result.outcomes.map((o) => ({
    probability: o.probability,
    hops: [{ node, inInterface: inInterfaceOf(options.packet, o), outcome: o }],
    endTitle: o.disposition,
    endDetail: o.reason,
    end: o.disposition,
  }));
  return drawLanes(lanes, result.warnings, options, false);
}

export function drawClusterTrace(result: { readonly paths: readonly DrawnClusterPath[]; readonly warnings: readonly string[] }, options: TraceDrawingOptions = {}): Drawing {
  const lanes: Lane[] = result.paths.map((p) => ({ probability: p.probability, hops: p.hops, endTitle: `${p.end} on ${p.endNode}`, endDetail: p.summary, end: p.end }));
  return drawLanes(lanes, result.warnings, options, true);
}

function inInterfaceOf(packet: PacketLike | undefined, o: DrawnOutcome): string | null {
  const asked = packet?.inInterface ?? (packet?.local === true ? null : undefined);
  if (typeof asked === 'string' || asked === null) return asked;
  const seen = o.packet.inInterface;
  return typeof seen === 'string' ? seen : null;
}

function packetText(p: PacketLike): string {
  const port = (x: unknown) => (x === undefined || x === null ? '' : `:${x}`);
  return `${p.protocol ?? ''} ${p.src}${port(p.sport)} → ${p.dst}${port(p.dport)}`.trim();
}

const NAT = /\b(DNAT|SNAT|MASQUERADE|REDIRECT|NETMAP|dnat|snat|masquerade|redirect)\b/;

function eventTone(e: TraceEvent): Tone {
  const v = e.verdict.toUpperCase();
  if ((e.changes ?? []).some((c) => NAT.test(c))) return Tone.Nat;
  if (v === 'ACCEPT') return Tone.Accept;
  if (v === 'DROP' || v.startsWith('REJECT')) return Tone.Drop;
  if (v.startsWith('JUMP') || v.startsWith('GOTO')) return Tone.Jump;
  return Tone.Path;
}

const STOPPED: ReadonlySet<string> = new Set(['DROPPED', 'REJECTED', 'NO_ROUTE', 'LOOP', 'UNKNOWN']);

function endLook(end: Lane['end']): { shape: Shape; tone: Tone } {
  if (end === 'UNKNOWN') return { shape: Shape.Diamond, tone: Tone.Assumed };
  if (STOPPED.has(end)) return { shape: Shape.Octagon, tone: Tone.Drop };
  return { shape: Shape.Ellipse, tone: Tone.Accept };
}

function frameIds(node: string, e: Pick<TraceEvent, 'hook' | 'language' | 'backend' | 'family' | 'table'>) {
  const nodeFrame = `node:${node}`;
  const hookFrame = `${nodeFrame}/${e.hook}`;
  return { nodeFrame, hookFrame, chainFrame: `${hookFrame}/${e.language ?? 'iptables'}/${e.backend ?? ''}/${e.family ?? ''}/${e.table}` };
}

function baseChainLabel(e: TraceEvent, runs: readonly BaseChainRun[]): string {
  const mine = runs.filter((r) => r.hook === e.hook && r.table === e.table && (r.language === 'nftables') === (e.language === 'nftables') && r.family === e.family && r.backend === e.backend);
  const first = mine[0];
  const name = e.language === 'nftables' ? `nft ${e.family} ${e.table} ${[...new Set(mine.map((r) => r.chain))].join(', ') || e.chain}` : `${e.backend === 'legacy' ? 'iptables-legacy ' : ''}${e.table} ${e.hook}`;
  return first ? `${name} · ${first.owner} · priority ${first.priority}` : name;
}

function eventNode(e: TraceEvent, decisive: boolean, frame: string): (id: string) => DrawNode {
  const head = e.kind === 'policy' ? `${e.table} ${e.chain} policy ${e.verdict}` : `${e.chain} #${e.rule}${e.handle !== undefined ? ` (handle ${e.handle})` : ''} → ${e.verdict}`;
  const changes = (e.changes ?? []).map((c) => `⇒ ${shorten(c, WIDTH)}`);
  const counted = e.hits && e.hits.packets > 0 ? [`● traffic now: ${e.hits.packets.toLocaleString('en-US')} packets since ${e.hits.since}`] : [];
  const where = e.language === 'nftables' ? `nft ${e.family} ${e.table} ${e.chain}` : `${e.backend === 'legacy' ? 'iptables-legacy ' : ''}${e.table} ${e.chain}`;
  const tooltip = e.kind === 'policy' ? `${where} policy ${e.verdict}` : [`${where} rule ${e.rule}${e.line !== undefined ? ` (line ${e.line})` : ''} → ${e.verdict}`, e.text, ...(e.changes ?? [])].join('\n');
  return (id) => ({
    id,
    label: [head, ...(e.kind === 'rule' ? ruleLines(e.text, e.chain, WIDTH) : []), ...changes, ...counted],
    shape: Shape.Box,
    tone: decisive ? Tone.Decisive : eventTone(e),
    frame,
    tooltip,
  });
}

/** A lane as boxes: per hop the way in, each event, then the end. */
function laneSteps(lane: Lane, frames: Map<string, DrawFrame>): Step[] {
  const steps: Step[] = [];
  lane.hops.forEach((hop, h) => {
    const o = hop.outcome;
    const nodeFrame = `node:${hop.node}`;
    if (!frames.has(nodeFrame)) frames.set(nodeFrame, { id: nodeFrame, label: hop.node, tone: Tone.Normal });
    const prev = lane.hops[h - 1]?.outcome;
    const out = prev?.packet.outInterface;
    steps.push({
      key: `in|${hop.node}|${hop.inInterface ?? ''}`,
      hop: h,
      ...(prev ? { via: `out ${typeof out === 'string' ? out : '?'}${prev.nextHop ? ` via ${prev.nextHop}` : ''}` } : {}),
      node: (id) => ({ id, label: [hop.inInterface === null ? 'from a local process' : `in ${hop.inInterface}`], shape: Shape.Ellipse, tone: Tone.Path, frame: nodeFrame }),
    });
    const decides = endsThePacket(o);
    o.events.forEach((e, i) => {
      const ids = frameIds(hop.node, e);
      if (!frames.has(ids.hookFrame)) frames.set(ids.hookFrame, { id: ids.hookFrame, label: e.hook, tone: Tone.Path, parent: nodeFrame });
      if (!frames.has(ids.chainFrame)) frames.set(ids.chainFrame, { id: ids.chainFrame, label: baseChainLabel(e, o.baseChains ?? []), tone: Tone.Path, parent: ids.hookFrame });
      const key = `ev|${e.hook}|${e.language ?? ''}|${e.family ?? ''}|${e.backend ?? ''}|${e.table}|${e.chain}|${e.kind}|${e.rule}|${e.handle ?? ''}|${e.verdict}|${(e.changes ?? []).join(';')}`;
      steps.push({ key, hop: h, event: i, node: eventNode(e, decides && i === o.events.length - 1, ids.chainFrame) });
    });
  });
  const last = lane.hops[lane.hops.length - 1]?.outcome;
  const look = endLook(lane.end);
  // Routing, a TTL or a loop decided: no rule did, so the end itself is the decisive box.
  const endDecides = STOPPED.has(lane.end) && lane.end !== 'UNKNOWN' && !(last && endsThePacket(last));
  const lastNode = lane.hops[lane.hops.length - 1]?.node;
  steps.push({
    key: `end|${lane.endTitle}|${lane.endDetail}`,
    hop: lane.hops.length - 1,
    node: (id) => ({ id, label: [lane.endTitle, shorten(lane.endDetail, WIDTH)], shape: look.shape, tone: endDecides ? Tone.Decisive : look.tone, ...(lastNode !== undefined ? { frame: `node:${lastNode}` } : {}), tooltip: lane.endDetail }),
  });
  return steps;
}

function addProbability(to: Map<string, number | null>, id: string, p: number | null): void {
  const had = to.get(id);
  to.set(id, had === undefined ? p : had === null || p === null ? null : had + p);
}

interface Fold {
  count: number;
  probability: number | null;
  ends: Map<string, number>;
}

function drawLanes(all: readonly Lane[], warnings: readonly string[], options: TraceDrawingOptions, cluster: boolean): Drawing {
  const maxLanes = Math.max(1, options.maxLanes ?? MAX_LANES);
  // The most probable lanes are drawn (unknown probabilities last, ties to the earlier), in the
  // trace's order; the others follow, to fold where they leave the drawn ones.
  const byChance = all.map((lane, i) => ({ lane, i })).sort((a, b) => (b.lane.probability ?? -1) - (a.lane.probability ?? -1) || a.i - b.i);
  const drawn = new Set(byChance.slice(0, maxLanes).map((x) => x.i));
  const lanes = [...all.filter((_, i) => drawn.has(i)), ...all.filter((_, i) => !drawn.has(i))];
  const frames = new Map<string, DrawFrame>();
  const nodes = new Map<string, DrawNode>();
  const children = new Map<string, Map<string, string>>();
  const links: { from: string; to: string; via?: string }[] = [];
  const probability = new Map<string, number | null>();
  const folds = new Map<string, Fold>();
  const extras: DrawNode[] = [];
  const extraIds = new Set<string>();
  const extraEdges: DrawEdge[] = [];
  const notes: string[] = [...(options.notes ?? [])];
  let nextId = 1;
  let missesLeft = 0;
  let assumptionsLeft = 0;

  const packet = options.packet ? packetText(options.packet) : undefined;
  nodes.set(ROOT, { id: ROOT, label: ['packet', ...(packet ? [packet] : [])], shape: Shape.Ellipse, tone: Tone.Normal });

  lanes.forEach((lane, index) => {
    const full = index < maxLanes;
    const steps = laneSteps(lane, frames);
    const ids: string[] = [];
    let parent = ROOT;
    addProbability(probability, ROOT, lane.probability);
    for (const step of steps) {
      let kids = children.get(parent);
      if (!kids) children.set(parent, (kids = new Map()));
      let id = kids.get(step.key);
      if (id === undefined) {
        if (!full) {
          let fold = folds.get(parent);
          if (!fold) folds.set(parent, (fold = { count: 0, probability: 0, ends: new Map() }));
          fold.count++;
          fold.probability = fold.probability === null || lane.probability === null ? null : fold.probability + lane.probability;
          fold.ends.set(lane.endTitle, (fold.ends.get(lane.endTitle) ?? 0) + 1);
          return;
        }
        id = `s${nextId++}`;
        kids.set(step.key, id);
        nodes.set(id, step.node(id));
        links.push({ from: parent, to: id, ...(step.via !== undefined ? { via: step.via } : {}) });
      }
      addProbability(probability, id, lane.probability);
      ids.push(id);
      parent = id;
    }
    // Near misses and assumptions of the drawn lanes, hung on the boxes they belong to.
    lane.hops.forEach((hop, h) => {
      const hopSteps = steps.map((s, k) => ({ s, id: ids[k]! })).filter((x) => x.s.hop === h);
      const eventIds = new Map(hopSteps.filter((x) => x.s.event !== undefined).map((x) => [x.s.event!, x.id]));
      const misses = nearMissesWorthReading(hop.outcome);
      missesLeft += Math.max(0, misses.length - NEAR_MISSES_PER_HOP);
      for (const m of misses.slice(0, NEAR_MISSES_PER_HOP)) {
        const anchor = nearMissAnchor(hop.outcome.events, m, eventIds) ?? hopSteps[0]!.id;
        const id = `${anchor}.miss.${m.table}.${m.chain}.${m.rule}`;
        if (nodes.has(id) || extraIds.has(id)) continue;
        extraIds.add(id);
        const anchorFrame = nodes.get(anchor)?.frame;
        extras.push({
          id,
          label: [`${m.chain} #${m.rule} would ${m.target}`, ruleLines(m.text, m.chain, WIDTH)[0]!, `but ${shorten(m.failed, WIDTH)}`],
          shape: Shape.Rounded,
          tone: Tone.NearMiss,
          ...(anchorFrame !== undefined ? { frame: anchorFrame } : {}),
          tooltip: `near miss: ${m.table} ${m.chain} rule ${m.rule} would ${m.target}, but ${m.failed}\n${m.text}`,
        });
        extraEdges.push({ from: anchor, to: id, tone: Tone.NearMiss, style: 'dashed' });
      }
      const assumptions = hop.outcome.assumptions;
      assumptionsLeft += Math.max(0, assumptions.length - ASSUMPTIONS_PER_HOP);
      const at = hopSteps[hopSteps.length - 1]!.id;
      assumptions.slice(0, ASSUMPTIONS_PER_HOP).forEach((a) => {
        const id = `${at}.assumed.${a}`;
        if (extraIds.has(id)) return;
        extraIds.add(id);
        extras.push({ id, label: ['assumed', shorten(a, WIDTH)], shape: Shape.Note, tone: Tone.Assumed, tooltip: a });
        extraEdges.push({ from: at, to: id, tone: Tone.Assumed, style: 'dotted' });
      });
    });
  });

  const edges: DrawEdge[] = [];
  for (const link of links) {
    const siblings = (children.get(link.from)?.size ?? 0) + (folds.has(link.from) ? 1 : 0);
    const p = probability.get(link.to) ?? null;
    const fork = siblings > 1 ? shortPct(p) : undefined;
    const label = [link.via, fork].filter((x) => x !== undefined).join(' · ');
    const target = nodes.get(link.to)!;
    // The arrows into and out of the deciding box are part of the decision.
    const decisive = target.tone === Tone.Decisive || nodes.get(link.from)!.tone === Tone.Decisive;
    const tone = decisive ? Tone.Decisive : fork !== undefined && p === null ? Tone.Assumed : Tone.Path;
    edges.push({ from: link.from, to: link.to, tone, ...(label ? { label } : {}), ...(tone === Tone.Assumed ? { style: 'dotted' as const } : {}) });
  }
  let folded = 0;
  for (const [parent, fold] of folds) {
    folded += fold.count;
    const id = `${parent}.more`;
    const ends = [...fold.ends].map(([end, n]) => `${n} ${end}`).join(', ');
    const frame = nodes.get(parent)?.frame;
    extras.push({ id, label: [`+${fold.count} more ${cluster ? 'paths' : 'outcomes'}`, shorten(ends, WIDTH)], shape: Shape.Stack, tone: Tone.Muted, ...(frame !== undefined ? { frame } : {}), tooltip: `${fold.count} more: ${ends}` });
    edges.push({ from: parent, to: id, tone: Tone.Muted, style: 'dashed', label: shortPct(fold.probability) });
  }

  for (const lane of lanes.slice(0, maxLanes)) notes.push(`${shortPct(lane.probability)}: ${lane.endTitle} — ${lane.endDetail}`);
  if (folded > 0) notes.push(`${folded} less probable ${cluster ? 'paths' : 'outcomes'} are folded into "more" boxes where they leave the drawn ones (the JSON trace has them all).`);
  if (missesLeft > 0) notes.push(`${missesLeft} more near misses are not drawn (the JSON trace lists them).`);
  if (assumptionsLeft > 0) notes.push(`${assumptionsLeft} more assumptions are not drawn (the JSON trace lists them).`);
  for (const w of warnings) notes.push(`warning: ${w}`);

  return {
    title: options.title ?? `Trace${packet ? ` of ${packet}` : ''}${cluster ? ' across the cluster' : options.node ? ` on ${options.node}` : ''}`,
    // Top to bottom, as the text trace reads: rules are wide, paths are few.
    direction: 'TB',
    frames: [...frames.values()],
    nodes: [...nodes.values(), ...extras],
    edges: [...edges, ...extraEdges],
    notes,
  };
}

/** The notes of a what-if drawn with its changes applied: the changes, and how the outcomes were before. */
export function whatIfNotes(changes: readonly string[], before: readonly string[], after: readonly string[]): string[] {
  const changed = before.join('\n') !== after.join('\n');
  return [
    `What-if: drawn with ${changes.length === 1 ? 'the change' : `${changes.length} changes`} applied (hypothetical; the stored rules are unchanged): ${changes.join('; ')}`,
    changed ? 'Before the changes the outcomes differed:' : 'Before the changes the outcomes were the same.',
    ...(changed ? before.map((b) => `  before: ${b}`) : []),
  ];
}

/** Where a near miss sits on the path: after the last event before it in its chain, else the jump into its chain. */
function nearMissAnchor(events: readonly TraceEvent[], m: { table: string; chain: string; rule: number }, ids: ReadonlyMap<number, string>): string | undefined {
  let before: number | undefined;
  let into: number | undefined;
  events.forEach((e, i) => {
    if (e.language !== undefined || e.table !== m.table) return;
    if (e.chain === m.chain && e.kind === 'rule' && e.rule !== null && e.rule < m.rule) before = i;
    if (e.verdict === `JUMP:${m.chain}` || e.verdict === `GOTO:${m.chain}`) into = i;
  });
  const at = before ?? into;
  return at === undefined ? undefined : ids.get(at);
}
