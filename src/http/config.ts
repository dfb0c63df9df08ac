// Service configuration. This is the ONLY module that reads `process.env`;
// everything else receives a `Config`.
import ipaddr from 'ipaddr.js';

export interface Config {
  /** TCP port to listen on (PORT, default 8080). */
  readonly port: number;
  /** Address to bind (HOST, default 127.0.0.1; the container sets 0.0.0.0). */
  readonly host: string;
  /** The database (DATABASE_URL, default `file:./data/packetpath.db`: SQLite, the directory is created; `postgres://…`: PostgreSQL). */
  readonly databaseUrl: string;
  /** pino level (LOG_LEVEL, default `info`). */
  readonly logLevel: LogLevel;
  /** Largest request body as sent, i.e. before gzip decoding (MAX_UPLOAD_BYTES, default 64 MiB). */
  readonly maxUploadBytes: number;
  /** Largest request body after gzip decoding (MAX_DECOMPRESSED_BYTES, default 64 MiB). */
  readonly maxDecompressedBytes: number;
  /** Most lines in one uploaded dump (MAX_DUMP_LINES, default 500000). */
  readonly maxDumpLines: number;
  /** Parsed rulesets kept in memory, keyed by sha256 (RULESET_CACHE_SIZE, default 64). */
  readonly rulesetCacheSize: number;
  /** Rules those cached rulesets may hold in all (RULESET_CACHE_RULES, default 300000: one 10k-Service node and small ones). */
  readonly rulesetCacheRules: number;
  /** Heap limit of each analysis worker in MiB (ANALYSIS_WORKER_MEMORY_MB, default 512); past it the analysis is a 503. */
  readonly analysisWorkerMemoryMb: number;
  /** How far V8 lets the heap grow past what survived its last full GC, in percent (HEAP_GROWING_PERCENT, default 0: V8's own, 1.1-4×). heap.ts. */
  readonly heapGrowingPercent: number;
  /** SQLite busy timeout, PostgreSQL write lock timeout, in milliseconds (DB_BUSY_TIMEOUT_MS, default 10000). */
  readonly busyTimeoutMs: number;
  /** PostgreSQL connections per process at most, besides the one listening for changes (DB_POOL_SIZE, default 10; SQLite: unused). */
  readonly dbPoolSize: number;
  /** Worker threads for heavy analyses (findings, services) (ANALYSIS_WORKERS, default 1). */
  readonly analysisWorkers: number;
  /** Analyses waiting for a worker before a 503 with Retry-After (ANALYSIS_QUEUE, default 16). */
  readonly analysisQueue: number;
  /** Analysis results kept, keyed by the version's content (ANALYSIS_CACHE_SIZE, default 256). */
  readonly analysisCacheSize: number;
  /** Drawings laid out as SVG on the event loop up to this many boxes and arrows; bigger ones in an analysis worker (SVG_INLINE_MAX_ELEMENTS, default 40). */
  readonly svgInlineMaxElements: number;
  /**
   * Serve read routes without a token (PACKETPATH_OPEN_READS, default false).
   * Uploads and admin routes always need one once tokens exist or the server
   * is bound to a non-loopback address (see plugins/auth.ts).
   */
  readonly openReads: boolean;
  /** Failed authentications per client IP per minute before 429 (PACKETPATH_AUTH_FAILURE_LIMIT, default 10; 0 disables). */
  readonly authFailureLimit: number;
  /**
   * Which proxies' X-Forwarded-For to believe for the client address (TRUST_PROXY, default false):
   * true, a hop count, or addresses/CIDRs (Fastify's `trustProxy`).
   */
  readonly trustProxy: TrustProxy;
  /** Time to receive a request's headers, in ms (HTTP_HEADERS_TIMEOUT_MS, default 20000; at most the request timeout). */
  readonly headersTimeoutMs: number;
  /** Time to receive a whole request, body included, in ms (HTTP_REQUEST_TIMEOUT_MS, default 120000; 0: none). */
  readonly requestTimeoutMs: number;
  /** Idle keep-alive connections are closed after this, in ms (HTTP_KEEP_ALIVE_TIMEOUT_MS, default 72000). */
  readonly keepAliveTimeoutMs: number;
  /** Open connections at most; more are refused (HTTP_MAX_CONNECTIONS, default 1024; 0: no cap). */
  readonly maxConnections: number;
}

/** `false`, `true` (the last proxy hop is the client), a hop count, or trusted proxy addresses/CIDRs. */
export type TrustProxy = boolean | number | readonly string[];

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const MiB = 1024 * 1024;

export const DEFAULT_CONFIG: Config = Object.freeze({
  port: 8080,
  host: '127.0.0.1',
  databaseUrl: 'file:./data/packetpath.db',
  logLevel: 'info',
  maxUploadBytes: 64 * MiB,
  // Sized for the shipped 1 GiB memory limit: a 20k-Service kube-proxy node (~55 MB, ~470k lines) still
  // fits; a bomb of 250 MiB or of millions of short lines is refused before it is parsed.
  maxDecompressedBytes: 64 * MiB,
  maxDumpLines: 500_000,
  rulesetCacheSize: 64,
  rulesetCacheRules: 300_000,
  analysisWorkerMemoryMb: 512,
  heapGrowingPercent: 0,
  busyTimeoutMs: 10_000,
  dbPoolSize: 10,
  analysisWorkers: 1,
  analysisQueue: 16,
  analysisCacheSize: 256,
  svgInlineMaxElements: 40,
  openReads: false,
  authFailureLimit: 10,
  trustProxy: false,
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 120_000,
  keepAliveTimeoutMs: 72_000,
  maxConnections: 1024,
});

/** The environment variables the service reads, for `--help` and the README. */
export const ENV_VARS: readonly { name: string; default: string; description: string }[] = [
  { name: 'PORT', default: '8080', description: 'TCP port to listen on' },
  { name: 'HOST', default: '127.0.0.1', description: 'address to bind (0.0.0.0 in the container)' },
  { name: 'DATABASE_URL', default: 'file:./data/packetpath.db', description: 'SQLite file (`file:` URL; its directory is created) or PostgreSQL (`postgres://user:pass@host:5432/db`, a socket as `?host=/run/postgresql`)' },
  { name: 'LOG_LEVEL', default: 'info', description: 'fatal, error, warn, info, debug, trace or silent' },
  { name: 'MAX_UPLOAD_BYTES', default: String(64 * MiB), description: 'largest upload as sent (compressed size for gzip)' },
  { name: 'MAX_DECOMPRESSED_BYTES', default: String(64 * MiB), description: 'largest upload after gzip decoding' },
  { name: 'MAX_DUMP_LINES', default: '500000', description: 'most lines in one uploaded dump (about 2 KB of server memory per line at peak)' },
  { name: 'RULESET_CACHE_SIZE', default: '64', description: 'parsed rulesets kept in memory (LRU by sha256)' },
  { name: 'RULESET_CACHE_RULES', default: '300000', description: 'rules and chains those cached rulesets may hold in all; a 10k-Service node weighs about 235,000 (174k rules, 61k chains)' },
  { name: 'HEAP_GROWING_PERCENT', default: '0', description: 'how far the server lets its heap grow past what survived its last full GC (V8 `--heap-growing-percent`); 0: V8 decides (1.1-4×). Big nodes: 30 (README "Big nodes")' },
  { name: 'ANALYSIS_WORKER_MEMORY_MB', default: '512', description: 'heap limit of each analysis worker (MiB); an analysis that needs more is a 503 `analysis-too-large`, the server lives on' },
  { name: 'DB_BUSY_TIMEOUT_MS', default: '10000', description: 'how long a write waits for the database\'s write lock (SQLite busy timeout, PostgreSQL lock_timeout)' },
  { name: 'DB_POOL_SIZE', default: '10', description: 'PostgreSQL: connections per process at most, plus one listening for other replicas\' writes (SQLite: unused)' },
  { name: 'ANALYSIS_WORKERS', default: '1', description: 'worker threads for findings and services (off the event loop)' },
  { name: 'ANALYSIS_QUEUE', default: '16', description: 'analyses waiting for a worker; past that a 503 with Retry-After' },
  { name: 'ANALYSIS_CACHE_SIZE', default: '256', description: 'analysis results kept (LRU by the version\'s sha256)' },
  { name: 'SVG_INLINE_MAX_ELEMENTS', default: '40', description: 'drawings (POST /trace/drawing ...) with up to this many boxes and arrows are laid out as SVG on the event loop (~10 ms); bigger ones in an analysis worker' },
  { name: 'PACKETPATH_OPEN_READS', default: 'false', description: 'true: read routes need no token (uploads and admin still do)' },
  { name: 'PACKETPATH_AUTH_FAILURE_LIMIT', default: '10', description: 'failed authentications per client address, and per token id, per minute before 429 (0: no limit)' },
  { name: 'TRUST_PROXY', default: 'false', description: 'believe X-Forwarded-For from: true (any proxy), a hop count, or proxy addresses/CIDRs (comma-separated)' },
  { name: 'HTTP_HEADERS_TIMEOUT_MS', default: '20000', description: 'time to receive a request line and headers (408 after)' },
  { name: 'HTTP_REQUEST_TIMEOUT_MS', default: '120000', description: 'time to receive a whole request, body included (408 after; 0: none)' },
  { name: 'HTTP_KEEP_ALIVE_TIMEOUT_MS', default: '72000', description: 'idle keep-alive connections are closed after this' },
  { name: 'HTTP_MAX_CONNECTIONS', default: '1024', description: 'open connections at most; more are refused (0: no cap)' },
];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be a whole number, not "${raw}"`);
  const n = Number(raw.trim());
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, not ${n}`);
  return n;
}

function boolean(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, not "${env[name]}"`);
}

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/** TRUST_PROXY: true/false, a hop count, or a comma-separated list of addresses, CIDRs and proxy-addr's names. */
function trustProxy(env: NodeJS.ProcessEnv, name: string, fallback: TrustProxy): TrustProxy {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (/^\d+$/.test(raw)) return Number(raw);
  const lower = raw.toLowerCase();
  if (['true', 'yes', 'on'].includes(lower)) return true;
  if (['false', 'no', 'off'].includes(lower)) return false;
  const list = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const item of list) {
    const [addr, bits, more] = item.split('/');
    const ok =
      PROXY_NAMES.includes(item.toLowerCase()) ||
      (more === undefined && addr !== undefined && ipaddr.isValid(addr) && (bits === undefined || ipaddr.isValidCIDR(item)));
    if (!ok) throw new ConfigError(`${name} must be true, false, a hop count or a comma-separated list of proxy addresses/CIDRs, not "${raw}" ("${item}")`);
  }
  return list;
}

/** Reads the configuration from the environment (`process.env` by default). Throws ConfigError on bad values. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const logLevel = (env['LOG_LEVEL']?.trim() || DEFAULT_CONFIG.logLevel) as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not "${logLevel}"`);
  const databaseUrl = env['DATABASE_URL']?.trim() || DEFAULT_CONFIG.databaseUrl;
  if (!databaseUrl.startsWith('file:') && !/^postgres(ql)?:\/\//i.test(databaseUrl)) {
    throw new ConfigError(`DATABASE_URL must be a SQLite file URL (file:PATH) or a PostgreSQL URL (postgres://…), not "${databaseUrl}"`);
  }
  return {
    port: integer(env, 'PORT', DEFAULT_CONFIG.port, 0, 65535),
    host: env['HOST']?.trim() || DEFAULT_CONFIG.host,
    databaseUrl,
    logLevel,
    maxUploadBytes: integer(env, 'MAX_UPLOAD_BYTES', DEFAULT_CONFIG.maxUploadBytes, 1, Number.MAX_SAFE_INTEGER),
    maxDecompressedBytes: integer(env, 'MAX_DECOMPRESSED_BYTES', DEFAULT_CONFIG.maxDecompressedBytes, 1, Number.MAX_SAFE_INTEGER),
    maxDumpLines: integer(env, 'MAX_DUMP_LINES', DEFAULT_CONFIG.maxDumpLines, 1, 100_000_000),
    rulesetCacheSize: integer(env, 'RULESET_CACHE_SIZE', DEFAULT_CONFIG.rulesetCacheSize, 0, 100_000),
    rulesetCacheRules: integer(env, 'RULESET_CACHE_RULES', DEFAULT_CONFIG.rulesetCacheRules, 0, 1_000_000_000),
    analysisWorkerMemoryMb: integer(env, 'ANALYSIS_WORKER_MEMORY_MB', DEFAULT_CONFIG.analysisWorkerMemoryMb, 64, 1_000_000),
    heapGrowingPercent: integer(env, 'HEAP_GROWING_PERCENT', DEFAULT_CONFIG.heapGrowingPercent, 0, 1000),
    busyTimeoutMs: integer(env, 'DB_BUSY_TIMEOUT_MS', DEFAULT_CONFIG.busyTimeoutMs, 0, 3_600_000),
    dbPoolSize: integer(env, 'DB_POOL_SIZE', DEFAULT_CONFIG.dbPoolSize, 1, 10_000),
    analysisWorkers: integer(env, 'ANALYSIS_WORKERS', DEFAULT_CONFIG.analysisWorkers, 1, 64),
    analysisQueue: integer(env, 'ANALYSIS_QUEUE', DEFAULT_CONFIG.analysisQueue, 1, 10_000),
    analysisCacheSize: integer(env, 'ANALYSIS_CACHE_SIZE', DEFAULT_CONFIG.analysisCacheSize, 0, 100_000),
    svgInlineMaxElements: integer(env, 'SVG_INLINE_MAX_ELEMENTS', DEFAULT_CONFIG.svgInlineMaxElements, 0, 1_000_000),
    openReads: boolean(env, 'PACKETPATH_OPEN_READS', DEFAULT_CONFIG.openReads),
    authFailureLimit: integer(env, 'PACKETPATH_AUTH_FAILURE_LIMIT', DEFAULT_CONFIG.authFailureLimit, 0, 1_000_000),
    trustProxy: trustProxy(env, 'TRUST_PROXY', DEFAULT_CONFIG.trustProxy),
    headersTimeoutMs: integer(env, 'HTTP_HEADERS_TIMEOUT_MS', DEFAULT_CONFIG.headersTimeoutMs, 1, 3_600_000),
    requestTimeoutMs: integer(env, 'HTTP_REQUEST_TIMEOUT_MS', DEFAULT_CONFIG.requestTimeoutMs, 0, 86_400_000),
    keepAliveTimeoutMs: integer(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', DEFAULT_CONFIG.keepAliveTimeoutMs, 1, 3_600_000),
    maxConnections: integer(env, 'HTTP_MAX_CONNECTIONS', DEFAULT_CONFIG.maxConnections, 0, 1_000_000),
  };
}
