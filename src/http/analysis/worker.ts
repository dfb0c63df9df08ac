// Runs in a worker thread (piscina): the heavy analyses of one stored version,
// parsed here from its text, so the server's event loop keeps answering
// (/healthz, uploads, traces) while a 10k-Service node is linted.
import { threadId } from 'node:worker_threads';
import { buildHost, extractServices, lintRuleset, parseDump } from '../../netfilter/index.ts';
import type { AnalysisTask, AnalysisResult } from './task.ts';

export default function analyze(task: AnalysisTask): AnalysisResult {
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
  const host = task.hostJson === null ? undefined : buildHost(JSON.parse(task.hostJson) as unknown);
  const findings = lintRuleset({ ruleset: parsed.ruleset, diagnostics: parsed.diagnostics, ...(host?.ok ? { host: host.host } : {}) });
  return { kind: 'findings', findings, threadId };
}
