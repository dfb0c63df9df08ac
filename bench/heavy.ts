// `npm run bench` section "heavy requests": what the red-team cases of issue 17
// cost the server, each on a fresh server process (peak RSS is VmHWM), next to
// the 1 GiB memory limit of deploy/kubernetes/server.yaml: a 250 MiB gzip bomb
// (refused at the default limits), findings of a 10k-Service node while
// /healthz is polled, two 10k diffs at once, 25,000 what-if changes.
import { gzipSync } from 'node:zlib';
import type { KubeDump } from '../scripts/kube-dump.ts';
import { fmt, mib, tracePackets, verdict, type AddRow } from './common.ts';
import { call, expectStatus, startServer, type ServerProcess } from './server-process.ts';

const API = '/api/v1';
const JSON_TYPE = { 'content-type': 'application/json' };
const GiB = 2 ** 30;
const SECTION = 'heavy requests (1 GiB budget)';

async function withServer(f: (s: ServerProcess) => Promise<void>): Promise<number> {
  const server = await startServer();
  try {
    await f(server);
    const m = await server.memory();
    return m.vmHwm || m.rss;
  } finally {
    await server.stop();
  }
}

const uploadNode = (s: ServerProcess, node: string, g: KubeDump) =>
  expectStatus(`upload ${node}`, [200, 201], `${s.url}${API}/nodes/${node}/dumps`, { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ dump: g.text, host: g.host }) });

const percentile = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0;

export async function heavyRequests(add: AddRow, input: { g10k: KubeDump; other10k: KubeDump }): Promise<void> {
  const rule = '-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m comment --comment "default/kubernetes:https cluster IP" -m tcp --dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y\n';
  const bombText = Buffer.from('*nat\n:KUBE-SERVICES - [0:0]\n' + rule.repeat(Math.ceil((250 * 2 ** 20) / rule.length)));
  const bomb = gzipSync(bombText, { level: 9 });
  let status = 0;
  const bombPeak = await withServer(async (s) => {
    status = (await call(`${s.url}${API}/nodes/bomb/dumps`, { method: 'POST', headers: { 'content-type': 'text/plain', 'content-encoding': 'gzip' }, body: bomb })).status;
  });
  add(SECTION, `${mib(bombText.length)} gzip bomb (${mib(bomb.length)} sent), default limits`, `HTTP ${status}; server peak RSS ${mib(bombPeak)}`, `refused, < 1 GiB — ${verdict(status === 413 && bombPeak < GiB)}`);

  const healthz: number[] = [];
  let findingsMs = 0;
  const findingsPeak = await withServer(async (s) => {
    await uploadNode(s, 'n10k', input.g10k);
    let done = false;
    const findings = expectStatus('findings', [200], `${s.url}${API}/nodes/n10k/findings`, {}).then((a) => {
      done = true;
      findingsMs = a.ms;
    });
    while (!done) healthz.push((await expectStatus('healthz', [200], `${s.url}/healthz`, {})).ms);
    await findings;
  });
  add(SECTION, `/healthz while findings run on the 10k node (${healthz.length} polls during ${fmt(findingsMs)} ms of findings)`, `p99 ${fmt(percentile(healthz, 99), 1)} ms, max ${fmt(Math.max(...healthz), 1)} ms; peak RSS ${mib(findingsPeak)}`, `p99 < 100 ms — ${verdict(percentile(healthz, 99) < 100)}`);

  let diffMs = 0;
  const diffPeak = await withServer(async (s) => {
    await uploadNode(s, 'a10k', input.g10k);
    await uploadNode(s, 'b10k', input.other10k);
    const t = performance.now();
    await Promise.all([1, 2].map(() => expectStatus('diff', [200, 503], `${s.url}${API}/diff?left=a10k&right=b10k`, {})));
    diffMs = performance.now() - t;
  });
  add(SECTION, 'two diffs of two unrelated 10k-Service nodes at once', `${fmt(diffMs)} ms; server peak RSS ${mib(diffPeak)}`, `< 1 GiB — ${verdict(diffPeak < GiB)}`);

  const changes = Array.from({ length: 25_000 }, (_, i) => `-A KUBE-FORWARD -s 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32 -j ACCEPT`);
  let whatIf = '';
  const whatIfPeak = await withServer(async (s) => {
    await uploadNode(s, 'w10k', input.g10k);
    const packet = tracePackets(input.g10k)[0];
    const big = await call(`${s.url}${API}/trace`, { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ node: 'w10k', packet, changes }) });
    const bounded = await expectStatus('what-if', [200], `${s.url}${API}/trace`, { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ node: 'w10k', packet, changes: changes.slice(0, 1000) }) });
    whatIf = `25,000 changes: HTTP ${big.status} in ${fmt(big.ms)} ms; 1,000 changes: ${fmt(bounded.ms)} ms`;
  });
  add(SECTION, 'what-if changes on the 10k node', `${whatIf}; peak RSS ${mib(whatIfPeak)}`, `bounded, < 1 GiB — ${verdict(whatIfPeak < GiB)}`);
}
