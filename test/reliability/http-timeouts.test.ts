// Request timeouts and the connection cap (src/http/transport.ts), over raw
// sockets: a client trickling its body is cut off with a 408 problem+json once
// HTTP_REQUEST_TIMEOUT_MS is over; one that never finishes its headers after
// HTTP_HEADERS_TIMEOUT_MS; connections over HTTP_MAX_CONNECTIONS are refused.
// The node:test timeouts only stop a hanging test; nothing here asserts speed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startApi, type TestApi } from '../support/api.ts';
import { transportOptions } from '../../src/http/transport.ts';
import { DEFAULT_CONFIG } from '../../src/http/config.ts';

interface RawConnection {
  readonly socket: net.Socket;
  /** Everything received until the server closed the connection. */
  readonly closed: Promise<string>;
}

function connect(url: string): Promise<RawConnection> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port), u.hostname);
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (data += d));
    const closed = new Promise<string>((r) => socket.on('close', () => r(data)));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

function parseResponse(text: string): { status: number; headers: Record<string, string>; body: string } {
  const [head = '', body = ''] = text.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

describe('request timeouts', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi({ config: { requestTimeoutMs: 600, headersTimeoutMs: 400 } });
  });
  after(async () => api.close());

  it('a body trickled a byte at a time is cut off with 408 problem+json, and the connection closed', { timeout: 20_000 }, async () => {
    const c = await connect(api.url);
    c.socket.write('POST /api/v1/nodes/slow/dumps HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n');
    let sent = 0;
    const trickle = setInterval(() => {
      if (!c.socket.destroyed && c.socket.writable) c.socket.write('#');
      sent++;
    }, 50);
    try {
      const res = parseResponse(await c.closed);
      assert.equal(res.status, 408, JSON.stringify(res));
      assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
      const doc = JSON.parse(res.body) as { type: string; status: number; detail: string };
      assert.equal(doc.type, '/problems/request-timeout');
      assert.equal(doc.status, 408);
      assert.match(doc.detail, /HTTP_REQUEST_TIMEOUT_MS/);
      assert.ok(sent > 0);
    } finally {
      clearInterval(trickle);
    }
    // Nothing was stored.
    const nodes = await api.request.get('/api/v1/nodes').expect(200);
    assert.deepEqual(nodes.body.items, []);
  });

  it('a client that never finishes its headers is cut off too', { timeout: 20_000 }, async () => {
    const c = await connect(api.url);
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    const res = parseResponse(await c.closed);
    assert.equal(res.status, 408);
    assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
  });

  it('requests that arrive in time are served (keep-alive included)', async () => {
    await api.request.get('/healthz').expect(200);
    await api.request.get('/healthz').expect(200);
  });
});

describe('connection cap', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi({ config: { maxConnections: 2 } });
  });
  after(async () => api.close());

  const count = (): Promise<number> => new Promise((r, j) => api.app.server.getConnections((e, n) => (e ? j(e) : r(n))));

  it('connections over HTTP_MAX_CONNECTIONS are refused; one frees a place when it closes', { timeout: 20_000 }, async () => {
    const held = [await connect(api.url), await connect(api.url)];
    while ((await count()) < 2) await sleep(10);
    const third = await connect(api.url);
    third.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    assert.equal(await third.closed, '', 'the third connection was closed without an answer');
    // The two held connections still work.
    held[0]!.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    assert.equal(parseResponse(await held[0]!.closed).status, 200);
    while ((await count()) > 1) await sleep(10);
    const fourth = await connect(api.url);
    fourth.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    assert.equal(parseResponse(await fourth.closed).status, 200);
    held[1]!.socket.destroy();
  });
});

describe('transport defaults', () => {
  it('bounds header and request time and connections by default, with Node checking timeouts often enough', () => {
    const o = transportOptions(DEFAULT_CONFIG);
    assert.equal(o.requestTimeout, 120_000);
    assert.equal(o.http?.headersTimeout, 20_000);
    assert.equal(o.http?.connectionsCheckingInterval, 5_000);
    assert.equal(o.keepAliveTimeout, 72_000);
    assert.equal(DEFAULT_CONFIG.maxConnections, 1024);
  });
});
