// Runs in a worker thread (piscina): the heavy analyses of one stored version,
// parsed here from its text, so the server's event loop keeps answering
// (/healthz, uploads, traces) while a 10k-Service node is linted.
import { threadId } from 'node:worker_threads';
import { applyRuleChanges, buildHost, diffRulesets, extractServices, formatUnifiedDiff, lintRuleset, parseDump, semanticDiff, tracePacket, type Host } from '../../netfilter/index.ts';
import type { AnalysisResult, AnalysisTask, DiffAnswer, DiffTask, PrepareAnswer, PrepareTask, WhatIfAnswer, WhatIfTask } from './task.ts';
import { prepareDump } from '../../store/ingest.ts';
import { DumpParseError } from '../../store/errors.ts';

const hostOf = (json: string | null): Host | undefined => {
  const h = json === null ? undefined : buildHost(JSON.parse(json) as unknown);
  return h?.ok ? h.host : undefined;
};

function diff(task: DiffTask): DiffAnswer {
  const left = parseDump(task.left.text, { family: task.family, format: 'iptables-save' }).ruleset;
  const right = parseDump(task.right.text, { family: task.family, format: 'iptables-save' }).ruleset;
  const d = diffRulesets(left, right);
  if (task.unified) return { kind: 'diff', threadId, unified: formatUnifiedDiff(d, task.left.label, task.right.label) };
  let probes: { count: number; differences: { probe: Record<string, unknown>; left: string[]; right: string[] }[] } | undefined;
  if (task.probes) {
    const [lh, rh] = [hostOf(task.left.hostJson), hostOf(task.right.hostJson)];
    const s = semanticDiff(left, right, { ...(lh ? { leftHost: lh } : {}), ...(rh ? { rightHost: rh } : {}) });
    probes = { count: s.probes, differences: s.differences.map((x) => ({ probe: { ...x.probe }, left: [...x.left], right: [...x.right] })) };
  }
  const answer = { ...task.sides, summary: d.summary, tablesOnlyLeft: d.tablesOnlyLeft, tablesOnlyRight: d.tablesOnlyRight, chains: d.chains, ...(probes ? { probes } : {}) };
  return { kind: 'diff', threadId, json: JSON.stringify(answer) };
}

function prepare(task: PrepareTask): PrepareAnswer {
  try {
    const { ruleset: _parsed, ...prepared } = prepareDump(task.text, task.options);
    return { kind: 'prepared', prepared };
  } catch (err) {
    if (err instanceof DumpParseError) return { kind: 'unprocessable', message: err.message, problems: err.problems, field: err.field };
    throw err;
  }
}

function whatIf(task: WhatIfTask): WhatIfAnswer {
  const ruleset = parseDump(task.text, { family: task.family, format: 'iptables-save' }).ruleset;
  const changed = applyRuleChanges(ruleset, task.changes);
  if (!changed.ok) return { kind: 'refused', errors: changed.errors.map((e) => ({ change: e.change, message: e.message })) };
  const options = { explain: true, node: task.node, ...(task.host ? { host: task.host } : {}) };
  const after = tracePacket(changed.ruleset, task.packet, options);
  const before = tracePacket(ruleset, task.packet, options);
  return { kind: 'whatif', outcomes: [...after.outcomes], before: [...before.outcomes], warnings: [...after.warnings] };
}

export default function analyze(task: AnalysisTask | DiffTask | PrepareTask | WhatIfTask): AnalysisResult | DiffAnswer | PrepareAnswer | WhatIfAnswer {
  if (task.kind === 'diff') return diff(task);
  if (task.kind === 'whatif') return whatIf(task);
  if (task.kind === 'prepare') return prepare(task);
  const parsed = parseDump(task.text, { family: task.family, format: task.format });
  if (task.kind === 'services') {
    const services = extractServices(parsed.ruleset).map((x) => ({
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
  const findings = lintRuleset({ ruleset: parsed.ruleset, diagnostics: parsed.diagnostics, ...(host ? { host } : {}) });
  return { kind: 'findings', findings, threadId };
}
