// Runs in a worker thread (piscina): the heavy analyses of one stored version,
// parsed here from its text, so the server's event loop keeps answering
// (/healthz, uploads, traces) while a 10k-Service node is linted.
import { threadId } from 'node:worker_threads';
import { move } from 'piscina';
import { applyRuleChanges, buildHost, diffNftRulesets, diffRulesets, extractNftServices, extractServices, formatNftUnifiedDiff, formatUnifiedDiff, lintNode, lintRuleset, outlineCanonicalText, parseDump, parseNftJson, parseNftText, semanticDiff, traceCluster, tracePacket, type ClusterNode, type DumpFormat, type Finding, type Host, type NodeFacts, type Ruleset, type RulesetOutline } from '../../netfilter/index.ts';
import type { AnalysisResult, AnalysisTask, ClusterWhatIfAnswer, ClusterWhatIfTask, DiffAnswer, DiffSide, DiffTask, LayoutTask, WhatIfAnswer, WhatIfTask } from './task.ts';
import { dotToSvg, loadGraphviz, type Graphviz } from '../../draw/svg.ts';

const hostOf = (json: string | null): Host | undefined => {
  const h = json === null ? undefined : buildHost(JSON.parse(json) as unknown);
  return h?.ok ? h.host : undefined;
};

type Probes = { count: number; differences: { probe: Record<string, unknown>; left: string[]; right: string[] }[] };

/** Probe packets traced through both nodes' whole netfilter (iptables of the probes' family and nft). */
function probeBoth(task: DiffTask, left: Ruleset | undefined, right: Ruleset | undefined): Probes {
  const family = task.family === 'nft' ? 'ipv4' : task.family;
  const ipt = (side: DiffSide, parsed: Ruleset | undefined): Ruleset => parsed ?? parseDump(side.probeIptables ?? '', { family, format: 'iptables-save' }).ruleset;
  const nft = (side: DiffSide) => (side.probeNft !== undefined ? parseNftText(side.probeNft).ruleset : undefined);
  const [lh, rh] = [hostOf(task.left.hostJson), hostOf(task.right.hostJson)];
  const [ln, rn] = [nft(task.left), nft(task.right)];
  const s = semanticDiff(ipt(task.left, left), ipt(task.right, right), { ...(lh ? { leftHost: lh } : {}), ...(rh ? { rightHost: rh } : {}), ...(ln ? { leftNft: ln } : {}), ...(rn ? { rightNft: rn } : {}) });
  return { count: s.probes, differences: s.differences.map((x) => ({ probe: { ...x.probe }, left: [...x.left], right: [...x.right] })) };
}

/** The nft rulesets compared: tables, chains rule by rule, sets and maps by members. */
function diffNft(task: DiffTask): DiffAnswer {
  const d = diffNftRulesets(parseNftText(task.left.text).ruleset, parseNftText(task.right.text).ruleset);
  if (task.unified) return move(Buffer.from(formatNftUnifiedDiff(d, task.left.label, task.right.label))) as DiffAnswer;
  const probes = task.probes ? probeBoth(task, undefined, undefined) : undefined;
  const summary = { policiesDiffer: d.chains.filter((c) => c.base && c.base.left !== null && c.base.right !== null).length, ...d.summary };
  const answer = { ...task.sides, family: 'nft', summary, tablesOnlyLeft: d.tablesOnlyLeft, tablesOnlyRight: d.tablesOnlyRight, chains: d.chains, sets: d.sets, ...(probes ? { probes } : {}) };
  return move(Buffer.from(JSON.stringify(answer))) as DiffAnswer;
}

/**
 * The answer's bytes (moved to the main thread, not copied): the unified text, or the DiffResult
 * JSON. Without probes the stored canonical texts are only outlined, not parsed: two 10k-Service
 * nodes then need a fraction of the heap (issue 17).
 */
/** What the agent put in the host file about the node (`nft.version`, `kernel`, `kubeProxy.mode`). */
function factsOf(json: string | null): NodeFacts | undefined {
  if (json === null) return undefined;
  const h = JSON.parse(json) as { nft?: { version?: unknown }; kernel?: unknown; kubeProxy?: { mode?: unknown } };
  const str = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);
  const [nftVersion, kernel, kubeProxyMode] = [str(h.nft?.version), str(h.kernel), str(h.kubeProxy?.mode)];
  return { ...(nftVersion ? { nftVersion } : {}), ...(kernel ? { kernel } : {}), ...(kubeProxyMode ? { kubeProxyMode } : {}) };
}

function diff(task: DiffTask): DiffAnswer {
  if (task.family === 'nft') return diffNft(task);
  const family = task.family;
  const read = (side: DiffTask['left']): RulesetOutline | Ruleset => (!task.probes && outlineCanonicalText(side.text)) || parseDump(side.text, { family, format: 'iptables-save' }).ruleset;
  const left = read(task.left);
  const right = read(task.right);
  const d = diffRulesets(left, right);
  if (task.unified) return move(Buffer.from(formatUnifiedDiff(d, task.left.label, task.right.label))) as DiffAnswer;
  const probes = task.probes ? probeBoth(task, 'kind' in left ? undefined : left, 'kind' in right ? undefined : right) : undefined;
  const answer = { ...task.sides, summary: d.summary, tablesOnlyLeft: d.tablesOnlyLeft, tablesOnlyRight: d.tablesOnlyRight, chains: d.chains, ...(probes ? { probes } : {}) };
  return move(Buffer.from(JSON.stringify(answer))) as DiffAnswer;
}

function whatIf(task: WhatIfTask): WhatIfAnswer {
  const ruleset = parseDump(task.text, { family: task.family, format: 'iptables-save' }).ruleset;
  const changed = applyRuleChanges(ruleset, task.changes);
  if (!changed.ok) return { kind: 'refused', errors: changed.errors.map((e) => ({ change: e.change, message: e.message })) };
  const options = { explain: true, node: task.node, ...(task.host ? { host: task.host } : {}), ...(task.nftText !== undefined ? { nftables: parseNftText(task.nftText).ruleset } : {}), ...(task.legacyText !== undefined ? { legacy: parseDump(task.legacyText, { family: task.family, format: 'iptables-save' }).ruleset } : {}) };
  const after = tracePacket(changed.ruleset, task.packet, options);
  const before = tracePacket(ruleset, task.packet, options);
  return { kind: 'whatif', outcomes: [...after.outcomes], before: [...before.outcomes], warnings: [...after.warnings] };
}

function clusterWhatIf(task: ClusterWhatIfTask): ClusterWhatIfAnswer {
  const nodes: ClusterNode[] = task.nodes.map((n) => ({
    name: n.name,
    host: n.host,
    ruleset: parseDump(n.text, { family: task.family, format: 'iptables-save' }).ruleset,
    ...(n.nftText !== undefined ? { nftables: parseNftText(n.nftText).ruleset } : {}),
    ...(n.legacyText !== undefined ? { legacy: parseDump(n.legacyText, { family: task.family, format: 'iptables-save' }).ruleset } : {}),
  }));
  const changed: ClusterNode[] = [];
  for (const n of nodes) {
    const changes = task.changes[n.name];
    if (!changes?.length) {
      changed.push(n);
      continue;
    }
    const r = applyRuleChanges(n.ruleset, changes);
    if (!r.ok) return { kind: 'refused', node: n.name, errors: r.errors.map((e) => ({ change: e.change, message: e.message })) };
    changed.push({ ...n, ruleset: r.ruleset });
  }
  const after = traceCluster(changed, task.start, task.packet, { explain: true });
  const before = traceCluster(nodes, task.start, task.packet, { explain: true });
  return { kind: 'cluster-whatif', paths: [...after.paths], before: [...before.paths], warnings: [...after.warnings] };
}

// This thread's Graphviz, loaded on its first layout (the WASM compiles once per thread).
let graphviz: Promise<Graphviz> | undefined;

async function layout(task: LayoutTask): Promise<string> {
  return dotToSvg(await (graphviz ??= loadGraphviz()), task.dot);
}

export default function analyze(task: AnalysisTask | DiffTask | WhatIfTask | ClusterWhatIfTask | LayoutTask): AnalysisResult | DiffAnswer | WhatIfAnswer | ClusterWhatIfAnswer | Promise<string> {
  if (task.kind === 'layout') return layout(task);
  if (task.kind === 'diff') return diff(task);
  if (task.kind === 'whatif') return whatIf(task);
  if (task.kind === 'cluster-whatif') return clusterWhatIf(task);
  if (task.kind === 'services' && (task.format === 'nft-text' || task.format === 'nft-json')) {
    // kube-proxy's nftables mode: its `ip`/`ip6 kube-proxy` table, the Services of the task's family.
    const nftServices = extractNftServices((task.format === 'nft-json' ? parseNftJson(task.text) : parseNftText(task.text)).ruleset).filter((x) => x.clusterIP === null || x.clusterIP.includes(':') === (task.family === 'ipv6'));
    return { kind: 'services', services: nftServices.map((x) => ({ ...x, mode: 'nftables' })), threadId };
  }
  const parsed = parseDump(task.text, { family: task.family, format: task.format as DumpFormat });
  if (task.kind === 'services') {
    const services = extractServices(parsed.ruleset).map((x) => ({
      mode: 'iptables',
      ...x,
      externalIPs: [...x.externalIPs],
      loadBalancerIPs: [...x.loadBalancerIPs],
      endpoints: [...x.endpoints],
      masqueradeRules: [...x.masqueradeRules],
      noEndpointRules: [...x.noEndpointRules],
    }));
    return { kind: 'services', services, threadId };
  }
  const host = hostOf(task.hostJson);
  // An empty text: a node with only an nft ruleset (nothing of iptables' own to lint).
  const findings: Finding[] = task.text === '' ? [] : lintRuleset({ ruleset: parsed.ruleset, diagnostics: parsed.diagnostics, ...(host ? { host } : {}) });
  if (task.nftText !== undefined) {
    const facts = factsOf(task.hostJson);
    findings.push(...lintNode({ iptables: parsed.ruleset, nftables: parseNftText(task.nftText).ruleset, ...(host ? { host } : {}), ...(facts ? { facts } : {}) }));
  }
  return { kind: 'findings', findings, threadId };
}
