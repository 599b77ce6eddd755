import type { IncomingMessage } from 'node:http';
import WebSocket, { WebSocketServer } from 'ws';
import { createApi } from '../../../server/api/api';
import { presentedTokens } from '../../../server/api/auth';
import { queryTokens, withoutToken } from '../../../server/proxy/token-param';
import { checkHost, checkOrigin, loopbackCrossOrigin, originPolicy } from '../../../server/api/origin';
import { FakeClusters, FakeSessions, jsonHeaders, startHarness, TOKEN, type Harness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ allowedOrigins: ['https://lab.example.org'] });
});
afterAll(() => h.close());

const fakeReq = (headers: Record<string, string>, method = 'GET') =>
  ({ headers: lower(headers), method }) as unknown as IncomingMessage;
const lower = (headers: Record<string, string>) =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));

describe('credentials', () => {
  test.each([`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `token ${TOKEN}`, `Token   ${TOKEN} `])(
    'Authorization: %s',
    async header => {
      const reply = await h.request('GET', '/hpclab/api/clusters', { auth: false, headers: { Authorization: header } });
      expect(reply.status).toBe(200);
    }
  );

  test('the cookie, among other cookies, and URL-encoded', async () => {
    const reply = await h.request('GET', '/hpclab/api/clusters', {
      auth: false,
      headers: { Cookie: `_xsrf=abc; hpclab-token=${encodeURIComponent(TOKEN)}; other=1` }
    });
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual(['testbed', 'here']);
  });

  test('a wrong header does not hide a right cookie', async () => {
    const reply = await h.request('GET', '/hpclab/api/clusters', {
      auth: false,
      headers: { Authorization: 'Bearer stale', Cookie: `hpclab-token=${TOKEN}` }
    });
    expect(reply.status).toBe(200);
  });

  test('401 never echoes what was sent', async () => {
    const reply = await h.request('GET', '/hpclab/api/sessions?token=secret-guess', { auth: false });
    expect(reply.status).toBe(401);
    expect(reply.text).not.toContain('secret-guess');
    expect(reply.headers['set-cookie']).toBeUndefined();
    expect(reply.headers['www-authenticate']).toBe('Bearer realm="hpclab"');
  });

  test('presentedTokens reads header and cookies only', () => {
    expect(
      presentedTokens(
        fakeReq({ Authorization: 'Bearer a', Cookie: 'hpclab-token=b; hpclab-token="c"; x-hpclab-token=d' })
      )
    ).toEqual(['a', 'b', 'c']);
    expect(presentedTokens(fakeReq({ Authorization: 'Basic a' }))).toEqual([]);
    expect(presentedTokens(fakeReq({ Authorization: 'Bearer a b' }))).toEqual([]);
  });

  test('an empty token is refused when the API is built', () => {
    expect(() => createApi({ sessions: new FakeSessions(), clusters: new FakeClusters(), token: '' })).toThrow(/token/);
  });
});

describe('?token= in the URL', () => {
  test('sets the cookie and redirects to the same URL without it, other params kept', async () => {
    const reply = await h.request('GET', `/hpclab/api/sessions?a=1&token=${TOKEN}&b=x%20y&flag`, { auth: false });
    expect(reply.status).toBe(302);
    expect(reply.headers.location).toBe('/hpclab/api/sessions?a=1&b=x%20y&flag');
    const cookie = reply.headers['set-cookie']?.[0] ?? '';
    expect(cookie).toMatch(new RegExp(`^hpclab-token=${TOKEN};`));
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/');
    expect(reply.headers['cache-control']).toBe('no-store');

    const follow = await h.request('GET', reply.headers.location!, {
      auth: false,
      headers: { Cookie: cookie.split(';')[0] }
    });
    expect(follow.status).toBe(200);
  });

  test('only token: the redirect drops the query entirely', async () => {
    const reply = await h.request('GET', `/hpclab/events?token=${TOKEN}`, { auth: false });
    expect(reply.status).toBe(302);
    expect(reply.headers.location).toBe('/hpclab/events');
    expect(h.sessions.subscribeCalls).toBe(0);
  });

  test('a wrong token in the URL is 401 and sets nothing', async () => {
    const reply = await h.request('GET', '/hpclab/api/clusters?token=nope', { auth: false });
    expect(reply.status).toBe(401);
    expect(reply.headers['set-cookie']).toBeUndefined();
  });

  test('on a write, ?token= authenticates without a redirect (REST clients carry it on every request)', async () => {
    const reply = await h.request('POST', `/hpclab/api/sessions/preview?token=${encodeURIComponent(TOKEN)}`, {
      auth: false,
      headers: jsonHeaders,
      body: JSON.stringify({ kind: 'lab', profile: 'gpu' })
    });
    expect(reply.status).not.toBe(401);
    expect(reply.status).not.toBe(302);
    expect(reply.headers['set-cookie']).toBeUndefined();
  });

  test('on a write, a wrong ?token= is 401', async () => {
    const reply = await h.request('POST', '/hpclab/api/sessions/preview?token=nope', {
      auth: false,
      headers: jsonHeaders,
      body: '{}'
    });
    expect(reply.status).toBe(401);
  });

  test('withoutToken keeps the redirect on this site', () => {
    expect(withoutToken('//evil.example/x?token=1')).toBe('/evil.example/x');
    expect(withoutToken('/\\evil.example?token=1&q=2')).toBe('/evil.example?q=2');
    expect(withoutToken('/a?%74oken=1&tokens=2')).toBe('/a?tokens=2');
    expect(queryTokens('/a?x=1&token=a%2Bb&token')).toEqual(['a+b', '']);
  });
});

describe('Host (DNS rebinding)', () => {
  test.each(['localhost:8888', 'LOCALHOST:1', '[::1]:9', '127.0.0.1', 'lab.example.org', 'lab.example.org:443'])(
    'allows %s',
    async host => {
      const reply = await h.request('GET', '/hpclab/api/clusters', { headers: { Host: host } });
      expect(reply.status).toBe(200);
    }
  );

  test.each([
    '127.0.0.2:80',
    'localhost.evil.example',
    'evil.example',
    '0.0.0.0:1',
    'lab.example.org:8443',
    '127.0.0.1:80@evil'
  ])('refuses %s', async host => {
    const reply = await h.request('GET', '/hpclab/api/clusters', { headers: { Host: host } });
    expect(reply.status).toBe(403);
    expect(reply.json.error.code).toBe('host-not-allowed');
  });

  test('a missing Host is refused', () => {
    expect(checkHost(originPolicy(), fakeReq({})).ok).toBe(false);
  });

  test('allowedOrigins must be origins', () => {
    expect(() => originPolicy(['lab.example.org'])).toThrow(/allowedOrigins/);
    expect(() => originPolicy(['https://lab.example.org/path'])).toThrow(/allowedOrigins/);
    expect(() => originPolicy(['ftp://lab.example.org'])).toThrow(/allowedOrigins/);
    expect(originPolicy(['HTTPS://Lab.Example.org:443/']).origins).toEqual(new Set(['https://lab.example.org']));
  });
});

describe('Origin on writes', () => {
  const create = (headers: Record<string, string>) =>
    h.request('POST', '/hpclab/api/sessions', {
      headers: { ...jsonHeaders, ...headers },
      body: JSON.stringify({ kind: 'lab', profile: 'gpu' })
    });

  test('same origin, an allowed origin, no Origin (curl) and same-origin fetch metadata pass', async () => {
    expect((await create({ Origin: `http://127.0.0.1:${h.port}` })).status).toBe(201);
    expect((await create({ Origin: 'https://lab.example.org' })).status).toBe(201);
    expect((await create({})).status).toBe(201);
    expect((await create({ 'Sec-Fetch-Site': 'same-origin', Origin: `http://127.0.0.1:${h.port}` })).status).toBe(201);
  });

  test('https:// of the same host is another origin: the cookie alone does not pass', async () => {
    const reply = await h.request('POST', '/hpclab/api/sessions', {
      auth: false,
      headers: { ...jsonHeaders, Origin: `https://127.0.0.1:${h.port}`, Cookie: `hpclab-token=${TOKEN}` },
      body: JSON.stringify({ kind: 'lab', profile: 'gpu' })
    });
    expect(reply.status).toBe(401);
  });

  test('a non-loopback origin is refused even with the token', async () => {
    expect((await create({ Origin: 'http://evil.example' })).status).toBe(403);
    const preflight = await h.request('OPTIONS', '/hpclab/api/sessions', {
      auth: false,
      headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' }
    });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  test('GET is not origin-checked (reads need the token, which another origin lacks)', async () => {
    const reply = await h.request('GET', '/hpclab/api/clusters', { headers: { Origin: 'http://evil.example' } });
    expect(reply.status).toBe(200);
  });

  test('checkOrigin on its own', () => {
    const policy = originPolicy();
    expect(checkOrigin(policy, fakeReq({ Host: 'localhost:5', Origin: 'http://LOCALHOST:5' })).ok).toBe(true);
    expect(checkOrigin(policy, fakeReq({ Host: 'localhost:5', Origin: 'http://localhost:6' })).ok).toBe(false);
    expect(checkOrigin(policy, fakeReq({ Host: 'localhost:5', 'Sec-Fetch-Site': 'cross-site' })).ok).toBe(false);
  });
});

describe('a page of another loopback port (plain Jupyter with the server extension)', () => {
  const jupyter = 'http://localhost:8888';

  test('the preflight is answered without a token, for that origin only', async () => {
    const reply = await h.request('OPTIONS', '/hpclab/api/sessions', {
      auth: false,
      headers: {
        Origin: jupyter,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type,idempotency-key'
      }
    });
    expect(reply.status).toBe(204);
    expect(reply.headers['access-control-allow-origin']).toBe(jupyter);
    expect(reply.headers['access-control-allow-headers']).toMatch(/Authorization.*Content-Type.*Idempotency-Key/);
    expect(reply.headers['access-control-allow-credentials']).toBeUndefined();
  });

  test('writes with the token in the header pass, and the reply is readable there', async () => {
    const reply = await h.request('POST', '/hpclab/api/sessions', {
      headers: { ...jsonHeaders, Origin: jupyter, 'Sec-Fetch-Site': 'cross-site' },
      body: JSON.stringify({ kind: 'lab', profile: 'gpu' })
    });
    expect(reply.status).toBe(201);
    expect(reply.headers['access-control-allow-origin']).toBe(jupyter);
  });

  test('the cookie the browser attaches by itself does not count', async () => {
    const reply = await h.request('GET', '/hpclab/api/clusters', {
      auth: false,
      headers: { Origin: jupyter, Cookie: `hpclab-token=${TOKEN}` }
    });
    expect(reply.status).toBe(401);
    expect(reply.json.error.message).toContain('cookie does not count');
  });

  test('?token= authenticates at once, without the cookie redirect (an EventSource cannot send a header)', async () => {
    const reply = await h.request('GET', `/hpclab/api/clusters?token=${TOKEN}`, {
      auth: false,
      headers: { Origin: 'http://127.0.0.1:9999' }
    });
    expect(reply.status).toBe(200);
    expect(reply.headers['set-cookie']).toBeUndefined();
    expect(reply.headers['access-control-allow-origin']).toBe('http://127.0.0.1:9999');
  });

  test('loopbackCrossOrigin tells the cases apart', () => {
    const policy = originPolicy(['https://lab.example.org']);
    const at = (origin: string) => loopbackCrossOrigin(policy, fakeReq({ Host: '127.0.0.1:5', Origin: origin }));
    expect(at('http://localhost:8888')).toBe('http://localhost:8888');
    expect(at('http://[::1]:8888')).toBe('http://[::1]:8888');
    expect(at('http://127.0.0.1:5')).toBeUndefined(); // the companion's own pages
    expect(at('https://lab.example.org')).toBeUndefined(); // allowed: treated as its own
    expect(at('http://localhost.evil.example')).toBeUndefined();
    expect(at('http://127.0.0.2:80')).toBeUndefined();
    expect(at('null')).toBeUndefined();
  });
});

describe('requireAuth on routes the caller mounts (node proxy)', () => {
  test('401 without the token, passes with the cookie', async () => {
    expect((await h.request('GET', '/proxied/abc123/lab', { auth: false })).status).toBe(401);
    const ok = await h.request('GET', '/proxied/abc123/lab', {
      auth: false,
      headers: { Cookie: `hpclab-token=${TOKEN}` }
    });
    expect(ok.json).toEqual({ proxied: 'GET', url: '/proxied/abc123/lab' });
  });

  test('?token= redirects to the full original path', async () => {
    const reply = await h.request('GET', `/proxied/abc123/lab/tree?token=${TOKEN}&reset`, { auth: false });
    expect(reply.status).toBe(302);
    expect(reply.headers.location).toBe('/proxied/abc123/lab/tree?reset');
  });

  test('cross-origin writes and foreign hosts are refused', async () => {
    expect((await h.request('POST', '/proxied/x', { headers: { Origin: 'http://evil.example' } })).status).toBe(403);
    expect((await h.request('GET', '/proxied/x', { headers: { Host: 'evil.example' } })).status).toBe(403);
    expect((await h.request('POST', '/proxied/x')).status).toBe(200);
  });
});

describe('checkUpgrade (WebSocket handshake on a real server)', () => {
  let wss: WebSocketServer;
  beforeAll(() => {
    wss = new WebSocketServer({ noServer: true });
    h.server.on('upgrade', (req, socket, head) => {
      const verdict = h.api.checkUpgrade(req);
      if (!verdict.ok) {
        socket.end(`HTTP/1.1 ${verdict.status} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      wss.handleUpgrade(req, socket, head, ws => ws.close(1000, 'ok'));
    });
  });
  afterAll(() => wss.close());

  const connect = (headers: Record<string, string>) =>
    new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${h.port}/hpclab/node/abc123/api/kernels/k/channels`, { headers });
      ws.on('open', () => resolve(101));
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', reject);
    });

  test('same origin with the cookie opens', async () => {
    expect(await connect({ Origin: `http://127.0.0.1:${h.port}`, Cookie: `hpclab-token=${TOKEN}` })).toBe(101);
  });

  test('no token → 401; wrong → 401; cross origin → 403; foreign Host → 403', async () => {
    expect(await connect({ Origin: `http://127.0.0.1:${h.port}` })).toBe(401);
    expect(await connect({ Cookie: 'hpclab-token=nope' })).toBe(401);
    expect(await connect({ Origin: 'http://evil.example', Cookie: `hpclab-token=${TOKEN}` })).toBe(403);
    expect(await connect({ Host: 'evil.example', Cookie: `hpclab-token=${TOKEN}` })).toBe(403);
  });

  test('?token= in the WebSocket URL opens; a wrong one is 401', async () => {
    const open = (token: string) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(
          `ws://127.0.0.1:${h.port}/hpclab/node/abc123/api/kernels/k/channels?session_id=s&token=${encodeURIComponent(token)}`
        );
        ws.on('open', () => resolve(101));
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('error', reject);
      });
    expect(await open(TOKEN)).toBe(101);
    expect(await open('nope')).toBe(401);
  });

  test('authenticate() looks at credentials only', () => {
    expect(h.api.authenticate(fakeReq({ Authorization: `Bearer ${TOKEN}` }))).toBe(true);
    expect(h.api.authenticate(fakeReq({ Authorization: 'Bearer nope' }))).toBe(false);
  });
});
