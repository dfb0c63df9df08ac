// Service configuration. This is the ONLY module that reads `process.env`;
// everything else receives a `Config`.

export interface Config {
  /** TCP port to listen on (PORT, default 8080). */
  readonly port: number;
  /** Address to bind (HOST, default 127.0.0.1; the container sets 0.0.0.0). */
  readonly host: string;
  /** SQLite database (DATABASE_URL, default `file:./data/packetpath.db`; the directory is created). */
  readonly databaseUrl: string;
  /** pino level (LOG_LEVEL, default `info`). */
  readonly logLevel: LogLevel;
  /** Largest request body as sent, i.e. before gzip decoding (MAX_UPLOAD_BYTES, default 64 MiB). */
  readonly maxUploadBytes: number;
  /** Largest request body after gzip decoding (MAX_DECOMPRESSED_BYTES, default 256 MiB). */
  readonly maxDecompressedBytes: number;
  /** Parsed rulesets kept in memory, keyed by sha256 (RULESET_CACHE_SIZE, default 64). */
  readonly rulesetCacheSize: number;
  /** SQLite busy timeout in milliseconds (DB_BUSY_TIMEOUT_MS, default 10000). */
  readonly busyTimeoutMs: number;
  /**
   * Serve read routes without a token (PACKETPATH_OPEN_READS, default false).
   * Uploads and admin routes always need one once tokens exist or the server
   * is bound to a non-loopback address (see plugins/auth.ts).
   */
  readonly openReads: boolean;
  /** Failed authentications per client IP per minute before 429 (PACKETPATH_AUTH_FAILURE_LIMIT, default 10; 0 disables). */
  readonly authFailureLimit: number;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const MiB = 1024 * 1024;

export const DEFAULT_CONFIG: Config = Object.freeze({
  port: 8080,
  host: '127.0.0.1',
  databaseUrl: 'file:./data/packetpath.db',
  logLevel: 'info',
  maxUploadBytes: 64 * MiB,
  maxDecompressedBytes: 256 * MiB,
  rulesetCacheSize: 64,
  busyTimeoutMs: 10_000,
  openReads: false,
  authFailureLimit: 10,
});

/** The environment variables the service reads, for `--help` and the README. */
export const ENV_VARS: readonly { name: string; default: string; description: string }[] = [
  { name: 'PORT', default: '8080', description: 'TCP port to listen on' },
  { name: 'HOST', default: '127.0.0.1', description: 'address to bind (0.0.0.0 in the container)' },
  { name: 'DATABASE_URL', default: 'file:./data/packetpath.db', description: 'SQLite file (`file:` URL); its directory is created' },
  { name: 'LOG_LEVEL', default: 'info', description: 'fatal, error, warn, info, debug, trace or silent' },
  { name: 'MAX_UPLOAD_BYTES', default: String(64 * MiB), description: 'largest upload as sent (compressed size for gzip)' },
  { name: 'MAX_DECOMPRESSED_BYTES', default: String(256 * MiB), description: 'largest upload after gzip decoding' },
  { name: 'RULESET_CACHE_SIZE', default: '64', description: 'parsed rulesets kept in memory (LRU by sha256)' },
  { name: 'DB_BUSY_TIMEOUT_MS', default: '10000', description: 'how long a write waits for the SQLite lock' },
  { name: 'PACKETPATH_OPEN_READS', default: 'false', description: 'true: read routes need no token (uploads and admin still do)' },
  { name: 'PACKETPATH_AUTH_FAILURE_LIMIT', default: '10', description: 'failed authentications per client IP per minute before 429 (0: no limit)' },
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

/** Reads the configuration from the environment (`process.env` by default). Throws ConfigError on bad values. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const logLevel = (env['LOG_LEVEL']?.trim() || DEFAULT_CONFIG.logLevel) as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not "${logLevel}"`);
  const databaseUrl = env['DATABASE_URL']?.trim() || DEFAULT_CONFIG.databaseUrl;
  if (!databaseUrl.startsWith('file:')) throw new ConfigError(`DATABASE_URL must be a SQLite file URL (file:PATH), not "${databaseUrl}"`);
  return {
    port: integer(env, 'PORT', DEFAULT_CONFIG.port, 0, 65535),
    host: env['HOST']?.trim() || DEFAULT_CONFIG.host,
    databaseUrl,
    logLevel,
    maxUploadBytes: integer(env, 'MAX_UPLOAD_BYTES', DEFAULT_CONFIG.maxUploadBytes, 1, Number.MAX_SAFE_INTEGER),
    maxDecompressedBytes: integer(env, 'MAX_DECOMPRESSED_BYTES', DEFAULT_CONFIG.maxDecompressedBytes, 1, Number.MAX_SAFE_INTEGER),
    rulesetCacheSize: integer(env, 'RULESET_CACHE_SIZE', DEFAULT_CONFIG.rulesetCacheSize, 0, 100_000),
    busyTimeoutMs: integer(env, 'DB_BUSY_TIMEOUT_MS', DEFAULT_CONFIG.busyTimeoutMs, 0, 3_600_000),
    openReads: boolean(env, 'PACKETPATH_OPEN_READS', DEFAULT_CONFIG.openReads),
    authFailureLimit: integer(env, 'PACKETPATH_AUTH_FAILURE_LIMIT', DEFAULT_CONFIG.authFailureLimit, 0, 1_000_000),
  };
}
