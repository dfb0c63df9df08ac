import { parseArgs } from 'node:util';
import { readInput, InputError, UsageError, type Io } from '../io.ts';
import { buildHost, formatTraceText, parseDump, tracePacket, traceToJson, validatePacket, type CtState, type Host } from '../../netfilter/index.ts';

const USAGE = 'trace FILE [--host HOST.json] (--in IFACE | --local) --src IP --dst IP --proto tcp|udp|sctp|icmp [--sport N] [--dport N] [--state NEW|ESTABLISHED|RELATED|INVALID] [--mark 0xN] [--json]';

const FLAGS = {
  host: { type: 'string' },
  in: { type: 'string' },
  local: { type: 'boolean' },
  src: { type: 'string' },
  dst: { type: 'string' },
  proto: { type: 'string' },
  sport: { type: 'string' },
  dport: { type: 'string' },
  state: { type: 'string' },
  mark: { type: 'string' },
  connmark: { type: 'string' },
  'icmp-type': { type: 'string' },
  'icmp-code': { type: 'string' },
  uid: { type: 'string' },
  json: { type: 'boolean' },
  family: { type: 'string' },
} as const;

const num = (v: string | undefined, what: string): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`${what} must be a number, not "${v}"`);
  return Number(v);
};

export async function loadHost(file: string | undefined, io: Io): Promise<Host | undefined> {
  if (!file) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(await readInput(file, io));
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`host file ${file} is not JSON: ${(err as Error).message}`);
  }
  const h = buildHost(json);
  if (!h.ok) throw new InputError(`host file ${file}: ${h.errors.join('; ')}`);
  return h.host;
}

/** `trace FILE ...`: one packet through one node. */
export async function runTrace(args: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: FLAGS, allowPositionals: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: ${USAGE}`);
  }
  const v = parsed.values;
  const [file, ...extra] = parsed.positionals;
  if (!file || extra.length) throw new UsageError(`usage: ${USAGE}`);
  if (!v.src || !v.dst || !v.proto) throw new UsageError(`--src, --dst and --proto are required\nusage: ${USAGE}`);
  if (!!v.in === !!v.local) throw new UsageError(`give exactly one of --in IFACE or --local\nusage: ${USAGE}`);
  const packetInput = {
    src: v.src,
    dst: v.dst,
    protocol: v.proto,
    ...(v.sport !== undefined ? { sport: num(v.sport, '--sport') } : {}),
    ...(v.dport !== undefined ? { dport: num(v.dport, '--dport') } : {}),
    ...(v['icmp-type'] !== undefined ? { icmpType: num(v['icmp-type'], '--icmp-type') } : {}),
    ...(v['icmp-code'] !== undefined ? { icmpCode: num(v['icmp-code'], '--icmp-code') } : {}),
    ...(v.uid !== undefined ? { uid: num(v.uid, '--uid') } : {}),
    ...(v.in ? { inInterface: v.in } : { local: true }),
    ...(v.state ? { state: v.state.toUpperCase() as CtState } : {}),
    ...(v.mark ? { mark: v.mark } : {}),
    ...(v.connmark ? { connmark: v.connmark } : {}),
  };
  const packet = validatePacket(packetInput);
  if (!packet.ok) throw new UsageError(`bad packet: ${packet.errors.join('; ')}`);
  const text = await readInput(file, io);
  const host = await loadHost(v.host, io);
  const parsedDump = parseDump(text, { family: packet.packet.family });
  if (parsedDump.ruleset.tables.length === 0) {
    throw new InputError(`${file}: no tables could be read (${parsedDump.diagnostics.find((d) => d.severity === 'error')?.message ?? 'empty input'})`);
  }
  const result = tracePacket(parsedDump.ruleset, packet.packet, { explain: true, ...(host ? { host } : {}) });
  const warnings = [...result.warnings, ...packet.notes, ...parsedDump.diagnostics.filter((d) => d.severity === 'error').map((d) => `dump line ${d.line}: ${d.message}`)];
  const withWarnings = { ...result, warnings };
  io.stdout(v.json ? JSON.stringify(traceToJson(withWarnings), null, 2) + '\n' : formatTraceText(withWarnings));
  return 0;
}
