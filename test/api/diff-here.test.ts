// Plain diffs on the event loop (src/http/diff-here.ts): the same bytes the
// analysis worker wrote (JSON and unified text), computed over the ruleset
// cache's canonical parses without parsing anything again (and, for a side not
// cached, without parsing or caching it), in slices that let other work run.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKubeDump } from '../../scripts/kube-dump.ts';
import type { DiffTask } from '../../src/http/analysis/task.ts';
import { createRulesetCache } from '../../src/store/rulesets.ts';
import { pauseEveryStep, workerDiffText, type CountedPauses } from '../support/event-loop.ts';
import { startApi, seed, type TestApi } from '../support/api.ts';

const V1 = '/api/v1';

/** What the worker answered for the diff of two stored versions (the code before diffs ran on the event loop). */
function workerAnswer(left: { node: string; text: string; dump: number }, right: { node: string; text: string; dump: number }, unified: boolean): string {
  const side = (s: typeof left) => ({ label: `${s.node} (dump ${s.dump})`, text: s.text, hostJson: null });
  const task: DiffTask = { kind: 'diff', family: 'ipv4', left: side(left), right: side(right), unified, probes: false, sides: { left: { node: left.node, dump: left.dump }, right: { node: right.node, dump: right.dump } } };
  return workerDiffText(task);
}

describe('diffs on the event loop', () => {
  let api: TestApi;
  const pauses: CountedPauses = { count: 0 };
  const stored: Record<string, { node: string; text: string; dump: number }> = {};
  const put = async (node: string, text: string): Promise<void> => {
    const r = await api.request.post(`${V1}/nodes/${node}/dumps`).set('content-type', 'text/plain').send(text).expect(201);
    const canonical = await api.request.get(`${V1}/nodes/${node}/dumps/${r.body.id}/canonical`).expect(200);
    stored[node] = { node, text: canonical.text, dump: r.body.id };
  };
  before(async () => {
    // Every step of a sliced computation pauses (slice 0 ms), and the pauses are counted.
    api = await startApi({ rulesetCache: createRulesetCache(64, 2_000_000, pauseEveryStep(pauses)) });
    const base = generateKubeDump({ services: 600, seed: 31 });
    await put('a', base.text);
    // The same cluster one Service later, and an unrelated node.
    await put('b', generateKubeDump({ services: 601, seed: 31 }).text);
    await put('c', generateKubeDump({ services: 500, seed: 32 }).text);
    await put('s', await seed());
  });
  after(() => api?.close());

  const pairs: [string, string][] = [
    ['a', 'b'],
    ['a', 'c'],
    ['c', 's'],
    ['s', 'a'],
    ['b', 'b'],
  ];

  it('answers byte for byte what the worker wrote, JSON and unified, over cached parses and over stored texts', async () => {
    for (const cached of [true, false]) {
      if (!cached) api.app.rulesetCache.clear();
      for (const [l, r] of pairs) {
        for (const unified of [false, true]) {
          const got = await api.request.get(`${V1}/diff?left=${l}&right=${r}${unified ? '&format=unified' : ''}`).buffer(true).expect(200);
          const text = unified ? got.text : JSON.stringify(got.body);
          assert.match(got.headers['content-type'] ?? '', unified ? /^text\/plain/ : /^application\/json/);
          const expected = workerAnswer(stored[l]!, stored[r]!, unified);
          assert.equal(unified ? text : got.text, expected, `${l} vs ${r}, ${unified ? 'unified' : 'JSON'}, ${cached ? 'cached' : 'not cached'}`);
        }
      }
    }
  });

  it('a diff of two cached nodes parses nothing again: both parses come from the cache', async () => {
    const cache = api.app.rulesetCache;
    // A trace puts each node's canonical parse in the cache (the path diffs read).
    for (const node of ['a', 'c']) await api.request.post(`${V1}/trace`).send({ node, packet: { src: '203.0.113.9', dst: '198.51.100.7', protocol: 'tcp', sport: 40000, dport: 80, inInterface: 'eth0' } }).expect(200);
    const { hits, misses } = cache;
    const ran = api.app.analysis.stats().ran;
    await api.request.get(`${V1}/diff?left=a&right=c`).expect(200);
    assert.equal(cache.misses, misses, 'nothing parsed');
    assert.equal(cache.hits, hits + 2, 'both sides read from the cache');
    assert.equal(api.app.analysis.stats().ran, ran + 1);
  });

  it('a side not cached is neither parsed nor put in the cache', async () => {
    const cache = api.app.rulesetCache;
    cache.clear();
    const misses = cache.misses;
    await api.request.get(`${V1}/diff?left=a&right=c`).expect(200);
    assert.equal(cache.misses, misses, 'nothing parsed');
    assert.equal(cache.size, 0, 'nothing cached');
  });

  it('yields to the event loop while it computes: a timer set at its first pause fires before its last', async () => {
    const big = generateKubeDump({ services: 1500, seed: 41 }).text;
    const other = generateKubeDump({ services: 1500, seed: 42 }).text;
    await put('big', big);
    await put('other', other);
    const events: string[] = [];
    // The diff's first pause sets a timer; the diff must pause again after the timer fired.
    pauses.onPause = () => {
      pauses.onPause = undefined;
      setTimeout(() => events.push(`timer@${pauses.count}`), 0);
    };
    try {
      const answer = await api.request.get(`${V1}/diff?left=big&right=other`);
      events.push(`answer@${pauses.count}`);
      assert.equal(answer.status, 200);
    } finally {
      pauses.onPause = undefined;
    }
    assert.equal(events.length, 2, events.join(' '));
    assert.match(events[0]!, /^timer@/);
    const at = (e: string): number => Number(e.split('@')[1]);
    assert.ok(at(events[1]!) > at(events[0]!), `the diff paused again after the timer fired: ${events.join(' ')}`);
  });
});
