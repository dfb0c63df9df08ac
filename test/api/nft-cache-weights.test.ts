// The ruleset cache weighs an nft parse made with a donor (share.ts) by what it adds while the
// donor is cached (src/store/nft-cache.ts), and an nft upload's parse takes the most recently
// used cached parse as donor: a kube-proxy node and its one-Service-changed twin then keep all
// four parses (each node's uploaded text for reads, canonical text for traces and diffs) in a
// budget of 2.25 nodes' rules, the bench's RULESET_CACHE_RULES 2M for a 44k-Service node's 880k
// (issue 15, item 4). Weighed by their rules, the twin's upload evicted the first node's parses and
// the diff parsed both sides again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKubeNft } from '../../scripts/kube-nft.ts';
import { runSteps } from '../../src/netfilter/index.ts';
import { createNftRulesetCache, nftRulesAdded, nftRulesOf } from '../../src/store/nft-cache.ts';
import { parseNftDump, parseNftDumpSteps, prepareNftDump } from '../../src/store/nft-ingest.ts';
import { createRulesetCache } from '../../src/store/rulesets.ts';
import { startApi, type TestApi } from '../support/api.ts';
import { sharedStmtLists } from '../support/sharing.ts';

const V1 = '/api/v1';


describe('nft parses weighed by what they add to their donor', () => {
  const kube = generateKubeNft({ services: 200, endpoints: 3 });
  const twin = kube.json.replace(/("port": ?)8080\b/, (_m, a: string) => `${a}8081`);
  const full = nftRulesOf(parseNftDump(kube.json, 'nft-json').ruleset);
  let api: TestApi;
  before(async () => {
    api = await startApi({ rulesetCache: createRulesetCache(64, Math.round(full * 2.25)) });
  });
  after(() => api?.close());

  it("a node's twin uploaded next to it keeps the first node's parses cached; the diff parses only the twin's canonical text, with the answer of parses alone", async () => {
    assert.notEqual(twin, kube.json);
    const cache = api.app.rulesetCache.nft;
    const packet = { src: '192.0.2.10', dst: kube.probe.ip, protocol: 'tcp', sport: 40000, dport: kube.probe.port, inInterface: 'eth0' };
    const table = encodeURIComponent('ip kube-proxy');
    const a = await api.request.post(`${V1}/nodes/kp/dumps`).type('text/plain').send(kube.json).expect(201);
    const trace = (await api.request.post(`${V1}/trace`).send({ node: 'kp', packet }).expect(200)).body;
    const page = (await api.request.get(`${V1}/nodes/kp/tables/${table}/chains?limit=50`).expect(200)).body;
    const b = await api.request.post(`${V1}/nodes/kp2/dumps`).type('text/plain').send(twin).expect(201);
    // The uploaded texts' sha256 (the read routes' parses are cached under them), as the upload computes it.
    const [uploadedA, uploadedB] = [prepareNftDump(kube.json).originalSha256, prepareNftDump(twin).originalSha256];
    const [ua, ca, ub] = [cache.peek(uploadedA), cache.peek(a.body.sha256), cache.peek(uploadedB)];
    assert.ok(ua && ca && ub, "after the twin's upload, the first node's two parses and the twin's upload parse are all cached");
    // The twin's upload parse shares every unchanged rule's statements with the first node's (its donor) and is the parse alone.
    const { shared, rules } = sharedStmtLists(ub, ua);
    assert.ok(rules > 1000);
    assert.equal(shared, rules - 1, 'every rule but the changed one shares its statements');
    assert.deepEqual(ub, parseNftDump(twin, 'nft-json').ruleset);
    assert.ok(nftRulesAdded(ub, ua) < 0.5 * full);
    const misses = cache.misses;
    const diff = await api.request.get(`${V1}/diff`).query({ left: 'kp', right: 'kp2', family: 'nft' }).expect(200);
    assert.deepEqual([diff.body.summary.rulesAdded, diff.body.summary.rulesRemoved], [1, 1]);
    assert.equal(cache.misses, misses + 1, "one parse: the twin's canonical text");
    for (const sha of [uploadedA, a.body.sha256, uploadedB, b.body.sha256]) assert.ok(cache.has(sha), `${sha} still cached`);
    assert.ok(cache.weight <= cache.options.maxWeight!);
    // The same answers from parses alone (a cache emptied: each text parsed again).
    cache.clear();
    assert.deepEqual((await api.request.get(`${V1}/diff`).query({ left: 'kp', right: 'kp2', family: 'nft' }).expect(200)).body, diff.body);
    cache.clear();
    assert.deepEqual((await api.request.post(`${V1}/trace`).send({ node: 'kp', packet }).expect(200)).body, trace);
    assert.deepEqual((await api.request.get(`${V1}/nodes/kp/tables/${table}/chains?limit=50`).expect(200)).body, page);
  });

  it('a parse is weighed whole again once its donor leaves the cache', () => {
    const one = parseNftDump(kube.json, 'nft-json').ruleset;
    const two = runSteps(parseNftDumpSteps(twin, 'nft-json', one)).ruleset;
    const other = parseNftDump(generateKubeNft({ services: 20, endpoints: 2 }).json, 'nft-json').ruleset;
    const cache = createNftRulesetCache(2, Infinity);
    cache.keep('one', one);
    cache.keep('two', two, one);
    assert.equal(cache.weight, full + nftRulesAdded(two, one));
    assert.ok(nftRulesAdded(two, one) < 0.5 * full);
    // A third entry evicts the oldest, the donor: `two` holds its statements alone now.
    cache.keep('other', other);
    assert.equal(cache.has('one'), false);
    assert.equal(cache.weight, nftRulesOf(two) + nftRulesOf(other));
    // Kept again, `one` has no donor: weighed whole, and `two` (made with the evicted parse, not this one) stays whole.
    const again = parseNftDump(kube.json, 'nft-json').ruleset;
    cache.keep('one', again);
    assert.equal(cache.has('two'), false, 'the count limit evicted the oldest');
    assert.equal(cache.weight, nftRulesOf(other) + nftRulesOf(again));
  });

  it('weighs by its budget: a parse sharing with a cached donor fits where a whole one would evict it', () => {
    const one = parseNftDump(kube.json, 'nft-json').ruleset;
    const two = runSteps(parseNftDumpSteps(twin, 'nft-json', one)).ruleset;
    const cache = createNftRulesetCache(64, Math.round(full * 1.5));
    cache.keep('one', one);
    cache.keep('two', two, one);
    assert.ok(cache.has('one') && cache.has('two'));
    const whole = createNftRulesetCache(64, Math.round(full * 1.5));
    whole.keep('one', one);
    whole.keep('two', two);
    assert.equal(whole.has('one'), false, 'without its donor named, the second parse weighs whole and evicts the first');
  });
});
