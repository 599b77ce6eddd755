import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { createApp, UPGRADE_ROUTES, type UpgradeRoute } from '../../../server/app';
import type { ChannelPort } from '../../../server/kernels/connection-file';
import type { ProxyLookup } from '../../../server/sessions/types';
import { FakeSessions, TOKEN } from './harness';

/*
 * Who may open an upgraded connection through the companion, over real sockets: every route
 * of UPGRADE_ROUTES (the list onUpgrade itself dispatches on; a route added there needs a
 * sample below, or this file throws), each against stand-in upstreams that count the
 * connections they accept, and a "forbidden" listener that no request may ever reach. Raw
 * HTTP/1.1 on net sockets, so request targets and headers are sent exactly as written.
 */

/** A target the companion may reach: a node server, a kernel channel, the local Jupyter. */
interface Upstream {
  name: string;
  port: number;
  /** TCP connections accepted plus requests answered (a pooled connection may carry several). */
  accepted: number;
  /** Host headers of the upgrades it was sent (HTTP upstreams only). */
  hosts: string[];
  stop(): Promise<void>;
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function stopper(server: net.Server, sockets: Set<net.Socket>): () => Promise<void> {
  return () => {
    for (const s of sockets) s.destroy();
    return new Promise(resolve => server.close(() => resolve()));
  };
}

/** A Jupyter-like server: accepts every WebSocket upgrade. */
async function wsUpstream(name: string): Promise<Upstream> {
  const server = http.createServer((_req, res) => res.end('plain'));
  const wss = new WebSocketServer({ noServer: true });
  const sockets = new Set<net.Socket>();
  const up: Upstream = { name, port: 0, accepted: 0, hosts: [], stop: stopper(server, sockets) };
  server.on('connection', socket => {
    up.accepted++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('request', () => up.accepted++);
  server.on('upgrade', (req, socket, head) => {
    up.accepted++;
    up.hosts.push(String(req.headers.host));
    wss.handleUpgrade(req, socket, head, ws => ws.on('message', data => ws.send(data)));
  });
  up.port = await listen(server);
  return up;
}

/** A kernel channel (raw ZMTP bytes): echoes. The forbidden listener: hangs up at once. */
async function tcpUpstream(name: string, echo: boolean): Promise<Upstream> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer(socket => {
    up.accepted++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (echo) socket.pipe(socket);
    else socket.destroy();
  });
  const up: Upstream = { name, port: 0, accepted: 0, hosts: [], stop: stopper(server, sockets) };
  up.port = await listen(server);
  return up;
}

const NODE_TOKEN = 'node-secret';
const LIVE_SESSION = 'abc123';
const OTHER_SESSION = 'def456';
const PENDING_SESSION = 'pend01';
const LIVE_KERNEL = 'kern01';
const OTHER_KERNEL = 'kern02';
/** Unknown to the session manager and to the kernel service alike. */
const UNKNOWN_ID = 'zzz999';

let up: Record<'nodeLive' | 'nodeOther' | 'kernelLive' | 'kernelOther' | 'local' | 'forbidden', Upstream>;
/** Every id the node proxy and the kernel service were asked about. */
const lookedUp: string[] = [];
const channelsOpened: string[] = [];

function connectTo(upstream: Upstream): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(upstream.port, '127.0.0.1');
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

const proxyLookup: ProxyLookup = id => {
  lookedUp.push(id);
  if (id === LIVE_SESSION || id === OTHER_SESSION) {
    const upstream = id === LIVE_SESSION ? up.nodeLive : up.nodeOther;
    return { sessionId: id, token: NODE_TOKEN, connect: () => connectTo(upstream) };
  }
  if (id === PENDING_SESSION) return { live: false, state: 'pending', message: 'waiting for its job' };
  return undefined;
};

const kernels = {
  attach: () => () => undefined,
  async openChannel(kernelId: string, channel: ChannelPort) {
    channelsOpened.push(`${kernelId} ${channel}`);
    if (kernelId === LIVE_KERNEL) return { upstream: await connectTo(up.kernelLive) };
    if (kernelId === OTHER_KERNEL) return { upstream: await connectTo(up.kernelOther) };
    return undefined;
  }
};

type Mode = 'serve' | 'lab';
/** `hpclab serve` (no local Jupyter) and `hpclab lab` (every path outside /hpclab is the local Jupyter's). */
const companions = {} as Record<Mode, { server: http.Server; port: number; close(): void }>;

async function startCompanion(mode: Mode) {
  const sessions = Object.assign(new FakeSessions(), { proxyLookup });
  const clusters = { config: { clusters: {}, profiles: {} }, names: () => [] };
  const localJupyter = mode === 'lab' ? { port: up.local.port, token: 'local-secret' } : undefined;
  const app = createApp({ clusters, sessions, kernels, token: TOKEN, localJupyter } as unknown as Parameters<
    typeof createApp
  >[0]);
  const server = http.createServer(app.handle);
  server.on('upgrade', app.onUpgrade);
  const port = await listen(server);
  companions[mode] = { server, port, close: app.close };
}

beforeAll(async () => {
  up = {
    nodeLive: await wsUpstream(`node ${LIVE_SESSION}`),
    nodeOther: await wsUpstream(`node ${OTHER_SESSION}`),
    kernelLive: await tcpUpstream(`kernel ${LIVE_KERNEL}`, true),
    kernelOther: await tcpUpstream(`kernel ${OTHER_KERNEL}`, true),
    local: await wsUpstream('local jupyter'),
    forbidden: await tcpUpstream('forbidden', false)
  };
  await startCompanion('serve');
  await startCompanion('lab');
});

afterAll(async () => {
  for (const c of Object.values(companions)) {
    c.close();
    c.server.closeAllConnections();
    await new Promise(resolve => c.server.close(resolve));
  }
  for (const u of Object.values(up)) await u.stop();
});

/*
 * The table's rows: one sample per upgrade route. `path(id)` is a request target naming `id`
 * where the route names its target (a session, a kernel); the local Jupyter's target is fixed,
 * so its path has no id of the companion's and it has no "not live" rows.
 */
interface RouteSample {
  upgrade: 'websocket' | 'hpclab-stream';
  path(id: string): string;
  live: string;
  /** Another live target of the same route: steering must not reach it either. */
  other?: string;
  /** Where the live target's connections land. */
  own: () => Upstream;
  /** Served only by `hpclab lab`. */
  labOnly: boolean;
  /** Right token, same origin, but no such live target or a malformed id: refused before any upstream. */
  notLive(): { what: string; path: string; status: number }[];
}

const malformedIds = (path: (id: string) => string) => [
  { what: 'id ..', path: path('..'), status: 404 },
  { what: 'id %2e%2e', path: path('%2e%2e'), status: 404 },
  { what: 'id .%2E', path: path('.%2E'), status: 404 },
  { what: 'uppercase id', path: path('ABC123'), status: 404 },
  { what: 'id of 33 characters', path: path('a'.repeat(33)), status: 404 },
  { what: 'id of 5 characters', path: path('abc12'), status: 404 },
  { what: 'empty id', path: path(''), status: 404 },
  { what: 'id with %00', path: path('abc123%00'), status: 404 }
];

const SAMPLES: Record<string, RouteSample> = {
  node: {
    upgrade: 'websocket',
    path: id => `/hpclab/node/${id}/api/kernels/k1/channels?session_id=s1`,
    live: LIVE_SESSION,
    other: OTHER_SESSION,
    own: () => up.nodeLive,
    labOnly: false,
    notLive: () => [
      { what: 'unknown session', path: SAMPLES.node.path(UNKNOWN_ID), status: 404 },
      // Known but not reachable yet: 503 with a Retry-After, still nothing forwarded.
      { what: 'pending session', path: SAMPLES.node.path(PENDING_SESSION), status: 503 },
      { what: 'bare session path (no slash)', path: `/hpclab/node/${LIVE_SESSION}`, status: 404 },
      {
        what: 'dot segment after a live id',
        path: `/hpclab/node/${LIVE_SESSION}/../${OTHER_SESSION}/api/kernels`,
        status: 404
      },
      ...malformedIds(SAMPLES.node.path)
    ]
  },
  'kernel-channel': {
    upgrade: 'hpclab-stream',
    path: id => `/hpclab/kernels/${id}/channels/shell`,
    live: LIVE_KERNEL,
    other: OTHER_KERNEL,
    own: () => up.kernelLive,
    labOnly: false,
    notLive: () => [
      { what: 'unknown kernel', path: SAMPLES['kernel-channel'].path(UNKNOWN_ID), status: 404 },
      { what: 'unknown channel', path: `/hpclab/kernels/${LIVE_KERNEL}/channels/hb_port`, status: 404 },
      { what: 'extra segment', path: `/hpclab/kernels/${LIVE_KERNEL}/channels/shell/x`, status: 404 },
      ...malformedIds(SAMPLES['kernel-channel'].path)
    ]
  },
  'local-jupyter': {
    upgrade: 'websocket',
    path: id => `/api/kernels/${id}/channels?session_id=s1`,
    live: 'k00001',
    own: () => up.local,
    labOnly: true,
    notLive: () => []
  }
};

function sampleOf(route: string): RouteSample {
  const sample = SAMPLES[route];
  if (!sample) throw new Error(`access-upgrade.test.ts: add a sample for upgrade route "${route}"`);
  return sample;
}

/** The route a request target takes, by the same list onUpgrade uses. */
function routeOf(target: string, mode: Mode): UpgradeRoute | undefined {
  return UPGRADE_ROUTES.find(r => r.matches(target) && !(sampleOf(r.name).labOnly && mode === 'serve'))?.name;
}

interface Attempt {
  method?: string;
  target: string;
  /** Replaces (or with undefined, removes) a default header; names are case-insensitive. */
  headers?: Record<string, string | undefined>;
  auth?: boolean;
}

interface Answer {
  status: number;
  /** The status line and headers. */
  head: string;
  /** The companion closed the connection after refusing (always true for a 101: we close it). */
  closed: boolean;
  /** Which upstreams accepted a connection during the attempt. */
  reached: string[];
}

function rawRequest(port: number, upgrade: string, a: Attempt): string {
  const headers: Record<string, string | undefined> = {
    host: `127.0.0.1:${port}`,
    origin: `http://127.0.0.1:${port}`,
    connection: 'Upgrade',
    upgrade,
    'sec-websocket-version': '13',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    authorization: a.auth === false ? undefined : `token ${TOKEN}`
  };
  for (const [name, value] of Object.entries(a.headers ?? {})) headers[name.toLowerCase()] = value;
  const lines = Object.entries(headers).flatMap(([name, value]) => (value === undefined ? [] : [`${name}: ${value}`]));
  return `${a.method ?? 'GET'} ${a.target} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

const counts = () => Object.fromEntries(Object.values(up).map(u => [u.name, u.accepted]));

/** Sends one upgrade request and reads the answer's head; a refusal must also close the socket. */
async function attempt(mode: Mode, upgrade: string, a: Attempt): Promise<Answer> {
  const before = counts();
  const port = companions[mode].port;
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  let received = '';
  const result = await new Promise<{ status: number; head: string; closed: boolean }>(resolve => {
    const timer = setTimeout(() => resolve({ status: -1, head: received, closed: false }), 3000);
    socket.on('data', chunk => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 0);
      if (end >= 0 && status === 101) {
        clearTimeout(timer);
        resolve({ status, head: received.slice(0, end), closed: true });
      }
    });
    socket.once('close', () => {
      clearTimeout(timer);
      const end = received.indexOf('\r\n\r\n');
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 0),
        head: end < 0 ? received : received.slice(0, end),
        closed: true
      });
    });
    socket.write(rawRequest(port, upgrade, a));
  });
  socket.destroy();
  // A connection the companion opened would have been accepted before its answer; one more
  // turn of the loop so a late one is still seen.
  await new Promise(resolve => setTimeout(resolve, 5));
  const after = counts();
  const reached = Object.keys(after).filter(name => after[name] !== before[name]);
  return { ...result, reached };
}

/** The route's live target through the right door: must be a 101 that reached only its own upstream. */
async function expectAccepted(
  mode: Mode,
  route: string,
  a: Attempt = { target: sampleOf(route).path(sampleOf(route).live) }
) {
  const s = sampleOf(route);
  const answer = await attempt(mode, s.upgrade, a);
  expect([route, a, answer.status, answer.reached]).toEqual([route, a, 101, [s.own().name]]);
}

async function expectRefused(mode: Mode, route: string, a: Attempt, status: number) {
  const answer = await attempt(mode, sampleOf(route).upgrade, a);
  expect([route, a, answer.status, answer.closed, answer.reached]).toEqual([route, a, status, true, []]);
}

const WRONG_TOKENS: { what: string; headers: Attempt['headers']; query?: string }[] = [
  { what: 'Authorization: token wrong', headers: { authorization: 'token wrong' } },
  { what: 'Authorization: Bearer wrong', headers: { authorization: 'Bearer wrong' } },
  { what: 'Authorization: Basic <token>', headers: { authorization: `Basic ${TOKEN}` } },
  { what: 'Authorization: token <token>x', headers: { authorization: `token ${TOKEN}x` } },
  { what: 'cookie hpclab-token=wrong', headers: { cookie: 'hpclab-token=wrong' } },
  { what: 'cookie with the token under another name', headers: { cookie: `other-token=${TOKEN}` } },
  { what: '?token=wrong', headers: {}, query: 'token=wrong' }
];

const withQuery = (path: string, query: string) => `${path}${path.includes('?') ? '&' : '?'}${query}`;

const CROSS_ORIGIN: { what: string; headers: Attempt['headers'] }[] = [
  { what: 'Origin: http://evil.example', headers: { origin: 'http://evil.example' } },
  { what: 'Origin: null', headers: { origin: 'null' } },
  { what: 'Origin: another loopback port', headers: { origin: 'http://127.0.0.1:1' } },
  { what: 'Origin: https:// on the same host', headers: { origin: 'https://127.0.0.1' } },
  { what: 'Sec-Fetch-Site: cross-site, no Origin', headers: { origin: undefined, 'sec-fetch-site': 'cross-site' } }
];

const REBINDING: { what: string; headers: Attempt['headers'] }[] = [
  { what: 'Host: evil.example', headers: { host: 'evil.example', origin: undefined } },
  // The rebinding page is same-origin with itself: Host and Origin agree and still must not pass.
  { what: 'Host and Origin both evil.example', headers: { host: 'evil.example', origin: 'http://evil.example' } },
  {
    what: 'Host: localhost.evil.example',
    headers: { host: 'localhost.evil.example', origin: 'http://localhost.evil.example' }
  },
  { what: 'Host: 127.0.0.1.evil.example', headers: { host: '127.0.0.1.evil.example', origin: undefined } },
  { what: 'Host: 10.0.0.1', headers: { host: '10.0.0.1', origin: undefined } }
];

/**
 * Requests that try to aim the companion at another host:port: the forbidden listener's, or
 * another live target's. Each may be refused or reach the route's own upstream, nothing else.
 */
function steering(route: string): [string, Attempt][] {
  const s = sampleOf(route);
  const F = up.forbidden.port;
  const livePath = s.path(s.live);
  const other = s.other ?? 'other1';
  const forbiddenHost = { host: `127.0.0.1:${F}`, origin: `http://127.0.0.1:${F}` };
  return [
    ['absolute-form target', { target: `http://127.0.0.1:${F}${livePath}` }],
    [
      'absolute-form target with userinfo',
      { target: `http://127.0.0.1:${companions.lab.port}@127.0.0.1:${F}${livePath}` }
    ],
    ['absolute-form target, Host agreeing', { target: `http://127.0.0.1:${F}${livePath}`, headers: forbiddenHost }],
    ['scheme-relative target', { target: `//127.0.0.1:${F}${livePath}` }],
    ['Host (and Origin) naming the forbidden port', { target: livePath, headers: forbiddenHost }],
    ['Host: localhost:<forbidden>', { target: livePath, headers: { host: `localhost:${F}`, origin: undefined } }],
    [
      'X-Forwarded-Host/-Port/-Proto, Forwarded, X-Real-IP',
      {
        target: livePath,
        headers: {
          'x-forwarded-host': `127.0.0.1:${F}`,
          'x-forwarded-port': String(F),
          'x-forwarded-proto': 'http',
          forwarded: `host=127.0.0.1:${F};proto=http`,
          'x-real-ip': '127.0.0.1'
        }
      }
    ],
    ['../../ after the live id', { target: s.path(`${s.live}/../..`) }],
    ['../ into another live target', { target: s.path(`${s.live}/../${other}`) }],
    ['%2e%2e/ into another live target', { target: s.path(`${s.live}/%2e%2e/${other}`) }],
    ['..%2f into another live target', { target: s.path(`${s.live}/..%2f${other}`) }],
    ['a port after the id', { target: s.path(`${s.live}:${F}`) }],
    ['host:port as the id', { target: s.path(`127.0.0.1:${F}`) }],
    ['userinfo-like id', { target: s.path(`${s.live}@127.0.0.1:${F}`) }],
    ['encoded slash in the id', { target: s.path(`${s.live}%2f..%2f${other}`) }],
    ['backslash in the id', { target: s.path(`${s.live}\\..\\${other}`) }]
  ];
}

test('the upgrade routes are read from the dispatch list, and each has a sample here', () => {
  expect(UPGRADE_ROUTES.map(r => r.name)).toEqual(expect.arrayContaining(['node', 'kernel-channel', 'local-jupyter']));
  for (const route of UPGRADE_ROUTES) sampleOf(route.name);
  // Each sample is taken by its own route and by no other.
  for (const route of UPGRADE_ROUTES) {
    const s = sampleOf(route.name);
    expect([route.name, UPGRADE_ROUTES.filter(r => r.matches(s.path(s.live))).map(r => r.name)]).toEqual([
      route.name,
      [route.name]
    ]);
  }
});

describe.each(['serve', 'lab'] as const)('hpclab %s', mode => {
  const routes = UPGRADE_ROUTES.map(r => r.name).filter(name => !(sampleOf(name).labOnly && mode === 'serve'));

  describe.each(routes)('upgrade route %s', route => {
    const s = () => sampleOf(route);
    const live = () => s().path(s().live);

    test('positive control: right token, same origin, live target → 101 at its own upstream only', async () => {
      await expectAccepted(mode, route);
      // Each way of presenting the token works, so the refusals below are about the token's value.
      await expectAccepted(mode, route, { target: live(), auth: false, headers: { authorization: `Bearer ${TOKEN}` } });
      await expectAccepted(mode, route, {
        target: live(),
        auth: false,
        headers: { cookie: `a=b; hpclab-token=${TOKEN}` }
      });
      // As Jupyter's own clients send it: the token in the WebSocket URL.
      await expectAccepted(mode, route, {
        target: withQuery(live(), `token=${encodeURIComponent(TOKEN)}`),
        auth: false
      });
      // No Origin at all (not a browser) is same-origin enough.
      await expectAccepted(mode, route, { target: live(), headers: { origin: undefined } });
    });

    test('no token → 401, closed, nothing reached', async () => {
      await expectRefused(mode, route, { target: live(), auth: false }, 401);
    });

    test.each(WRONG_TOKENS)('wrong token ($what) → 401, nothing reached', async ({ headers, query }) => {
      await expectRefused(
        mode,
        route,
        { target: query ? withQuery(live(), query) : live(), auth: false, headers },
        401
      );
    });

    test.each(CROSS_ORIGIN)('cross-origin with the right token ($what) → 403, nothing reached', async ({ headers }) => {
      await expectRefused(mode, route, { target: live(), headers }, 403);
    });

    test.each(REBINDING)(
      'non-loopback Host, DNS rebinding ($what) → 403 with or without the token',
      async ({ headers }) => {
        await expectRefused(mode, route, { target: live(), headers }, 403);
        await expectRefused(mode, route, { target: live(), headers, auth: false }, 403);
      }
    );

    test('right token, same origin, but no live target or a malformed id → refused, nothing reached', async () => {
      const rows = s().notLive();
      for (const row of rows) await expectRefused(mode, route, { target: row.path }, row.status);
      // Only well-formed ids were ever looked up.
      expect(lookedUp.filter(id => !/^[a-z0-9]{6,32}$/.test(id))).toEqual([]);
      expect(channelsOpened.filter(c => !/^[a-z0-9]{6,32} \w+_port$/.test(c))).toEqual([]);
    });

    test('cannot be aimed at another host:port or another live target', async () => {
      const forbidden = up.forbidden.accepted;
      for (const [what, a] of steering(route)) {
        const answer = await attempt(mode, s().upgrade, a);
        // Where a target that is not origin-form goes is decided by the dispatch list; in
        // `hpclab lab` that is the local Jupyter, whose address is fixed.
        const owner = routeOf(a.target, mode);
        const allowed = answer.status === 101 && owner ? [sampleOf(owner).own().name] : [];
        // Refused: a 4xx, or (an upgrade the local Jupyter's proxy cannot make) closed unanswered.
        const refused = answer.closed && (answer.status === 0 || (answer.status >= 400 && answer.status < 500));
        expect([route, what, answer.status === 101 || refused, answer.reached]).toEqual([route, what, true, allowed]);
      }
      expect(up.forbidden.accepted).toBe(forbidden);
      // Whatever Host the browser sent, each HTTP upstream was only ever told its own.
      expect(up.nodeLive.hosts.concat(up.nodeOther.hosts).filter(h => h !== '127.0.0.1')).toEqual([]);
      expect(up.local.hosts.filter(h => h !== `127.0.0.1:${up.local.port}`)).toEqual([]);
    });

    test('a kernel channel needs its own protocol; a node or Lab WebSocket upgrade is for WebSockets', async () => {
      if (s().upgrade === 'hpclab-stream') {
        const a: Attempt = { target: live(), headers: { upgrade: 'websocket' } };
        const answer = await attempt(mode, 'websocket', a);
        expect([answer.status, answer.closed, answer.reached]).toEqual([400, true, []]);
      } else {
        // Not ours to judge: the upgrade is forwarded as the browser asked, to the right place only.
        const answer = await attempt(mode, 'hpclab-stream', { target: live() });
        expect(answer.reached.filter(name => name !== s().own().name)).toEqual([]);
      }
    });
  });
});

test('hpclab serve has no local Jupyter: paths outside /hpclab are 404 before any check, nothing reached', async () => {
  const s = sampleOf('local-jupyter');
  for (const a of [{ target: s.path(s.live) }, { target: s.path(s.live), auth: false }] as Attempt[]) {
    const answer = await attempt('serve', 'websocket', a);
    expect([a, answer.status, answer.closed, answer.reached]).toEqual([a, 404, true, []]);
  }
});

test('absolute-form and //host targets are 400 in both modes, before any routing', async () => {
  for (const mode of ['serve', 'lab'] as const) {
    for (const target of [
      `http://127.0.0.1:${up.forbidden.port}/`,
      `http://127.0.0.1:${up.forbidden.port}/hpclab/node/x/`,
      `//127.0.0.1:${up.forbidden.port}/api`
    ]) {
      const answer = await attempt(mode, 'websocket', { target });
      expect([mode, target, answer.status, answer.closed, answer.reached]).toEqual([mode, target, 400, true, []]);
    }
  }
});

test('paths under /hpclab that are no upgrade route are 404, token or not, nothing reached', async () => {
  for (const mode of ['serve', 'lab'] as const) {
    for (const target of [
      '/hpclab/events',
      '/hpclab/api/sessions',
      '/hpclab/',
      '/hpclab/kernels/kern01/channels',
      '/hpclab/nodes/abc123/'
    ]) {
      for (const auth of [true, false]) {
        const answer = await attempt(mode, 'websocket', { target, auth });
        expect([mode, target, auth, answer.status, answer.reached]).toEqual([mode, target, auth, 404, []]);
      }
    }
  }
});

test('CONNECT to the forbidden port is never tunnelled', async () => {
  for (const mode of ['serve', 'lab'] as const) {
    const target = `127.0.0.1:${up.forbidden.port}`;
    const answer = await attempt(mode, 'websocket', { method: 'CONNECT', target, headers: { host: target } });
    expect([mode, answer.status === 200, answer.closed, answer.reached]).toEqual([mode, false, true, []]);
  }
});

test('the forbidden listener never saw a connection, and the kernel and node stand-ins saw only live ids', () => {
  expect(up.forbidden.accepted).toBe(0);
  expect([...new Set(lookedUp)].sort()).toEqual(expect.arrayContaining([LIVE_SESSION]));
  expect(lookedUp.every(id => /^[a-z0-9]{6,32}$/.test(id))).toBe(true);
});
