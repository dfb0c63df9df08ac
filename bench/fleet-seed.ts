// The fleet bench's nodes (bench/fleet.ts), made cheaply enough for 1,000
// nodes of 10k Services (29 MB each): seeding is setup, not timed, but made
// the obvious way (each node's text built with regexes, prepareDump'd or
// derived, stored with uploadDumps, its delta made with makeLineScript) it
// took ≈ 1.3 s per node and database plus ≈ 1 s of delta (750 s for 200).
//
// Node i's previous collection is node 0's (the generator's, with counters)
// with every non-zero counter moved by a per-node amount (`nodeCounter`); its
// next one, one Service's endpoint moved (the same on every node), 1% of the
// rules' counters moved and a new timestamp (`nextCollection`). Both texts
// differ between nodes only in counters, so they are written as bytes from a
// template of each (its pieces between counters, and the counters as numbers),
// and what depends on a node's text is derived from node 0's:
// - its counters in the canonical text's order: node 0's under the same map;
// - its uploaded text's blob: node 0's `counted-delta` with node i's counters
//   blob (the line delta of a text against its counted canonical lines is the
//   same when only the counters differ);
// - its agent's delta: node 0's script and counter overrides, with node i's
//   counters in the lines they carry.
// Each derivation is checked against the obvious way for two nodes (the
// texts byte for byte, the delta against makeLineScript, and what the store
// holds against prepareDump + uploadDumps of the same text), so the seeded
// state is the one real agents' uploads would leave.
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { deflateRawSync } from 'node:zlib';
import { generateKubeDump } from '../scripts/kube-dump.ts';
import type { DeltaUploadBody, UploadBody } from '../src/agent/snapshot.ts';
import { encodeCounters, type CounterText } from '../src/store/counters-codec.ts';
import { makeLineScript, type LineScriptOp } from '../src/store/line-script.ts';
import { latestDump, openDatabase, prepareDump, sha256Hex, uploadDumps, type Database, type PreparedDump } from '../src/store/index.ts';

/** Node i's counters: every non-zero `p:b` moved by a per-node amount (node 0's unchanged). */
function nodeCounter(i: number): (p: string, b: string) => string {
  return (p, b) => (p === '0' && b === '0' ? `${p}:${b}` : `${Number(p) + 3 * i}:${Number(b) + 180 * i}`);
}

/** Node i's text the obvious way: node 0's with node i's counters (rule prefixes and chain policies). */
export function nodeText(template: string, i: number): string {
  if (i === 0) return template;
  const c = nodeCounter(i);
  return template.replace(/^\[(\d+):(\d+)\] /gm, (_m, p: string, b: string) => `[${c(p, b)}] `).replace(/^(:\S+ \S+) \[(\d+):(\d+)\]$/gm, (_m, head: string, p: string, b: string) => `${head} [${c(p, b)}]`);
}

/** The node's next collection: one Service's endpoint moved (the same on every node), 1% of the rules' counters moved, a new timestamp. */
export function nextCollection(text: string, busyRules: number): string {
  const ip = /--to-destination (\d+\.\d+\.\d+\.\d+):/.exec(text)?.[1];
  if (!ip) throw new Error('no DNAT rule in the generated dump');
  let rule = 0;
  let moved = 0;
  return text
    .replace(new RegExp(`\\b${ip.replace(/\./g, '\\.')}(?=[/:])`, 'g'), '198.51.100.77')
    .replace(/^\[(\d+):(\d+)\] /gm, (m, p: string, b: string) => (++rule % 100 === 0 && moved++ < busyRules ? `[${Number(p) + 3}:${Number(b) + 180}] ` : m))
    .replace(/^(# (?:Generated|Completed) by .* on ).*$/gm, '$1Thu Jan  1 00:05:00 2026');
}

/** Counters `[p:b]` of rule prefixes and chain declarations, the patterns `nodeText` rewrites. */
const COUNTERS = /^\[(\d+):(\d+)\] |^:\S+ \S+ \[(\d+):(\d+)\]$/gm;

/** A text as its pieces between counters and its counters (packets, bytes), to write node i's counters into. */
interface CountedTemplate {
  readonly bytes: Buffer;
  /** Byte offsets of each counter's digits (`p:b`) in `bytes`. */
  readonly from: Int32Array;
  readonly to: Int32Array;
  readonly packets: Float64Array;
  readonly byteCounts: Float64Array;
  /** The line each counter is on. */
  readonly line: Int32Array;
}

function countedTemplate(text: string): CountedTemplate {
  if (Buffer.byteLength(text) !== text.length) throw new Error('fleet: the generated dump is not ASCII');
  const from: number[] = [];
  const to: number[] = [];
  const packets: number[] = [];
  const byteCounts: number[] = [];
  const line: number[] = [];
  let ln = 0;
  let lastAt = 0;
  for (const m of text.matchAll(COUNTERS)) {
    for (let k = text.indexOf('\n', lastAt); k >= 0 && k < m.index; k = text.indexOf('\n', k + 1)) ln++;
    lastAt = m.index;
    const rule = m[1] !== undefined;
    const p = rule ? m[1]! : m[3]!;
    const b = rule ? m[2]! : m[4]!;
    const start = rule ? m.index + 1 : m.index + m[0].length - 1 - (p.length + 1 + b.length);
    from.push(start);
    to.push(start + p.length + 1 + b.length);
    packets.push(Number(p));
    byteCounts.push(Number(b));
    line.push(ln);
  }
  return { bytes: Buffer.from(text, 'latin1'), from: Int32Array.from(from), to: Int32Array.from(to), packets: Float64Array.from(packets), byteCounts: Float64Array.from(byteCounts), line: Int32Array.from(line) };
}

/** Writes a non-negative integer's digits at `at`; returns the end (no string per number: 470k per text). */
function writeUint(out: Buffer, at: number, n: number): number {
  if (n < 10) {
    out[at] = 48 + n;
    return at + 1;
  }
  let digits = 0;
  for (let x = n; x >= 1; x = Math.floor(x / 10)) digits++;
  for (let k = at + digits - 1, x = n; k >= at; k--, x = Math.floor(x / 10)) out[k] = 48 + (x % 10);
  return at + digits;
}

/**
 * The text of a template with node i's counters: `zero[k]` (the counter was 0:0 in node 0's
 * previous collection) keeps the template's, the others move by 3i packets and 180i bytes.
 */
function nodeBytes(t: CountedTemplate, zero: Uint8Array, i: number): Buffer {
  const out = Buffer.allocUnsafe(t.bytes.length + t.from.length * 16);
  let at = 0;
  let prev = 0;
  for (let k = 0; k < t.from.length; k++) {
    at += t.bytes.copy(out, at, prev, t.from[k]!);
    const moved = zero[k] ? 0 : i;
    at = writeUint(out, at, t.packets[k]! + 3 * moved);
    out[at++] = 58; // ':'
    at = writeUint(out, at, t.byteCounts[k]! + 180 * moved);
    prev = t.to[k]!;
  }
  at += t.bytes.copy(out, at, prev);
  return out.subarray(0, at);
}

const sha256Bytes = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export interface FleetSeed {
  readonly sqliteFile: string;
  readonly pgSeed?: string;
  /** Each agent's upload: its delta body. */
  readonly bodies: DeltaUploadBody[];
  /** The whole body an agent falls back to (made on demand). */
  readonly wholeBody: (i: number) => UploadBody;
  readonly expectedSha: (i: number) => string;
  readonly seedSeconds: number;
  readonly deltaBytes: number;
  readonly textBytes: number;
  readonly nodes: number;
}

const STRIP_RULESET = ({ ruleset: _r, uploadedRuleset: _u, ...rest }: PreparedDump): Omit<PreparedDump, 'ruleset' | 'uploadedRuleset'> => rest;

/** Stored rows and blobs of node `node` (its latest version), to compare seeded with uploaded. */
async function storedState(db: Database, node: string): Promise<unknown> {
  const dump = await db.prisma.dump.findFirst({ where: { node: { name: node } }, orderBy: { id: 'desc' }, select: { family: true, format: true, sha256: true, originalSha256: true, countersSha256: true, diagnosticsJson: true, statsJson: true, hostJson: true, uploads: true, node: { select: { cluster: true, labelsJson: true } } } });
  if (!dump) throw new Error(`fleet: ${node} has no version`);
  const blob = async (sha: string | null) => {
    const b = sha ? await db.prisma.blob.findUnique({ where: { sha256: sha }, select: { sha256: true, size: true, encoding: true, data: true, baseSha256: true, countersSha256: true } }) : null;
    return b && { ...b, data: Buffer.from(b.data).toString('hex') };
  };
  return { dump, original: await blob(dump.originalSha256), counters: await blob(dump.countersSha256), canonical: await blob(dump.sha256) };
}

export interface SeedOptions {
  readonly agents: number;
  readonly services: number;
  readonly sqliteFile: string;
  /** A PostgreSQL database to seed too. */
  readonly pgSeed?: string | undefined;
  /** A scratch SQLite file for the check against real uploads. */
  readonly checkFile: string;
  readonly log?: (line: string) => void;
}

/** Seeds every node's previous collection into the databases and makes each agent's delta. */
export async function seedFleet(o: SeedOptions): Promise<FleetSeed> {
  const t0 = performance.now();
  const log = o.log ?? (() => undefined);
  const g = generateKubeDump({ services: o.services, seed: 1, counters: true });
  const template = g.text;
  const p0 = STRIP_RULESET(prepareDump(template));
  const busy = Math.max(1, Math.round(p0.stats.rules / 100));
  const next0 = nextCollection(template, busy);
  const prev = countedTemplate(template);
  const next = countedTemplate(next0);
  if (next.from.length !== prev.from.length) throw new Error('fleet: the next collection has other counters');
  const zero = new Uint8Array(prev.from.length);
  for (let k = 0; k < zero.length; k++) zero[k] = prev.packets[k] === 0 && prev.byteCounts[k] === 0 ? 1 : 0;
  /** The counter on each line of the next collection (-1: none). */
  const slotOfLine = new Int32Array(next0.split('\n').length).fill(-1);
  for (let k = 0; k < next.line.length; k++) slotOfLine[next.line[k]!] = k;
  const nextCounter = (k: number, i: number): string => {
    const moved = zero[k] ? 0 : i;
    return `${next.packets[k]! + 3 * moved}:${next.byteCounts[k]! + 180 * moved}`;
  };
  const delta0 = makeLineScript(template, next0);

  /** Node i's delta: node 0's, with node i's counters in its inserted lines and overrides. */
  const deltaOf = (i: number, base: string, sha256: string): DeltaUploadBody['delta'] => {
    let r = 0;
    const script: LineScriptOp[] = delta0.script.map((op) => {
      if (typeof op !== 'string') {
        r += op[1];
        return op;
      }
      const k = slotOfLine[r++]!;
      if (k < 0 || i === 0) return op;
      return op.charCodeAt(0) === 91 ? `[${nextCounter(k, i)}] ${op.slice(op.indexOf('] ') + 2)}` : `${op.slice(0, op.lastIndexOf(' ['))} [${nextCounter(k, i)}]`;
    });
    let line = 0;
    const counters = delta0.counters?.map((v, c) => {
      if (c % 2 === 0) {
        line += v as number;
        return v;
      }
      return nextCounter(slotOfLine[line - 1]!, i);
    });
    return { base, sha256, script, ...(counters ? { counters } : {}) };
  };
  const canonicalLines = p0.canonicalLines ?? p0.canonicalText.split('\n');
  const meta = { family: 'ipv4' as const, format: 'iptables-save' as const, collectedAt: '2026-01-01T00:05:00.000Z', cluster: 'fleet', labels: {} };
  const texts = (i: number) => {
    const text = nodeBytes(prev, zero, i);
    const nextText = nodeBytes(next, zero, i);
    return { text, nextText, sha: sha256Bytes(text), nextSha: sha256Bytes(nextText) };
  };
  /** Node i's PreparedDump: node 0's with node i's counters; its texts made only if asked for. */
  const preparedOf = (i: number, sha: string, text: () => string): Omit<PreparedDump, 'ruleset'> => {
    const c = nodeCounter(i);
    const map = (v: CounterText): CounterText => {
      if (v === null) return v;
      const colon = v.indexOf(':');
      return c(v.slice(0, colon), v.slice(colon + 1));
    };
    let json: string | null | undefined;
    return {
      ...p0,
      get originalText() {
        return text();
      },
      originalSha256: sha,
      get countersJson() {
        return json === undefined ? (json = p0.countersJson?.replace(/"(\d+):(\d+)"/g, (_m, p: string, b: string) => `"${c(p, b)}"`) ?? null) : json;
      },
      ...(p0.countersInTextOrder ? { countersInTextOrder: p0.countersInTextOrder.map(map) } : {}),
      canonicalLines,
    };
  };

  // The derivations against the obvious way, for two nodes.
  const checked = [1, o.agents - 1].filter((i, k, a) => i > 0 && a.indexOf(i) === k);
  const real = new Map<number, Omit<PreparedDump, 'ruleset' | 'uploadedRuleset'>>();
  for (const i of checked) {
    const t = texts(i);
    const text = nodeText(template, i);
    const nextText = nextCollection(text, busy);
    if (t.text.toString('latin1') !== text || t.nextText.toString('latin1') !== nextText) throw new Error(`fleet seeding: node ${i}'s texts differ from the obvious way's`);
    const made = { base: sha256Hex(text), sha256: sha256Hex(nextText), ...makeLineScript(text, nextText) };
    if (!isDeepStrictEqual(deltaOf(i, t.sha, t.nextSha), made)) throw new Error(`fleet seeding: node ${i}'s delta is not makeLineScript's`);
    const p = STRIP_RULESET(prepareDump(text));
    const derived = preparedOf(i, t.sha, () => text);
    for (const k of ['originalText', 'originalSha256', 'canonicalText', 'sha256', 'countersJson', 'countersInTextOrder', 'stats', 'diagnostics', 'format', 'family', 'canonicalExact'] as const) {
      if (!isDeepStrictEqual(p[k], derived[k])) throw new Error(`fleet seeding: node ${i}'s derived ${k} is not prepareDump's`);
    }
    real.set(i, p);
  }
  log(`    derivations checked against the obvious way (nodes ${checked.join(', ')})`);

  const dbs: Database[] = [await openDatabase(`file:${o.sqliteFile}`)];
  if (o.pgSeed) dbs.push(await openDatabase(o.pgSeed));
  const hostJson = JSON.stringify(g.host);
  const bodies: DeltaUploadBody[] = [];
  const upload = { cluster: 'fleet', hostJson } as const;
  let deltaBytes = 0;
  try {
    // Node 0 the real way: its blobs are what the others' are derived from.
    for (const db of dbs) await uploadDumps(db.prisma, { node: 'node-0', dumps: [p0], ...upload, deltaBases: db.deltaBases });
    const blob0 = await dbs[0]!.prisma.blob.findUnique({ where: { sha256: p0.originalSha256 } });
    if (blob0?.encoding !== 'counted-delta') throw new Error(`fleet seeding: node 0's upload is stored as ${blob0?.encoding}, not a counted delta`);
    for (let i = 0; i < o.agents; i++) {
      const t = texts(i);
      if (i > 0) {
        const p = preparedOf(i, t.sha, () => t.text.toString('latin1'));
        // Its counters blob as putCounters writes it (encoded once for both databases), then its
        // uploaded text as node 0's delta over them: uploadDumps finds both stored.
        const encoded = encodeCounters(p.countersInTextOrder!);
        const countersSha256 = createHash('sha256').update('counters:').update(encoded).digest('hex');
        const countersData = deflateRawSync(encoded);
        for (const db of dbs) {
          await db.prisma.blob.create({ data: { sha256: countersSha256, size: encoded.length, encoding: 'counters', data: countersData } });
          await db.prisma.blob.create({ data: { sha256: t.sha, size: t.text.length, encoding: 'counted-delta', data: blob0.data, baseSha256: blob0.baseSha256, countersSha256 } });
          await uploadDumps(db.prisma, { node: `node-${i}`, dumps: [p], ...upload, deltaBases: db.deltaBases });
        }
      }
      const json = JSON.stringify({ ...meta, host: g.host, delta: deltaOf(i, t.sha, t.nextSha) });
      deltaBytes += Buffer.byteLength(json);
      bodies.push(JSON.parse(json) as DeltaUploadBody);
      if (i % 100 === 99) log(`    seeded ${i + 1} nodes (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
    // What the store holds for the checked nodes is what uploading their texts the real way leaves.
    const check = await openDatabase(`file:${o.checkFile}`);
    try {
      await uploadDumps(check.prisma, { node: 'node-0', dumps: [p0], ...upload, deltaBases: check.deltaBases });
      for (const [i, p] of real) {
        await uploadDumps(check.prisma, { node: `node-${i}`, dumps: [p], ...upload, deltaBases: check.deltaBases });
        const want = await storedState(check, `node-${i}`);
        for (const db of dbs) if (!isDeepStrictEqual(await storedState(db, `node-${i}`), want)) throw new Error(`fleet seeding: node ${i}'s stored state on ${db.provider} is not a real upload's`);
        if ((await latestDump(dbs[0]!.prisma, `node-${i}`, 'ipv4'))?.originalSha256 !== p.originalSha256) throw new Error('fleet seeding: wrong latest');
      }
    } finally {
      await check.close();
    }
    log(`    stored state checked against real uploads (nodes ${checked.join(', ')})`);
  } finally {
    for (const db of dbs) await db.close();
  }
  return {
    sqliteFile: o.sqliteFile,
    ...(o.pgSeed ? { pgSeed: o.pgSeed } : {}),
    bodies,
    wholeBody: (i) => ({ ...meta, host: g.host as unknown as UploadBody['host'], dump: nextCollection(nodeText(template, i), busy) }),
    expectedSha: (i) => (bodies[i]!.delta as { sha256: string }).sha256,
    seedSeconds: (performance.now() - t0) / 1000,
    deltaBytes,
    textBytes: Buffer.byteLength(template),
    nodes: o.agents,
  };
}
