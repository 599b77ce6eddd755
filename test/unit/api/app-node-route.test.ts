import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import { createApp } from '../../../server/app';

/*
 * The node proxy's fast path (before express): the same Host, Origin and token rules as every
 * other route, checked on the real request listener main.ts serves.
 */
const TOKEN = 'node-route-token-0123456789';

let backend: http.Server;
let server: http.Server;
let port: number;
const seen: string[] = [];

beforeAll(async () => {
  backend = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization}`);
    res.end('from the node');
  });
  await new Promise<void>(r => backend.listen(0, '127.0.0.1', r));
  const backendPort = (backend.address() as AddressInfo).port;
  const target = {
    sessionId: 'sess01',
    token: 'node-secret',
    connect: () => Promise.resolve(net.connect(backendPort, '127.0.0.1'))
  };
  const sessions = {
    proxyLookup: (id: string) => (id === 'sess01' ? target : undefined),
    subscribe: () => () => undefined,
    list: () => [],
    get: () => undefined
  };
  const clusters = { config: { clusters: {}, profiles: {} }, names: () => [] };
  const { handle, onUpgrade } = createApp({ clusters, sessions, token: TOKEN } as unknown as Parameters<
    typeof createApp
  >[0]);
  server = http.createServer(handle);
  server.on('upgrade', onUpgrade);
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
  backend.close();
});

function request(method: string, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path, headers: { Host: `127.0.0.1:${port}`, ...headers }, agent: false },
      res => {
        let body = '';
        res.on('data', d => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      }
    );
    req.on('error', reject);
    req.end();
  });
}

test('with the token: proxied with the node token, never the companion one', async () => {
  const r = await request('GET', '/hpclab/node/sess01/api/status', { Authorization: `token ${TOKEN}` });
  expect([r.status, r.body]).toEqual([200, 'from the node']);
  expect(seen.at(-1)).toBe('GET /hpclab/node/sess01/api/status token node-secret');
});

test('no token or a wrong one: 401 in the API error shape, nothing reaches the node', async () => {
  const before = seen.length;
  for (const headers of [{}, { Authorization: 'token nope' }, { Cookie: 'hpclab-token=nope' }] as Record<
    string,
    string
  >[]) {
    const r = await request('GET', '/hpclab/node/sess01/lab', headers);
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body).error.code).toBe('unauthorized');
    expect(r.headers['www-authenticate']).toContain('Bearer');
  }
  expect(seen.length).toBe(before);
});

test('a foreign Host (DNS rebinding) and a cross-origin write are 403, token or not', async () => {
  const rebinding = await request('GET', '/hpclab/node/sess01/lab', {
    Authorization: `token ${TOKEN}`,
    Host: 'evil.example'
  });
  expect([rebinding.status, JSON.parse(rebinding.body).error.code]).toEqual([403, 'host-not-allowed']);
  const cross = await request('POST', '/hpclab/node/sess01/api/contents', {
    Authorization: `token ${TOKEN}`,
    Origin: 'http://evil.example'
  });
  expect([cross.status, JSON.parse(cross.body).error.code]).toEqual([403, 'cross-origin']);
});

test('a tokened URL still goes through express: the cookie is set and the token leaves the address', async () => {
  const r = await request('GET', `/hpclab/node/sess01/lab?token=${TOKEN}&x=1`);
  expect(r.status).toBe(302);
  expect(r.headers.location).toBe('/hpclab/node/sess01/lab?x=1');
  expect(String(r.headers['set-cookie'])).toContain('hpclab-token=');
  const withCookie = await request('GET', '/hpclab/node/sess01/lab?x=1', { Cookie: `hpclab-token=${TOKEN}` });
  expect(withCookie.status).toBe(200);
});

test('an unknown session is a 404 from the proxy', async () => {
  const r = await request('GET', '/hpclab/node/nosuch1/lab', { Authorization: `token ${TOKEN}` });
  expect(r.status).toBe(404);
});
