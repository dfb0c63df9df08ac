// A cold parse (a stored version not in the ruleset cache: after a restart, or
// once evicted) runs on the event loop in slices, so other requests get their
// turn; requests that need the same version share one parse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKubeDump } from '../../scripts/kube-dump.ts';
import { parseDump, parseDumpSteps, parseNftJsonSteps, parseNftText, parseNftTextSteps, renderRuleset } from '../../src/netfilter/index.ts';
import { generateKubeNft } from '../../scripts/kube-nft.ts';
import { dumpInfo } from '../../src/http/ruleset.ts';
import { createRulesetCache, loadNftRuleset } from '../../src/store/index.ts';
import { loadNodeRuleset } from '../../src/http/ruleset.ts';
import { startApi } from '../support/api.ts';
import { nftRulesAddedSteps } from '../../src/store/nft-cache.ts';
import { prepareNftDump } from '../../src/store/nft-ingest.ts';
import { pauseEveryStep, type CountedPauses } from '../support/event-loop.ts';

const canonicalOf = (r: Parameters<typeof renderRuleset>[0]): string => renderRuleset(r, { counters: false });
const g = generateKubeDump({ services: 1500, seed: 31 });

function runStepsOf(text: string): ReturnType<typeof parseDump> {
  const steps = parseDumpSteps(text);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

function pausesOf(text: string): number {
  const steps = parseDumpSteps(text);
  let pauses = 0;
  while (!steps.next().done) pauses++;
  return pauses;
}

test('parseDumpSteps pauses every few thousand lines and gives what parseDump gives', () => {
  const steps = parseDumpSteps(g.text);
  let pauses = 0;
  let r = steps.next();
  for (; !r.done; r = steps.next()) pauses++;
  const lines = g.text.split('\n').length;
  assert.ok(pauses >= Math.floor(lines / 1024), `${pauses} pauses for ${lines} lines`);
  assert.deepEqual(r.value, parseDump(g.text));
});

test('parseDumpSteps also pauses while splitting the text into lines and while resolving targets of one long chain', () => {
  // One chain of 40k rules: the line pass pauses every 1,024 lines; splitting the text (every 16,384
  // lines) and resolving the table's targets (every 8,192 rules) used to run without a pause (~50 and
  // ~100 ms on a 10k-Service dump), as did building the chain.
  const rules = 40_000;
  const body = Array.from({ length: rules }, (_, i) => `-A KUBE-BIG -d 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-${i % 7}`);
  const svc = Array.from({ length: 7 }, (_, i) => `:KUBE-SVC-${i} - [0:0]`);
  const text = ['*nat', ':PREROUTING ACCEPT [0:0]', ':KUBE-BIG - [0:0]', ...svc, ...body, 'COMMIT', ''].join('\n');
  const lines = text.split('\n').length;
  const pauses = pausesOf(text);
  const linePass = Math.floor(lines / 1024);
  assert.ok(pauses >= linePass + Math.floor(lines / 16384) + Math.floor(rules / 8192), `${pauses} pauses for ${lines} lines (the line pass alone: ${linePass})`);
  assert.deepEqual(runStepsOf(text), parseDump(text));
});

test('a cold parse of a stored version lets the event loop run, and concurrent requests share it', async () => {
  // A pause at every step of the parse (sliceMs 0), counted, each a turn of the event loop.
  const pauses: CountedPauses = { count: 0 };
  let turns = 0;
  const api = await startApi({ rulesetCache: createRulesetCache(64, Infinity, pauseEveryStep(pauses)) });
  try {
    await api.request.post('/api/v1/nodes/big/dumps').set('content-type', 'text/plain').send(g.text).expect(201);
    // The upload's parse is the cache's entry: dropped, as a restart or an eviction would.
    api.app.rulesetCache.clear();
    const before = pauses.count;
    const misses = api.app.rulesetCache.misses;
    // Other work scheduled while the parse runs: it runs between the parse's slices.
    let done = false;
    const spin = (): void => {
      if (done) return;
      if (api.app.rulesetCache.parsing.size > 0 && pauses.count > 0) turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    const [a, b] = await Promise.all([loadNodeRuleset(api.app, 'big', 'latest'), loadNodeRuleset(api.app, 'big', 'latest')]);
    done = true;
    assert.equal(a.ruleset, b.ruleset, 'one parse for both');
    assert.equal(api.app.rulesetCache.misses - misses, 2, 'both missed the cache; the second joined the first parse');
    const steps = pausesOf(canonicalOf(a.ruleset));
    assert.equal(pauses.count - before, steps, 'one pause per step of the one parse');
    assert.ok(turns >= steps - 1, `other work ran ${turns} times during a parse with ${steps} pauses`);
    const canonical = (await api.request.get(`/api/v1/nodes/big/dumps/${a.dump.id}/canonical`).expect(200)).text;
    assert.deepEqual(a.ruleset, parseDump(canonical, { family: 'ipv4', format: 'iptables-save' }).ruleset);
  } finally {
    await api.close();
  }
});

test('a cold parse of a stored nft ruleset also runs in slices, once for concurrent requests', async () => {
  const counted: CountedPauses = { count: 0 };
  const api = await startApi({ rulesetCache: createRulesetCache(64, Infinity, pauseEveryStep(counted)) });
  try {
    const kube = generateKubeNft({ services: 300, endpoints: 5 });
    const up = await api.request.post('/api/v1/nodes/kp/dumps').set('content-type', 'text/plain').send(kube.json).expect(201);
    const dump = (await dumpInfo(api.app, up.body.id))!;
    const before = counted.count;
    const [a, b] = await Promise.all([loadNftRuleset(api.app.db.prisma, api.app.rulesetCache, dump), loadNftRuleset(api.app.db.prisma, api.app.rulesetCache, dump)]);
    assert.equal(a, b, 'one parse for both');
    const canonical = (await api.request.get(`/api/v1/nodes/kp/dumps/${dump.id}/canonical`).expect(200)).text;
    const steps = parseNftTextSteps(canonical);
    let pauses = 0;
    while (!steps.next().done) pauses++;
    assert.ok(pauses >= 5, `${pauses} pauses`);
    // Then its weight in the cache beside its donor, the upload's parse (nft-cache.ts), in steps too.
    const donor = api.app.rulesetCache.nft.peek(prepareNftDump(kube.json).originalSha256);
    assert.ok(donor, "the upload's parse is cached: the donor");
    const weighing = nftRulesAddedSteps(a, donor);
    let weighPauses = 0;
    while (!weighing.next().done) weighPauses++;
    assert.equal(counted.count - before, pauses + weighPauses, 'one pause per step of the one parse and of its weighing');
    assert.deepEqual(a, parseNftText(canonical).ruleset);
  } finally {
    await api.close();
  }
});

test("the first read of an nft version's tables parses its uploaded nft -j JSON in slices", async () => {
  const counted: CountedPauses = { count: 0 };
  const api = await startApi({ rulesetCache: createRulesetCache(64, Infinity, pauseEveryStep(counted)) });
  try {
    const kube = generateKubeNft({ services: 300, endpoints: 5 });
    await api.request.post('/api/v1/nodes/kp/dumps').set('content-type', 'text/plain').send(kube.json).expect(201);
    // The upload's parse is the cache's entry: dropped, as a restart or an eviction would.
    api.app.rulesetCache.nft.clear();
    const before = counted.count;
    const [a, b] = await Promise.all([1, 2].map(() => api.request.get('/api/v1/nodes/kp/tables?family=nft').expect(200)));
    assert.deepEqual(a!.body, b!.body);
    const steps = parseNftJsonSteps(kube.json);
    let pauses = 0;
    while (!steps.next().done) pauses++;
    assert.ok(pauses >= 5, `${pauses} pauses`);
    assert.equal(counted.count - before, pauses, 'one sliced parse for both requests');
  } finally {
    await api.close();
  }
});
