// nft diffs (`family=nft`) on the event loop (src/http/nft-diff-here.ts): the
// same bytes the analysis worker wrote (JSON and unified text), over the ruleset
// cache's canonical nft parses (the ones traces read): two cached nodes parse
// nothing; a side not cached is parsed once with the other side's parse as donor
// (sharing its statements) and kept; in slices that let other work run.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKubeDump } from '../../scripts/kube-dump.ts';
import { generateKubeNft } from '../../scripts/kube-nft.ts';
import type { DiffTask } from '../../src/http/analysis/task.ts';
import type { NftRuleset } from '../../src/netfilter/index.ts';
import { createRulesetCache } from '../../src/store/rulesets.ts';
import { pauseEveryStep, workerDiffText, type CountedPauses } from '../support/event-loop.ts';
import { startApi, type TestApi } from '../support/api.ts';
import { sharedStmtLists } from '../support/sharing.ts';

const V1 = '/api/v1';
const CORPUS = join(import.meta.dirname, '..', '..', '..', 'shared', 'corpus', 'nft');

interface Stored {
  readonly node: string;
  /** Its nft version's canonical text and id; null: the node has only iptables (compares as empty). */
  readonly text: string | null;
  readonly dump: number | null;
  readonly sha256: string | null;
}

/** What the worker answered for the nft diff of two nodes (the code before nft diffs ran on the event loop). */
function workerAnswer(left: Stored, right: Stored, unified: boolean): string {
  const side = (s: Stored) => ({ label: `${s.node} (${s.dump === null ? 'no nft version' : `dump ${s.dump}`})`, text: s.text ?? '', hostJson: null });
  const task: DiffTask = { kind: 'diff', family: 'nft', left: side(left), right: side(right), unified, probes: false, sides: { left: { node: left.node, dump: left.dump }, right: { node: right.node, dump: right.dump } } };
  return workerDiffText(task);
}

describe('nft diffs on the event loop', () => {
  let api: TestApi;
  const pauses: CountedPauses = { count: 0 };
  const stored: Record<string, Stored> = {};
  const put = async (node: string, text: string): Promise<void> => {
    const r = await api.request.post(`${V1}/nodes/${node}/dumps`).type('text/plain').send(text).expect(201);
    assert.equal(r.body.family, 'nft');
    const canonical = await api.request.get(`${V1}/nodes/${node}/dumps/${r.body.id}/canonical`).query({ family: 'nft' }).expect(200);
    stored[node] = { node, text: canonical.text, dump: r.body.id, sha256: r.body.sha256 };
  };
  const cache = () => api.app.rulesetCache.nft;
  const parsed = (node: string): NftRuleset | undefined => cache().peek(stored[node]!.sha256!);
  const trace = async (node: string, probe: { ip: string; port: number }): Promise<void> => {
    await api.request.post(`${V1}/trace`).send({ node, packet: { src: '203.0.113.9', dst: probe.ip, protocol: 'tcp', sport: 40000, dport: probe.port, inInterface: 'eth0' } }).expect(200);
  };
  const kube = generateKubeNft({ services: 120, endpoints: 3 });

  before(async () => {
    // Every step of a sliced computation pauses (slice 0 ms), and the pauses are counted.
    api = await startApi({ rulesetCache: createRulesetCache(64, 2_000_000, pauseEveryStep(pauses)) });
    // A kube-proxy node (nft -j), the same cluster one Service later, its twin with one endpoint's
    // port changed (nft text), and two corpus rulesets of other kinds.
    await put('a', kube.json);
    await put('b', generateKubeNft({ services: 121, endpoints: 3 }).json);
    const twin = kube.text.replace(/(dnat to 10\.\d+\.\d+\.\d+:)(\d+)/, (_m, head: string, port: string) => `${head}${Number(port) + 1}`);
    assert.notEqual(twin, kube.text);
    await put('t', twin);
    await put('k3s', await readFile(join(CORPUS, 'k3s-kube-proxy-nftables-mode.txt'), 'utf8'));
    await put('fw4', await readFile(join(CORPUS, 'openwrt-fw4-default-ruleset-flowtable-helpers.txt'), 'utf8'));
    // A node with only iptables: compares as empty.
    await api.request.post(`${V1}/nodes/ipt/dumps`).type('text/plain').send(generateKubeDump({ services: 5, seed: 3 }).text).expect(201);
    stored.ipt = { node: 'ipt', text: null, dump: null, sha256: null };
  });
  after(() => api?.close());

  const pairs: [string, string][] = [
    ['a', 'b'],
    ['b', 'a'],
    ['a', 't'],
    ['a', 'k3s'],
    ['k3s', 'fw4'],
    ['fw4', 'fw4'],
    ['ipt', 'fw4'],
    ['a', 'ipt'],
  ];

  it('answers byte for byte what the worker wrote, JSON and unified, whether the parses were cached or not', async () => {
    for (const cached of [true, false]) {
      if (cached) {
        // Each node's canonical parse cached by its own trace: parsed apart, they share no statements
        // (every rule printed); not cached, the second side shares the first's (unchanged chains skipped).
        cache().clear();
        for (const node of ['a', 'b', 't', 'k3s', 'fw4']) await trace(node, kube.probe);
      }
      for (const [l, r] of pairs) {
        for (const unified of [false, true]) {
          if (!cached) cache().clear();
          const got = await api.request.get(`${V1}/diff`).query({ left: l, right: r, family: 'nft', ...(unified ? { format: 'unified' } : {}) }).buffer(true).expect(200);
          assert.match(got.headers['content-type'] ?? '', unified ? /^text\/plain/ : /^application\/json/);
          assert.equal(got.text, workerAnswer(stored[l]!, stored[r]!, unified), `${l} vs ${r}, ${unified ? 'unified' : 'JSON'}, ${cached ? 'cached' : 'not cached'}`);
        }
      }
    }
  });

  it('a diff of two cached nft nodes parses nothing: both parses come from the cache traces fill', async () => {
    cache().clear();
    await trace('a', kube.probe);
    await trace('b', kube.probe);
    assert.ok(parsed('a') && parsed('b'), 'the traces cached both canonical parses');
    const { hits, misses } = cache();
    const ran = api.app.analysis.stats().ran;
    const r = await api.request.get(`${V1}/diff`).query({ left: 'a', right: 'b', family: 'nft' }).expect(200);
    assert.equal(r.body.summary.elementsAdded > 0, true);
    assert.equal(cache().misses, misses, 'nothing parsed');
    assert.equal(cache().hits, hits + 2, 'both sides read from the cache');
    assert.equal(api.app.analysis.stats().ran, ran + 1, 'admitted and counted like a worker diff');
  });

  it('a side not cached is parsed once, with the other side as donor, and kept for its traces', async () => {
    cache().clear();
    await trace('a', kube.probe);
    const a = parsed('a')!;
    const { misses } = cache();
    // The twin on the left: the cached side is still read first and lends its objects.
    const r = await api.request.get(`${V1}/diff`).query({ left: 't', right: 'a', family: 'nft' }).expect(200);
    assert.deepEqual([r.body.summary.rulesAdded, r.body.summary.rulesRemoved], [1, 1]);
    assert.equal(cache().misses, misses + 1, 'one parse: the twin');
    const t = parsed('t');
    assert.ok(t, 'the twin\'s parse is kept');
    const { shared, rules } = sharedStmtLists(t, a);
    assert.ok(rules > 100);
    assert.equal(shared, rules - 1, 'every rule but the changed one shares its statements with the donor');
    // Its next trace parses nothing.
    const before = cache().misses;
    await trace('t', kube.probe);
    assert.equal(cache().misses, before);
    // Neither side cached: the second is parsed with the first as donor.
    cache().clear();
    await api.request.get(`${V1}/diff`).query({ left: 'a', right: 't', family: 'nft' }).expect(200);
    assert.equal(sharedStmtLists(parsed('t')!, parsed('a')!).shared, rules - 1);
  });

  it('yields to the event loop while it computes: a timer set at its first pause fires before its last', async () => {
    const big = generateKubeNft({ services: 1500, endpoints: 3 });
    await put('big', big.json);
    await put('other', generateKubeNft({ services: 1400, endpoints: 4 }).json);
    await trace('big', big.probe);
    await trace('other', big.probe);
    const events: string[] = [];
    const misses = cache().misses;
    // The diff's first pause sets a timer; the diff must pause again after the timer fired.
    pauses.onPause = () => {
      pauses.onPause = undefined;
      setTimeout(() => events.push(`timer@${pauses.count}`), 0);
    };
    try {
      const answer = await api.request.get(`${V1}/diff`).query({ left: 'big', right: 'other', family: 'nft' });
      events.push(`answer@${pauses.count}`);
      assert.equal(answer.status, 200);
    } finally {
      pauses.onPause = undefined;
    }
    assert.equal(cache().misses, misses, 'both sides cached: the pauses are the diff\'s own');
    assert.equal(events.length, 2, events.join(' '));
    assert.match(events[0]!, /^timer@/);
    const at = (e: string): number => Number(e.split('@')[1]);
    assert.ok(at(events[1]!) > at(events[0]!), `the diff paused again after the timer fired: ${events.join(' ')}`);
  });
});
