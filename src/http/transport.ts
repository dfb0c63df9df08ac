// The HTTP server's own limits, from the configuration: which proxies to
// believe for the client address, how long a client may take to send its
// headers and its whole request, idle keep-alive, and the connection cap.
// Without them a client trickling a body holds a connection (and its
// buffers) for ever.
import type { Server } from 'node:http';
import type { FastifyBaseLogger, FastifyHttpOptions } from 'fastify';
import type { Config } from './config.ts';
import { clientErrorHandler, frameworkErrorHandler } from './plugins/errors.ts';

/** How often Node looks for requests past their timeout: a quarter of the shortest one, between 100 ms and Node's 30 s. */
export function timeoutCheckIntervalMs(config: Pick<Config, 'headersTimeoutMs' | 'requestTimeoutMs'>): number {
  const shortest = Math.min(config.headersTimeoutMs, config.requestTimeoutMs || Infinity);
  return Math.min(30_000, Math.max(100, Math.floor(shortest / 4)));
}

/** Fastify server options: trustProxy, timeouts, and problem+json for the requests Node or the router refuse. */
export function transportOptions(config: Config): Pick<
  FastifyHttpOptions<Server>,
  'trustProxy' | 'requestTimeout' | 'keepAliveTimeout' | 'http' | 'clientErrorHandler' | 'frameworkErrors'
> {
  // Node refuses a headers timeout above a non-zero request timeout.
  const headersTimeout = config.requestTimeoutMs > 0 ? Math.min(config.headersTimeoutMs, config.requestTimeoutMs) : config.headersTimeoutMs;
  const hops = config.trustProxy;
  return {
    // A hop count trusts that many proxies in front of the server, whatever their addresses (as Fastify does for a number).
    trustProxy: typeof hops === 'number' ? (_address: string, hop: number) => hop < hops : typeof hops === 'boolean' ? hops : [...hops],
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    http: { headersTimeout, requestTimeout: config.requestTimeoutMs, connectionsCheckingInterval: timeoutCheckIntervalMs(config) },
    clientErrorHandler,
    frameworkErrors: frameworkErrorHandler,
  };
}

const DROP_LOG_EVERY_MS = 10_000;

/** Caps open connections (Node closes the ones over the cap at once) and logs, at most every 10 s, that it did. */
export function limitConnections(server: Server, config: Pick<Config, 'maxConnections'>, log: FastifyBaseLogger): void {
  if (config.maxConnections <= 0) return;
  server.maxConnections = config.maxConnections;
  let dropped = 0;
  let lastLog = 0;
  server.on('drop', () => {
    dropped++;
    const now = Date.now();
    if (now - lastLog < DROP_LOG_EVERY_MS) return;
    lastLog = now;
    log.warn({ maxConnections: config.maxConnections, dropped }, 'connection refused: HTTP_MAX_CONNECTIONS reached');
    dropped = 0;
  });
}
