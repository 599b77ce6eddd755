import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { createApp } from '../../server/app';
import { TOKEN, type Harness } from '../unit/api/harness';
import {
  ACCEPTS,
  acting,
  calls,
  concrete,
  expectNoService,
  expectRefusal,
  expectStillUp,
  send,
  startApiHarness,
  stopApiHarness
} from './fuzz-api-support';
import {
  canaryTouched,
  FUZZ_RUNS,
  FuzzTally,
  FUZZ_TEST_TIMEOUT_MS,
  fuzzParams,
  hostileString,
  numberishString,
  show
} from './fuzz-support';

/*
 * Hostile URLs against the whole API, in process (fuzz-api-support.ts): every route param of
 * every route the router lists, sent encoded and raw; the query values the API reads; a token
 * in the URL; and paths under /hpclab/node/, which the node proxy routes before the API.
 * Refused with a 4xx naming the param or key (401 for a token), or read exactly.
 */

jest.setTimeout(FUZZ_TEST_TIMEOUT_MS);
const tally = new FuzzTally('api routes', 'refused (4xx; a param or query error names its field)');

let h: Harness;
beforeAll(async () => {
  h = await startApiHarness();
});
afterAll(() => stopApiHarness(h, tally));

// ---- percent-encoding -------------------------------------------------------------------

/** Percent-encodes each UTF-8 byte of `s` except characters matching `keep`. */
function percentEncode(s: string, keep: RegExp): string {
  let out = '';
  for (const ch of s) {
    if (keep.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** As encodeURIComponent, which throws on lone surrogates. */
const encoded = (s: string) => percentEncode(s, /^[A-Za-z0-9\-_.!~*'()]$/);
/** As a careless client would send it: printable ASCII raw (`../`, `%2f`, `\`), the rest encoded; `?` and `#` encoded, they end the path. */
const raw = (s: string) => percentEncode(s, /^[\x21\x22\x24-\x3e\x40-\x7e]$/);
/** What a decoder sees for a string we encoded: lone surrogates went out as U+FFFD. */
const wellFormed = (s: string) =>
  s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');

function decodedOrUndefined(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

// ---- route params -----------------------------------------------------------------------

test('a hostile route param is 400 naming it (or 404 when it broke the path), never 5xx, never passed on', async () => {
  const withParams = h.api.routes.filter(r => r.path.includes('/:'));
  expect(withParams.length).toBeGreaterThanOrEqual(10);
  for (const r of withParams) {
    for (const param of [...r.path.matchAll(/:(\w+)/g)].map(m => m[1])) {
      const { accepts } = ACCEPTS[param];
      // Not '': an empty last segment is another route's path (`/api/sessions/` is the list).
      const values = fc
        .oneof(
          hostileString,
          numberishString,
          fc.constantFrom('..%2F..%2Fetc', '%E0%A4%A', '%', '%zz', '%00', '%2e%2e', '%C0%AE%C0%AE')
        )
        .filter(v => v !== '');
      await fc.assert(
        fc.asyncProperty(values, fc.constantFrom(encoded, raw), async (value, encode) => {
          const segment = encode(value);
          const target = `/hpclab${concrete(r.path.replace(`:${param}`, '\u0000'))}`.replace('\u0000', () => segment);
          const seen = encode === encoded ? wellFormed(value) : decodedOrUndefined(segment);
          const mark = calls.length;
          const reply = await send(h.port, r.method, target);
          const made = calls.slice(mark);
          const context = `${r.method} ${r.path} with :${param} = ${show(value)} sent as ${show(target)} → ${reply.status}`;
          if (reply.status >= 500) throw new Error(`5xx: ${context}\n${reply.text.slice(0, 300)}`);
          if (seen !== undefined && accepts(seen)) return void tally.record('route params', 'accepted');
          if (reply.status !== 431) {
            // Sent raw, the value may leave a path no route matches.
            if (reply.status === 404 && encode === raw) expectRefusal(reply, context);
            else {
              expect([context, reply.status]).toEqual([context, 400]);
              // A param that does not percent-decode is refused before any route sees it: the error names the url.
              expectRefusal(reply, context, [seen === undefined ? 'url' : param]);
            }
          }
          expectNoService(made, seen ?? value, context);
          tally.record('route params', 'refused');
        }),
        fuzzParams(FUZZ_RUNS / 2)
      );
    }
  }
});

// ---- query strings ----------------------------------------------------------------------

interface QueryCase {
  name: 'tail' | 'follow' | 'refresh' | 'since';
  value: string;
  repeated: boolean;
}

const QUERY_TARGETS = {
  tail: '/hpclab/api/sessions/abc123/log',
  follow: '/hpclab/api/sessions/abc123/log',
  refresh: '/hpclab/api/clusters/testbed/envs',
  since: '/hpclab/api/clusters/testbed/history'
} as const;

test('a hostile query value is 400 naming the key, or read exactly', async () => {
  const values = fc.oneof(
    hostileString,
    numberishString,
    fc.constantFrom('0', '1', 'true', 'false', '1048576', '1048577', '99999999', '00000000', 'TRUE', 'yes', '1,2'),
    fc.constantFrom(
      '7d',
      '0d',
      '12h',
      '2w',
      '1000000d',
      '2026-11-20',
      '2026-02-30',
      '2026-11-20T08:00',
      '2026-11-20T24:00'
    )
  );
  const cases = fc.record({
    name: fc.constantFrom('tail', 'follow', 'refresh', 'since'),
    value: values,
    repeated: fc.boolean()
  }) as fc.Arbitrary<QueryCase>;
  await fc.assert(
    fc.asyncProperty(
      // follow=1 streams until the session ends: the one valid value left out on purpose.
      cases.filter(c => !(c.name === 'follow' && ['1', 'true'].includes(c.value))),
      async ({ name, value, repeated }) => {
        const query = `${name}=${encoded(value)}`;
        const target = `${QUERY_TARGETS[name]}?${repeated ? `${name}=0&` : ''}${query}`;
        const seen = wellFormed(value);
        const mark = calls.length;
        const reply = await send(h.port, 'GET', target);
        const made = calls.slice(mark);
        const context = `GET ${show(target)} → ${reply.status}`;
        const valid = ACCEPTS[name].accepts(seen);
        if (reply.status === 200) {
          expect([context, valid && !repeated]).toEqual([context, true]);
          // The history is a read (READS), so it is looked for by name; the others act.
          const read = name === 'since' ? made.find(c => c.method === 'history')! : acting(made)[0];
          if (name === 'tail') expect([context, read.args[1]]).toEqual([context, { tailBytes: Number(seen) }]);
          if (name === 'refresh') expect([context, read.args[1]]).toEqual([context, seen === '1' || seen === 'true']);
          if (name === 'since') expect([context, read.args[1]]).toEqual([context, seen]);
          return void tally.record('queries', 'accepted');
        }
        if (reply.status !== 431) {
          expect([context, reply.status]).toEqual([context, 400]);
          expectRefusal(reply, context, [name]);
        }
        expectNoService(made, seen, context);
        tally.record('queries', 'refused');
      }
    ),
    fuzzParams()
  );
});

test('a hostile ?token= is 401; with the right token, the redirect stays on this site and drops it', async () => {
  const extra = fc
    .tuple(fc.oneof(hostileString, fc.constantFrom('token', 'TOKEN', 'x')), hostileString)
    .filter(([k]) => k.length < 2000);
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(hostileString, fc.constant(`${TOKEN}x`), fc.constant(TOKEN)),
      extra,
      fc.constantFrom(encoded, raw),
      async (token, [key, value], encode) => {
        const rest = `${encode(key).replace(/[&=]/g, encoded)}=${encode(value).replace(/[&=]/g, encoded)}`;
        const target = `/hpclab/api/sessions?token=${encode(token)}&${rest}`;
        const reply = await send(h.port, 'GET', target, { auth: false });
        const context = `GET ${show(target)} → ${reply.status} ${show(reply.headers.location)}`;
        if (reply.status === 431) return void tally.record('token in the URL', 'refused');
        if (reply.status === 302) {
          const location = String(reply.headers.location);
          const kept = [...new URLSearchParams(location.split('?')[1] ?? '').keys()];
          if (!/^\/hpclab\/api\/sessions(\?|$)/.test(location) || kept.includes('token'))
            throw new Error(`a redirect off the route or keeping the token: ${context}`);
          return void tally.record('token in the URL', 'accepted');
        }
        expect([context, reply.status]).toEqual([context, 401]);
        expectRefusal(reply, context);
        expect(reply.headers['set-cookie']).toBeUndefined();
        tally.record('token in the URL', 'refused');
      }
    ),
    fuzzParams(FUZZ_RUNS / 2)
  );
});

// ---- the node proxy's fast path ---------------------------------------------------------

describe('hostile paths under /hpclab/node/', () => {
  const NODE_TOKEN = 'fuzz-node-token-0123456789';
  let backend: http.Server;
  let server: http.Server;
  let port: number;
  const reached: string[] = [];
  const lookedUp: string[] = [];

  beforeAll(async () => {
    backend = http.createServer((req, res) => {
      reached.push(req.url ?? '');
      res.end('from the node');
    });
    backend.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
      reached.push(req.url ?? '');
      socket.end('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    });
    await new Promise<void>(r => backend.listen(0, '127.0.0.1', r));
    const backendPort = (backend.address() as AddressInfo).port;
    const target = {
      sessionId: 'sess01',
      token: 'node-secret',
      connect: () => Promise.resolve(net.connect(backendPort, '127.0.0.1'))
    };
    const proxyLookup = (id: string) => {
      lookedUp.push(id);
      return id === 'sess01' ? target : undefined;
    };
    const sessions = { proxyLookup, subscribe: () => () => undefined, list: () => [], get: () => undefined };
    const clusters = { config: { clusters: {}, profiles: {} }, names: () => [] };
    const app = createApp({ clusters, sessions, token: NODE_TOKEN } as unknown as Parameters<typeof createApp>[0]);
    server = http.createServer(app.handle);
    server.on('upgrade', app.onUpgrade);
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise(r => server.close(r));
    backend.closeAllConnections();
    await new Promise(r => backend.close(r));
  });

  /** A request line as a client that does not check anything would write it; the status code of the answer. */
  function rawRequest(method: string, target: string, upgrade: boolean): Promise<number> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let head = '';
      socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer to ${show(target)}`)));
      socket.on('data', d => {
        head += d.toString('latin1');
        const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
        if (m) {
          socket.destroy();
          resolve(Number(m[1]));
        }
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(0)); // closed without an answer: Node's parser gave up on it
      const extra = upgrade
        ? 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'
        : '';
      socket.end(
        Buffer.from(
          `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: token ${NODE_TOKEN}\r\n${extra}\r\n`,
          'latin1'
        )
      );
    });
  }

  /** A `.` or `..` segment as a server decoding the path once would see it (`%2e`, `%2f`, `\\` included). */
  const dotSegment = (path: string) =>
    path
      .replace(/%2e/gi, '.')
      .split(/\/|\\|%2f|%5c/i)
      .some(segment => segment === '.' || segment === '..');

  const idPart = fc.oneof(
    { arbitrary: hostileString.filter(s => s.length < 4000), weight: 4 },
    {
      arbitrary: fc.constantFrom(
        'sess01',
        'sess02',
        'SESS01',
        'sess01%2F..',
        'sess01%00',
        'sess0１',
        '.',
        '..',
        '%2e%2e',
        ''
      ),
      weight: 2
    },
    { arbitrary: fc.stringMatching(/^[a-z0-9]{6,32}$/), weight: 1 }
  );
  const rest = fc.oneof(
    fc.constantFrom(
      '',
      '/',
      '/lab',
      '/api/contents',
      '/../sess02/lab',
      '/..%2fsess02/lab',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/lab/..',
      '/./lab',
      '/lab\\..\\..\\x',
      '//evil.example/',
      '/lab?x=../..'
    ),
    hostileString.filter(s => s.length < 4000).map(s => `/${s}`)
  );

  test('never reach a node for an id that is not a live session, nor through a dot segment; never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        idPart,
        rest,
        fc.constantFrom(encoded, raw, (s: string) => s),
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'PROPFIND', 'HEAD'),
        fc.boolean(),
        async (id, tail, encode, method, upgrade) => {
          const target = `/hpclab/node/${encode(id)}${encode === encoded ? tail.split('/').map(encoded).join('/') : encode(tail)}`;
          const before = reached.length;
          const status = await rawRequest(method, target, upgrade && method === 'GET');
          const context = `${method} ${show(target)}${upgrade ? ' (upgrade)' : ''} → ${status}`;
          if (status >= 500) throw new Error(`5xx: ${context}`);
          const bad = lookedUp.filter(x => !/^[a-z0-9]{6,32}$/.test(x));
          if (bad.length > 0) throw new Error(`looked up ${show(bad)}: ${context}`);
          const got = reached.slice(before);
          const wrong = got.filter(url => !url.startsWith('/hpclab/node/sess01/') || dotSegment(url.split('?')[0]));
          if (wrong.length > 0) throw new Error(`the node got ${show(wrong)}: ${context}`);
          tally.record('node proxy', got.length > 0 ? 'accepted' : 'refused');
        }
      ),
      fuzzParams()
    );
    expect(canaryTouched()).toBe(false);
  });

  test('still proxies a normal request afterwards', async () => {
    const reply = await send(port, 'GET', '/hpclab/node/sess01/lab', { auth: `token ${NODE_TOKEN}` });
    expect([reply.status, reply.text]).toEqual([200, 'from the node']);
  });
});

// ---- after everything -------------------------------------------------------------------

test('after all of it: the API still answers, nothing was logged as a 500, no shell ran', () =>
  expectStillUp(h, tally));
