// The agent's incremental uploads against the real server (buildApp, SQLite,
// the agent's own HTTP client): the second upload of a node goes as a delta
// of the first and stores what a full upload would; a delta the server
// refuses (another upload came between: 409) is followed by the whole text;
// without a usable base the agent uploads whole.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, EXIT, type AgentOptions } from '../../src/agent/agent.ts';
import { createClient, parseServer, serverIdentity, type ServerClient } from '../../src/agent/client.ts';
import type { CommandResult, Runner } from '../../src/agent/exec.ts';
import { createLogger } from '../../src/agent/log.ts';
import type { DeltaUploadBody } from '../../src/agent/snapshot.ts';
import { AgentState } from '../../src/agent/state.ts';
import { generateKubeDump } from '../../scripts/kube-dump.ts';
import { startApi, type TestApi } from '../support/api.ts';

const ADDR = [{ ifindex: 2, ifname: 'eth0', address: '02:00:00:00:00:01', addr_info: [{ family: 'inet', local: '192.0.2.10', prefixlen: 24 }] }];
const ROUTE4 = [{ dst: 'default', gateway: '192.0.2.1', dev: 'eth0' }];

/** A node whose `iptables-nft-save -c` prints `save()` (read at each run). */
function runner(save: () => string): Runner {
  return async (file, args) => {
    const key = [file, ...args].join(' ');
    const base: CommandResult = { file, args, code: 0, signal: null, stdout: '', stderr: '', timedOut: false, missing: false, tooLarge: false, durationMs: 1 };
    const table: Record<string, string> = {
      'iptables-nft-save -c': save(),
      'iptables-legacy-save -c': '',
      'ip -j addr show': JSON.stringify(ADDR),
      'ip -j -4 route show': JSON.stringify(ROUTE4),
      'ip -j -6 route show': '[]',
    };
    return key in table ? { ...base, stdout: table[key]! } : { ...base, code: null, missing: true };
  };
}

const procFiles = async (p: string): Promise<string> => {
  if (p.endsWith('ipv4/ip_forward')) return '1\n';
  if (p.endsWith('route_localnet')) return '0\n';
  if (p.endsWith('forwarding')) return '0\n';
  throw Object.assign(new Error('nope'), { code: 'ENOENT' });
};

/** A kube-proxy node (100 Services, counters): one Service's endpoint port changed per `version`, and the counters of the first `busy` rules moved. */
function kubeSave(version: number, busy = 0): string {
  const text = generateKubeDump({ services: 100, seed: 3, counters: true }).text;
  let seen = 0;
  let bumped = 0;
  return text
    .replace(/-j DNAT --to-destination (\S+):(\d+)/g, (m, ip: string, port: string) => (++seen === 7 ? `-j DNAT --to-destination ${ip}:${Number(port) + version}` : m))
    .replace(/^\[(\d+):(\d+)\] /gm, (m, p: string, b: string) => (bumped++ < busy ? `[${Number(p) + version + 1}:${Number(b) + 60 * (version + 1)}] ` : m));
}

describe('agent: incremental uploads against the server', () => {
  let api: TestApi;
  let dir: string;
  before(async () => {
    api = await startApi();
    dir = await mkdtemp(join(tmpdir(), 'packetpath-agent-delta-'));
  });
  after(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The agent with the real client; `sent` records every body the client posted. */
  function agentFor(node: string, save: () => string, sent: DeltaUploadBody[], lines: string[] = []) {
    const target = parseServer(api.url);
    const real = createClient({ server: target, token: () => '', timeoutMs: 30_000 });
    const client: ServerClient = {
      latestSha: (n, f) => real.latestSha(n, f),
      upload: (n, body) => {
        sent.push(body as DeltaUploadBody);
        return real.upload(n, body);
      },
    };
    const options: AgentOptions = { server: serverIdentity(target), node, intervalMs: 60_000, once: true, timeoutMs: 5_000, proxyModeUrl: null, retries: 0, minBackoffMs: 1, maxBackoffMs: 5 };
    return new Agent(options, { client, state: new AgentState(join(dir, node)), log: createLogger({ write: (l) => lines.push(l) }), run: runner(save), readFile: procFiles, sleep: async () => undefined });
  }

  const raw = async (node: string) => (await api.request.get(`/api/v1/nodes/${node}/dumps/latest/raw`).expect(200)).text;
  const latest = async (node: string) => (await api.request.get(`/api/v1/nodes/${node}/dumps/latest`).expect(200)).body as Record<string, unknown>;

  it('the second upload is a small delta and stores what a full upload of the text would', async () => {
    let version = 0;
    const sent: DeltaUploadBody[] = [];
    assert.equal(await agentFor('kube-1', () => kubeSave(version, 40), sent).run(), EXIT.OK);
    assert.ok(sent[0]?.dump !== undefined && sent[0].delta === undefined, 'the first upload is whole');
    version = 1;
    assert.equal(await agentFor('kube-1', () => kubeSave(version, 40), sent).run(), EXIT.OK);
    assert.equal(sent.length, 2);
    const delta = sent[1]!.delta;
    assert.ok(delta && sent[1]!.dump === undefined, 'the second upload is a delta');
    assert.ok(JSON.stringify(delta).length < kubeSave(1, 40).length / 100, 'a delta of under 1% of the text');
    assert.ok((delta.counters?.length ?? 0) >= 2 * 39, 'moved counters travel as overrides');
    assert.equal(await raw('kube-1'), kubeSave(1, 40));

    // The same text uploaded whole to a twin node: same version, counters and diagnostics.
    await api.request.post('/api/v1/nodes/twin-1/dumps').send({ dump: kubeSave(0, 40) }).expect(201);
    await api.request.post('/api/v1/nodes/twin-1/dumps').send({ dump: kubeSave(1, 40) }).expect(201);
    const { id: _a, node: _b, receivedAt: _c, lastSeenAt: _d, collectedAt: _e, hasHost: _h, host: _m, ...viaDelta } = await latest('kube-1');
    const { id: _f, node: _g, receivedAt: _i, lastSeenAt: _j, collectedAt: _k, hasHost: _l, host: _n, ...viaFull } = await latest('twin-1');
    assert.deepEqual(viaDelta, viaFull);
  });

  it('a stale base (another upload came between): 409, then the whole text; the next upload is a delta again', async () => {
    let version = 0;
    const sent: DeltaUploadBody[] = [];
    const lines: string[] = [];
    const agent = () => agentFor('kube-2', () => kubeSave(version), sent, lines);
    assert.equal(await agent().run(), EXIT.OK);
    // Someone else uploads to the node: the agent's base is no longer the server's.
    await api.request.post('/api/v1/nodes/kube-2/dumps').type('text/plain').send(kubeSave(5)).expect(201);
    version = 1;
    assert.equal(await agent().run(), EXIT.OK);
    assert.equal(sent.length, 3, 'delta refused, then the whole text');
    assert.ok(sent[1]!.delta && sent[2]!.dump === kubeSave(1));
    assert.ok(lines.some((l) => /refused the delta; uploading the whole text/.test(l) && /409/.test(l)));
    assert.equal(await raw('kube-2'), kubeSave(1));
    version = 2;
    assert.equal(await agent().run(), EXIT.OK);
    assert.ok(sent[3]!.delta, 'the base is the agent\'s again');
    assert.equal(await raw('kube-2'), kubeSave(2));
  });

  it('a base file that is not the uploaded text (edited, truncated) is not used: the upload is whole', async () => {
    let version = 0;
    const sent: DeltaUploadBody[] = [];
    assert.equal(await agentFor('kube-3', () => kubeSave(version), sent).run(), EXIT.OK);
    await writeFile(join(dir, 'kube-3', 'bases', 'kube-3.ipv4.txt'), 'truncated');
    version = 1;
    assert.equal(await agentFor('kube-3', () => kubeSave(version), sent).run(), EXIT.OK);
    assert.ok(sent[1]!.dump !== undefined && sent[1]!.delta === undefined);
    assert.equal(await raw('kube-3'), kubeSave(1));
  });
});
