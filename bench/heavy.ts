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

  // /healthz polled back to back while `work` runs: the event loop's answer time under that load.
  const pollWhile = async <T>(s: ServerProcess, work: Promise<T>): Promise<{ result: T; polls: number[] }> => {
    let done = false;
    const finished = work.finally(() => {
      done = true;
    });
    const polls: number[] = [];
    while (!done) polls.push((await expectStatus('healthz', [200], `${s.url}/healthz`, {})).ms);
    return { result: await finished, polls };
  };
  const healthzFigure = (polls: number[]): string => `/healthz p99 ${fmt(percentile(polls, 99), 1)} ms, max ${fmt(Math.max(...polls), 1)} ms over ${polls.length} polls`;

  let findings = { result: { ms: 0 }, polls: [] as number[] };
  let upload = { result: { ms: 0 }, polls: [] as number[] };
  const findingsPeak = await withServer(async (s) => {
    upload = await pollWhile(s, uploadNode(s, 'n10k', input.g10k));
    findings = await pollWhile(s, expectStatus('findings', [200], `${s.url}${API}/nodes/n10k/findings`, {}));
  });
  add(SECTION, `upload of the 10k node (${fmt(upload.result.ms)} ms, parsed on the event loop in slices)`, healthzFigure(upload.polls), `p99 < 100 ms — ${verdict(percentile(upload.polls, 99) < 100)}`);
  add(SECTION, `findings of the 10k node (${fmt(findings.result.ms)} ms)`, `${healthzFigure(findings.polls)}; peak RSS ${mib(findingsPeak)} (was: /healthz blocked 28 s on 5k)`, `p99 < 100 ms — ${verdict(percentile(findings.polls, 99) < 100)}`);

  let diffMs = 0;
  let diffPolls: number[] = [];
  let uploaded = { rss: 0, vmHwm: 0 };
  const diffPeak = await withServer(async (s) => {
    await uploadNode(s, 'a10k', input.g10k);
    await uploadNode(s, 'b10k', input.other10k);
    uploaded = await s.memory();
    const t = performance.now();
    diffPolls = (await pollWhile(s, Promise.all([1, 2].map(() => expectStatus('diff', [200, 503], `${s.url}${API}/diff?left=a10k&right=b10k`, {}))))).polls;
    diffMs = performance.now() - t;
  });
  add(SECTION, 'two diffs of two unrelated 10k-Service nodes at once (after uploading both)', `${fmt(diffMs)} ms; server peak RSS ${mib(diffPeak)} (after the uploads: RSS ${mib(uploaded.rss)}, peak ${mib(uploaded.vmHwm || uploaded.rss)}); ${healthzFigure(diffPolls)}`, `< 1 GiB — ${verdict(diffPeak < GiB)}`);

  const changes = Array.from({ length: 25_000 }, (_, i) => `-A KUBE-FORWARD -s 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32 -j ACCEPT`);
  let whatIf = '';
  let whatIfPolls: number[] = [];
  const whatIfPeak = await withServer(async (s) => {
    await uploadNode(s, 'w10k', input.g10k);
    const packet = tracePackets(input.g10k)[0];
    const big = await call(`${s.url}${API}/trace`, { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ node: 'w10k', packet, changes }) });
    const bounded = await pollWhile(s, expectStatus('what-if', [200], `${s.url}${API}/trace`, { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ node: 'w10k', packet, changes: changes.slice(0, 1000) }) }));
    whatIfPolls = bounded.polls;
    whatIf = `25,000 changes: HTTP ${big.status} in ${fmt(big.ms)} ms; 1,000 changes: ${fmt(bounded.result.ms)} ms in a worker`;
  });
  add(SECTION, 'what-if changes on the 10k node', `${whatIf}; ${healthzFigure(whatIfPolls)}; peak RSS ${mib(whatIfPeak)}`, `bounded, p99 < 100 ms, < 1 GiB — ${verdict(whatIfPeak < GiB && percentile(whatIfPolls, 99) < 100)}`);
}
