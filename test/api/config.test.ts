// src/http/config.ts: defaults and validation of the environment.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ConfigError, DEFAULT_CONFIG, loadConfig } from '../../src/http/config.ts';
import { heapGrowingFlag } from '../../src/http/heap.ts';

describe('config', () => {
  it('defaults', () => {
    const c = loadConfig({});
    assert.deepEqual(c, DEFAULT_CONFIG);
    assert.equal(c.port, 8080);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.databaseUrl, 'file:./data/packetpath.db');
    assert.equal(c.maxUploadBytes, 64 * 1024 * 1024);
    assert.equal(c.maxDecompressedBytes, 64 * 1024 * 1024);
    assert.equal(c.maxDumpLines, 500_000);
  });

  it('reads the environment', () => {
    const c = loadConfig({ PORT: '9000', HOST: '0.0.0.0', DATABASE_URL: 'file:/data/x.db', LOG_LEVEL: 'debug', MAX_UPLOAD_BYTES: '1024', MAX_DECOMPRESSED_BYTES: '4096' });
    assert.deepEqual([c.port, c.host, c.databaseUrl, c.logLevel, c.maxUploadBytes, c.maxDecompressedBytes], [9000, '0.0.0.0', 'file:/data/x.db', 'debug', 1024, 4096]);
  });

  it('rejects bad values with a message naming the variable', () => {
    assert.throws(() => loadConfig({ PORT: 'eighty' }), (e: unknown) => e instanceof ConfigError && /PORT/.test(e.message));
    assert.throws(() => loadConfig({ PORT: '70000' }), /PORT/);
    assert.throws(() => loadConfig({ LOG_LEVEL: 'loud' }), /LOG_LEVEL/);
    assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://db' }), /DATABASE_URL/);
    assert.throws(() => loadConfig({ DB_POOL_SIZE: '0' }), /DB_POOL_SIZE/);
    assert.equal(loadConfig({ DB_POOL_SIZE: '3' }).dbPoolSize, 3);
    assert.equal(loadConfig({}).dbPoolSize, 10);
    assert.throws(() => loadConfig({ DATABASE_URL: './data/x.db' }), /DATABASE_URL/);
    for (const url of ['postgres://u:p@db:5432/pp', 'postgresql://u@/pp?host=/run/postgresql']) assert.equal(loadConfig({ DATABASE_URL: url }).databaseUrl, url);
    assert.throws(() => loadConfig({ MAX_UPLOAD_BYTES: '0' }), /MAX_UPLOAD_BYTES/);
  });
});

describe('config: authentication settings', () => {
  it('PACKETPATH_OPEN_READS and PACKETPATH_AUTH_FAILURE_LIMIT', () => {
    assert.equal(loadConfig({}).openReads, false);
    assert.equal(loadConfig({}).authFailureLimit, 10);
    assert.equal(loadConfig({ PACKETPATH_OPEN_READS: 'true' }).openReads, true);
    assert.equal(loadConfig({ PACKETPATH_OPEN_READS: '0' }).openReads, false);
    assert.equal(loadConfig({ PACKETPATH_AUTH_FAILURE_LIMIT: '0' }).authFailureLimit, 0);
    assert.throws(() => loadConfig({ PACKETPATH_OPEN_READS: 'maybe' }), /PACKETPATH_OPEN_READS/);
    assert.throws(() => loadConfig({ PACKETPATH_AUTH_FAILURE_LIMIT: '-1' }), /PACKETPATH_AUTH_FAILURE_LIMIT/);
  });
});

describe('config: HTTP server settings', () => {
  it('TRUST_PROXY: true/false, a hop count, or proxy addresses/CIDRs', () => {
    assert.equal(loadConfig({}).trustProxy, false);
    assert.equal(loadConfig({ TRUST_PROXY: 'true' }).trustProxy, true);
    assert.equal(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, false);
    assert.equal(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2);
    assert.deepEqual(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.0.2.7,2001:db8::/32,loopback' }).trustProxy, ['10.0.0.0/8', '192.0.2.7', '2001:db8::/32', 'loopback']);
    assert.throws(() => loadConfig({ TRUST_PROXY: 'ingress' }), /TRUST_PROXY/);
    assert.throws(() => loadConfig({ TRUST_PROXY: '10.0.0.0/40' }), /TRUST_PROXY/);
  });

  it('timeouts and the connection cap', () => {
    const d = loadConfig({});
    assert.deepEqual([d.headersTimeoutMs, d.requestTimeoutMs, d.keepAliveTimeoutMs, d.maxConnections], [20_000, 120_000, 72_000, 1024]);
    const c = loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '0', HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000', HTTP_MAX_CONNECTIONS: '0' });
    assert.deepEqual([c.headersTimeoutMs, c.requestTimeoutMs, c.keepAliveTimeoutMs, c.maxConnections], [5000, 0, 1000, 0]);
    assert.throws(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '0' }), /HTTP_HEADERS_TIMEOUT_MS/);
    assert.throws(() => loadConfig({ HTTP_MAX_CONNECTIONS: 'many' }), /HTTP_MAX_CONNECTIONS/);
  });
});

describe('config: HEAP_GROWING_PERCENT', () => {
  it("off by default (V8's own growth), read as a percent 0-1000, and given to V8 as --heap-growing-percent", () => {
    assert.equal(loadConfig({}).heapGrowingPercent, 0);
    assert.equal(heapGrowingFlag(loadConfig({}).heapGrowingPercent), null);
    const c = loadConfig({ HEAP_GROWING_PERCENT: '30' });
    assert.equal(c.heapGrowingPercent, 30);
    assert.equal(heapGrowingFlag(c.heapGrowingPercent), '--heap-growing-percent=30');
    for (const bad of ['-1', '1001', 'lots']) assert.throws(() => loadConfig({ HEAP_GROWING_PERCENT: bad }), (err: unknown) => err instanceof ConfigError && /HEAP_GROWING_PERCENT/.test(err.message));
  });
  it('a V8 flag that exists in this Node (an unknown one would be ignored silently)', () => {
    const r = spawnSync(process.execPath, ['--heap-growing-percent=30', '-e', 'process.exit(0)'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /bad option|unrecognized/i);
  });
});
