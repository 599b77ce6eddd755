import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { PromptBroker } from '../../server/api/prompt-broker';
import { createApp } from '../../server/app';
import { formatPath } from '../../server/config/load';
import { sessionInfo, startHarness, TOKEN, type Harness } from '../unit/api/harness';
import {
  canaryTouched,
  CONTRACTS as C,
  type Contract,
  FUZZ_RUNS,
  FuzzTally,
  FUZZ_TEST_TIMEOUT_MS,
  fuzzParams,
  hostileJson,
  hostileString,
  hugeString,
  numberishString,
  pathKeys,
  show,
  SLOW_CASE_MS,
  spliceJson,
  valueAt,
  wrongJsonType,
  type HostileJson
} from './fuzz-support';

/*
 * Hostile input against the whole API, in process: real HTTP on loopback, in-memory services
 * that record every call. Routes, their params and which of them read a JSON body are read
 * from the running router, as access.test.ts does, so a new route cannot be missed.
 *
 * Each case ends one of two ways: refused (4xx, the error names the field, no service acted
 * on anything) or accepted (the value is one the field may take, and the service got exactly
 * it). A 5xx, a crash, a hang or a hostile value in a service call fails the property.
 */

jest.setTimeout(FUZZ_TEST_TIMEOUT_MS);
const tally = new FuzzTally('api', 'refused (4xx; a body, param or query error names its field)');
const JSON_HEADERS = { 'Content-Type': 'application/json' };

let h: Harness;
const broker = new PromptBroker(undefined, 3_600_000);

// ---- what the services were asked ------------------------------------------------------

interface Call {
  service: string;
  method: string;
  args: unknown[];
  /** Refused by the service itself (a prompt answer with the wrong count): nothing was done. */
  threw?: boolean;
}
const calls: Call[] = [];
/** Lookups that change nothing; a refused request may still make them (with validated values). */
const READS = new Set(['sessions.get', 'sessions.list', 'clusters.names', 'kernelspecs.profiles', 'kernelspecs.list', 'prompts.subscribe', 'prompts.waiting']);
const acting = (made: Call[]) => made.filter(c => !c.threw && !READS.has(`${c.service}.${c.method}`));

/** Wraps the methods (all of the prototype's, or `only`) so each call is recorded. */
function recordCalls(service: string, target: object, only?: string[]): void {
  const t = target as Record<string, unknown>;
  for (const name of only ?? Object.getOwnPropertyNames(Object.getPrototypeOf(target))) {
    const fn = t[name];
    if (name === 'constructor' || typeof fn !== 'function') continue;
    t[name] = (...args: unknown[]) => {
      const call: Call = { service, method: name, args };
      calls.push(call);
      try {
        return (fn as (...a: unknown[]) => unknown).apply(target, args);
      } catch (err) {
        call.threw = true;
        throw err;
      }
    };
  }
}

function leaves(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) leaves(v, out);
  else if (typeof value === 'object' && value !== null)
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      leaves(v, out);
    }
  return out;
}

/** Whether any call's arguments hold `hostile` (or, for longer ones, contain it). */
function carried(made: Call[], hostile: unknown): boolean {
  if (typeof hostile !== 'string' || hostile === '') return false;
  return made.filter(c => !c.threw).some(c => leaves(c.args).some(l => l === hostile || (hostile.length >= 6 && l.includes(hostile))));
}

// ---- HTTP -------------------------------------------------------------------------------

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any;
}

/** Connections are kept between cases (a new one per request would double the run time). */
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

interface SendOptions {
  headers?: Record<string, string>;
  body?: string;
  auth?: string | false;
}

/** One request; a lease stream (ndjson) is cut as soon as its headers arrive. */
function send(port: number, method: string, target: string, options: SendOptions = {}): Promise<Reply> {
  return sendOnce(port, method, target, options).catch(err => {
    // A kept connection the server had just closed: the request never reached it, send it again (as Node's docs advise).
    if ((err as { reusedSocket?: boolean }).reusedSocket) return sendOnce(port, method, target, options);
    throw err;
  });
}

function sendOnce(port: number, method: string, target: string, options: SendOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const auth = options.auth === false ? {} : { Authorization: options.auth ?? `Bearer ${TOKEN}` };
    const headers = { Host: `127.0.0.1:${port}`, ...auth, ...options.headers };
    // A redirect may echo a long URL back: allow more header than Node's 16 KiB.
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers, agent, maxHeaderSize: 1 << 20 }, res => {
      if (String(res.headers['content-type']).includes('application/x-ndjson')) {
        res.destroy();
        return resolve({ status: res.statusCode ?? 0, headers: res.headers, text: '', json: undefined });
      }
      const chunks: Buffer[] = [];
      res.on('data', c => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${method} ${target.slice(0, 200)} within 10 s`)));
    req.on('error', err => reject(Object.assign(err, { reusedSocket: req.reusedSocket && (err as NodeJS.ErrnoException).code === 'ECONNRESET' })));
    req.end(options.body);
  });
}

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
const wellFormed = (s: string) => s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');

function decodedOrUndefined(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

// ---- shared checks ----------------------------------------------------------------------

/** 4xx in the API's error shape; `names` (field paths) must each be a field of the error and appear in its message. */
function expectRefusal(reply: Reply, context: string, names: string[] = []): void {
  if (reply.status < 400 || reply.status >= 500) throw new Error(`expected a 4xx, got ${reply.status}: ${context}\n${reply.text.slice(0, 500)}`);
  const error = reply.json?.error;
  if (typeof error?.code !== 'string' || typeof error?.message !== 'string') throw new Error(`4xx without {error: {code, message}}: ${context}\n${reply.text.slice(0, 500)}`);
  for (const name of names) {
    const fields: { path: string }[] = error.fields ?? [];
    const named = fields.some(f => f.path === name || f.path.startsWith(`${name}.`) || f.path.startsWith(`${name}[`));
    if (!named || !error.message.includes(name)) throw new Error(`the error does not name ${name}: ${context}\n${reply.text.slice(0, 500)}`);
  }
}

/** A refusal of the body as a whole (too large, wrong encoding): the message starts with `body`. */
function expectBodyNamed(reply: Reply, context: string): void {
  expectRefusal(reply, context);
  if (!reply.json.error.message.startsWith('body')) throw new Error(`the error does not name the body: ${context}\n${reply.text.slice(0, 500)}`);
}

function expectNoService(made: Call[], hostile: unknown, context: string): void {
  const acted = acting(made);
  if (acted.length > 0) throw new Error(`a refused request reached ${acted.map(c => `${c.service}.${c.method}`).join(', ')}: ${context}`);
  if (carried(made, hostile)) throw new Error(`a service call carried the hostile value: ${context}`);
}

const huge = (text: string) => Buffer.byteLength(text) > 64 * 1024;

// ---- what each route takes ----------------------------------------------------------------

/** Route params and query keys: a valid sample, and the most each may accept. */
const ACCEPTS: Record<string, { sample: string; accepts: Contract }> = {
  cluster: { sample: 'testbed', accepts: C.name },
  jobId: { sample: '1234', accepts: C.jobId },
  id: { sample: 'abc123', accepts: C.sessionId },
  name: { sample: 'hpclab-testbed-gpu', accepts: C.kernelName },
  prompt: { sample: '0123456789abcdef', accepts: C.promptId },
  tail: { sample: '100', accepts: v => typeof v === 'string' && /^\d{1,8}$/.test(v) && Number(v) <= 1024 * 1024 },
  follow: { sample: '0', accepts: v => v === '0' || v === 'false' },
  refresh: { sample: '0', accepts: v => ['0', '1', 'true', 'false'].includes(v as string) }
};

interface Field {
  /** `overrides.cpus`, `env.modules[0]`: where the value goes, and what the error must name. */
  path: string;
  accepts: Contract;
  /** Top-level keys to replace in the route's valid body first (another env shape). */
  within?: Record<string, unknown>;
}

interface BodyRoute {
  method: string;
  target(): string;
  body: Record<string, unknown>;
  fields: Field[];
  /** The request a service call carries, from its arguments. */
  requestOf(args: unknown[]): unknown;
  /** After an accepted case (a prompt, once answered, is gone). */
  accepted?(): void;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const OVERRIDES: Field[] = (['partition', 'time', 'mem', 'gres', 'account', 'qos', 'constraint', 'nodelist', 'cpus'] as const).map(k => ({ path: `overrides.${k}`, accepts: C[k] }));
const overridesAccept: Contract = v => isPlainObject(v) && OVERRIDES.every(f => !(f.path.slice(10) in v) || f.accepts(v[f.path.slice(10)])) && Object.keys(v).every(k => OVERRIDES.some(f => f.path === `overrides.${k}`));

const SESSION_FIELDS: Field[] = [
  { path: 'kind', accepts: v => v === 'lab' },
  { path: 'profile', accepts: C.name },
  { path: 'cluster', accepts: C.name },
  { path: 'idempotencyKey', accepts: C.idempotencyKey },
  { path: 'overrides', accepts: overridesAccept },
  ...OVERRIDES
];

const ENV_SHAPES = ['python', 'conda', 'venv', 'modules', 'container'];
const ENV_FIELDS: Field[] = [
  { path: 'env', accepts: v => isPlainObject(v) && ENV_SHAPES.some(k => k in v) },
  { path: 'env.venv', accepts: C.venv, within: { env: { venv: '/home/me/venv' } } },
  { path: 'env.python', accepts: C.python, within: { env: { python: '/usr/bin/python3' } } },
  { path: 'env.conda', accepts: C.conda, within: { env: { conda: 'base' } } },
  { path: 'env.modules', accepts: C.listOf(C.module, 1), within: { env: { modules: ['python/3.11'] } } },
  { path: 'env.modules[0]', accepts: C.module, within: { env: { modules: ['python/3.11'] } } },
  { path: 'env.setup[0]', accepts: C.setupLine, within: { env: { venv: '/v', setup: ['ok'] } } },
  { path: 'env.container.runtime', accepts: C.runtime, within: { env: { container: { runtime: 'apptainer', image: '/i.sif' } } } },
  { path: 'env.container.image', accepts: C.image, within: { env: { container: { runtime: 'apptainer', image: '/i.sif' } } } },
  { path: 'env.container.bind[0]', accepts: C.bind, within: { env: { container: { runtime: 'apptainer', image: '/i.sif', bind: ['/scratch'] } } } }
];

/** One login prompt kept waiting for the prompts route; a new one once it is answered. */
let waitingPrompt: { id: string; answered: Promise<string[]> } | undefined;
function promptId(): string {
  if (!waitingPrompt) {
    let id = '';
    const stop = broker.subscribe(e => {
      if (e.type === 'prompt') id = e.id;
    });
    const answered = broker.prompter({ cluster: 'testbed', kind: 'keyboard-interactive', name: 'login', instructions: '', prompts: [{ prompt: 'Code: ', echo: false }] });
    answered.catch(() => undefined);
    stop();
    waitingPrompt = { id, answered };
  }
  return waitingPrompt.id;
}

/** Keyed by `METHOD path` as the router lists them. */
function bodyRoutes(): Record<string, BodyRoute> {
  const session = (path: string): BodyRoute => ({ method: 'POST', target: () => `/hpclab${path}`, body: { kind: 'lab', profile: 'gpu' }, fields: SESSION_FIELDS, requestOf: args => args[0] });
  return {
    'POST /api/sessions': session('/api/sessions'),
    'POST /api/sessions/preview': session('/api/sessions/preview'),
    'POST /api/kernels': {
      method: 'POST',
      target: () => '/hpclab/api/kernels',
      body: { kernelId: 'k0123456789abcde', profile: 'gpu', key: 'a1b2c3d4-e5f6', signatureScheme: 'hmac-sha256' },
      fields: [
        { path: 'kernelId', accepts: C.sessionId },
        { path: 'profile', accepts: C.name },
        { path: 'cluster', accepts: C.name },
        { path: 'key', accepts: C.key },
        { path: 'signatureScheme', accepts: C.signatureScheme },
        ...ENV_FIELDS
      ],
      requestOf: args => args[0]
    },
    'POST /api/kernelspecs': {
      method: 'POST',
      target: () => '/hpclab/api/kernelspecs',
      body: { profile: 'gpu' },
      fields: [{ path: 'profile', accepts: C.name }, { path: 'cluster', accepts: C.name }, { path: 'name', accepts: C.kernelName }, { path: 'displayName', accepts: C.displayName }, ...ENV_FIELDS],
      requestOf: args => args[0]
    },
    'POST /api/prompts/:prompt': {
      method: 'POST',
      target: () => `/hpclab/api/prompts/${promptId()}`,
      body: { answers: ['123456'] },
      fields: [
        // The waiting prompt asks one question: one answer of up to 1024 characters, anything in it.
        { path: 'answers', accepts: C.listOf(text1024, 1, 1) },
        { path: 'answers[0]', accepts: text1024 }
      ],
      requestOf: args => ({ answers: args[1] }),
      accepted: () => (waitingPrompt = undefined)
    }
  };
}
const text1024: Contract = v => typeof v === 'string' && v.length <= 1024;

// ---- setup ------------------------------------------------------------------------------

beforeAll(async () => {
  h = await startHarness({ prompts: broker, logger: (_m, err) => h.logged.push(err) });
  h.sessions.sessions.set('abc123', sessionInfo('abc123'));
  recordCalls('sessions', h.sessions);
  recordCalls('clusters', h.clusters);
  recordCalls('kernels', h.kernels);
  recordCalls('kernelspecs', h.kernelspecs);
  recordCalls('prompts', broker, ['answer', 'cancel']);
  broker.subscribe(() => undefined); // someone is listening: prompts wait for an answer
});

afterAll(async () => {
  broker.close();
  agent.destroy();
  await h?.close();
  tally.print();
});

const BODY_PARSERS = new Set(['jsonParser']);

/** `METHOD path` of every route whose handlers include a JSON body parser, read from the router. */
function routesWithBody(): string[] {
  const found: string[] = [];
  for (const layer of h.api.router.stack) {
    const route = layer.route;
    if (!route || !route.stack.some(l => BODY_PARSERS.has(l.name))) continue;
    for (const l of route.stack) if (l.method) found.push(`${l.method.toUpperCase()} ${route.path}`);
  }
  return [...new Set(found)];
}

function concrete(path: string): string {
  return path.replace(/:(\w+)/g, (_m, name: string) => {
    if (!(name in ACCEPTS)) throw new Error(`fuzz-api.test.ts: add route param :${name} to ACCEPTS`);
    return ACCEPTS[name].sample;
  });
}

test('every route that reads a JSON body has fields to fuzz', () => {
  expect(routesWithBody().sort()).toEqual(Object.keys(bodyRoutes()).sort());
});

// ---- bodies -----------------------------------------------------------------------------

async function fieldCase(route: BodyRoute, field: Field, hostile: HostileJson): Promise<void> {
  const base = field.within ? { ...route.body, ...field.within } : route.body;
  const body = spliceJson(base, pathKeys(field.path), hostile);
  const target = route.target();
  const mark = calls.length;
  const started = Date.now();
  const reply = await send(h.port, route.method, target, { headers: JSON_HEADERS, body });
  const took = Date.now() - started;
  const made = calls.slice(mark);
  const context = `${route.method} ${target} ${field.path} = ${show(hostile.json)} → ${reply.status}`;
  if (took > SLOW_CASE_MS && body.length < 10_000) throw new Error(`took ${took} ms (backtracking in a pattern?): ${context}`);
  if (reply.status >= 200 && reply.status < 300) {
    if (!field.accepts(hostile.value)) throw new Error(`accepted a value ${field.path} must refuse: ${context}`);
    const acted = acting(made);
    if (acted.length !== 1) throw new Error(`accepted, but ${acted.length} service calls: ${context}`);
    expect([context, valueAt(route.requestOf(acted[0].args), field.path)]).toEqual([context, hostile.value]);
    route.accepted?.();
    tally.record('body fields', 'accepted');
    return;
  }
  if (reply.status === 413 && huge(body)) expectBodyNamed(reply, context);
  else {
    expect([context, reply.status]).toEqual([context, 400]);
    expectRefusal(reply, context, [field.path]);
  }
  expectNoService(made, hostile.value, context);
  tally.record('body fields', 'refused');
}

describe('a hostile value in each field of each body', () => {
  test.each(Object.keys(bodyRoutes()))('%s', async key => {
    const route = bodyRoutes()[key];
    // Every field gets its share of the runs.
    for (const field of route.fields) {
      await fc.assert(fc.asyncProperty(hostileJson, hostile => fieldCase(route, field, hostile)), fuzzParams(Math.max(20, (FUZZ_RUNS * 3) / route.fields.length)));
    }
  });
});

interface WholeBody {
  what: string;
  body: string;
  headers: Record<string, string>;
  /** An unknown key the error must name. */
  extraKey?: string;
}

function wholeBodies(valid: Record<string, unknown>): fc.Arbitrary<WholeBody> {
  const validText = JSON.stringify(valid);
  const keys = new Set(Object.keys(valid));
  return fc.oneof(
    wrongJsonType.map(v => ({ what: 'wrong type', body: JSON.stringify(v), headers: JSON_HEADERS })),
    fc.constantFrom('null', 'true', '1e309', '"lab"', '[]', '[{}]', '{', '{"kind":', '\u0000', '{"a":1,}', "{'kind':'lab'}", validText.slice(0, -1), `${validText}x`, '{"__proto__":{"x":1}}').map(body => ({ what: 'not a JSON object', body, headers: JSON_HEADERS })),
    hostileString.map(body => ({ what: 'not JSON', body, headers: JSON_HEADERS })),
    fc.tuple(fc.oneof(hostileString, fc.constantFrom('__proto__', 'constructor', 'toString', 'KIND', 'profile ', '')), hostileJson)
      .filter(([k]) => !keys.has(k))
      .map(([k, v]) => ({ what: 'an extra key', body: `${validText.slice(0, -1)},${JSON.stringify(k)}:${v.json}}`, headers: JSON_HEADERS, extraKey: k })),
    hugeString.map(s => ({ what: 'huge', body: JSON.stringify({ ...valid, padding: s }), headers: JSON_HEADERS })),
    fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', 'text/json', 'application/json; charset=latin1', 'application/json; charset=utf-99', 'application/json; charset=ucs-2').map(type => ({ what: `Content-Type ${type}`, body: validText, headers: { 'Content-Type': type } })),
    fc.constantFrom('gzip', 'deflate', 'br', 'compress', 'x-evil', 'gzip, gzip').map(enc => ({ what: `Content-Encoding ${enc}`, body: validText, headers: { ...JSON_HEADERS, 'Content-Encoding': enc } }))
  );
}

describe('a hostile whole body', () => {
  test.each(Object.keys(bodyRoutes()))('%s', async key => {
    const route = bodyRoutes()[key];
    await fc.assert(
      fc.asyncProperty(wholeBodies(route.body), async c => {
        const target = route.target();
        const mark = calls.length;
        const reply = await send(h.port, route.method, target, { headers: c.headers, body: c.body });
        const made = calls.slice(mark);
        const context = `${key} with ${c.what}: ${show(c.body)} → ${reply.status}`;
        expectRefusal(reply, context);
        const error = reply.json.error;
        if (c.extraKey !== undefined && !huge(c.body)) expectRefusal(reply, context, [formatPath([c.extraKey])]);
        else if (reply.status === 400 && !(error.fields ?? []).every((f: { path: string }) => error.message.includes(f.path))) throw new Error(`fields missing from the message: ${context}`);
        else if (reply.status !== 400) expectBodyNamed(reply, context);
        expectNoService(made, undefined, context);
        tally.record('whole bodies', 'refused');
      }),
      fuzzParams()
    );
  });
});

test('Idempotency-Key: a hostile header is 400 naming it, or the key exactly as sent', async () => {
  const headerSafe = (s: string) => /^[\t\x20-\x7e\x80-\xff]*$/.test(s);
  await fc.assert(
    fc.asyncProperty(fc.oneof(hostileString, numberishString).filter(headerSafe), async value => {
      const mark = calls.length;
      const reply = await send(h.port, 'POST', '/hpclab/api/sessions', { headers: { ...JSON_HEADERS, 'Idempotency-Key': value }, body: '{"kind":"lab","profile":"gpu"}' });
      const made = calls.slice(mark);
      const arrived = value.replace(/^[ \t]+|[ \t]+$/g, ''); // HTTP drops the whitespace around a header value
      const context = `Idempotency-Key ${show(value)} → ${reply.status}`;
      if (reply.status === 201) {
        expect([context, /^[\x21-\x7e]{1,200}$/.test(arrived)]).toEqual([context, true]);
        expect([context, (acting(made)[0].args[0] as { idempotencyKey?: string }).idempotencyKey]).toEqual([context, arrived]);
        tally.record('headers', 'accepted');
      } else if (reply.status === 431) {
        tally.record('headers', 'refused'); // Node's own limit on header size
      } else {
        expectRefusal(reply, context, ['Idempotency-Key']);
        expectNoService(made, arrived, context);
        tally.record('headers', 'refused');
      }
    }),
    fuzzParams()
  );
});

test('a write route without a body ignores a hostile one: services see only the route params', async () => {
  const bodyless = h.api.routes.filter(r => r.method !== 'GET' && !routesWithBody().includes(`${r.method} ${r.path}`));
  expect(bodyless.length).toBeGreaterThanOrEqual(6);
  const allowed = new Set([...Object.values(ACCEPTS).map(a => a.sample), 'cancel', 'hold', 'release']);
  for (const r of bodyless) {
    const target = `/hpclab${concrete(r.path)}`;
    await fc.assert(
      fc.asyncProperty(wholeBodies({ kind: 'lab', profile: 'gpu' }), async c => {
        const mark = calls.length;
        const reply = await send(h.port, r.method, target, { headers: c.headers, body: c.body });
        const context = `${r.method} ${target} with ${c.what}: ${show(c.body)} → ${reply.status}`;
        if (reply.status >= 500) throw new Error(`5xx: ${context}\n${reply.text.slice(0, 300)}`);
        const stray = leaves(acting(calls.slice(mark)).map(call => call.args)).filter(l => !allowed.has(l));
        if (stray.length > 0) throw new Error(`a service got ${show(stray)} from the body: ${context}`);
        tally.record('bodyless writes', reply.status < 400 ? 'accepted' : 'refused');
      }),
      fuzzParams(FUZZ_RUNS / 3)
    );
  }
});

// ---- route params -----------------------------------------------------------------------

test('a hostile route param is 400 naming it (or 404 when it broke the path), never 5xx, never passed on', async () => {
  const withParams = h.api.routes.filter(r => r.path.includes('/:'));
  expect(withParams.length).toBeGreaterThanOrEqual(10);
  for (const r of withParams) {
    for (const param of [...r.path.matchAll(/:(\w+)/g)].map(m => m[1])) {
      const { accepts } = ACCEPTS[param];
      // Not '': an empty last segment is another route's path (`/api/sessions/` is the list).
      const values = fc.oneof(hostileString, numberishString, fc.constantFrom('..%2F..%2Fetc', '%E0%A4%A', '%', '%zz', '%00', '%2e%2e', '%C0%AE%C0%AE')).filter(v => v !== '');
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
  name: 'tail' | 'follow' | 'refresh';
  value: string;
  repeated: boolean;
}

const QUERY_TARGETS = { tail: '/hpclab/api/sessions/abc123/log', follow: '/hpclab/api/sessions/abc123/log', refresh: '/hpclab/api/clusters/testbed/envs' } as const;

test('a hostile query value is 400 naming the key, or read exactly', async () => {
  const values = fc.oneof(hostileString, numberishString, fc.constantFrom('0', '1', 'true', 'false', '1048576', '1048577', '99999999', '00000000', 'TRUE', 'yes', '1,2'));
  const cases = fc.record({ name: fc.constantFrom('tail', 'follow', 'refresh'), value: values, repeated: fc.boolean() }) as fc.Arbitrary<QueryCase>;
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
          const read = acting(made)[0];
          if (name === 'tail') expect([context, read.args[1]]).toEqual([context, { tailBytes: Number(seen) }]);
          if (name === 'refresh') expect([context, read.args[1]]).toEqual([context, seen === '1' || seen === 'true']);
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
  const extra = fc.tuple(fc.oneof(hostileString, fc.constantFrom('token', 'TOKEN', 'x')), hostileString).filter(([k]) => k.length < 2000);
  await fc.assert(
    fc.asyncProperty(fc.oneof(hostileString, fc.constant(`${TOKEN}x`), fc.constant(TOKEN)), extra, fc.constantFrom(encoded, raw), async (token, [key, value], encode) => {
      const rest = `${encode(key).replace(/[&=]/g, encoded)}=${encode(value).replace(/[&=]/g, encoded)}`;
      const target = `/hpclab/api/sessions?token=${encode(token)}&${rest}`;
      const reply = await send(h.port, 'GET', target, { auth: false });
      const context = `GET ${show(target)} → ${reply.status} ${show(reply.headers.location)}`;
      if (reply.status === 431) return void tally.record('token in the URL', 'refused');
      if (reply.status === 302) {
        const location = String(reply.headers.location);
        const kept = [...new URLSearchParams(location.split('?')[1] ?? '').keys()];
        if (!/^\/hpclab\/api\/sessions(\?|$)/.test(location) || kept.includes('token')) throw new Error(`a redirect off the route or keeping the token: ${context}`);
        return void tally.record('token in the URL', 'accepted');
      }
      expect([context, reply.status]).toEqual([context, 401]);
      expectRefusal(reply, context);
      expect(reply.headers['set-cookie']).toBeUndefined();
      tally.record('token in the URL', 'refused');
    }),
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
    const target = { sessionId: 'sess01', token: 'node-secret', connect: () => Promise.resolve(net.connect(backendPort, '127.0.0.1')) };
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
      const extra = upgrade ? 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' : '';
      socket.end(Buffer.from(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: token ${NODE_TOKEN}\r\n${extra}\r\n`, 'latin1'));
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
    { arbitrary: fc.constantFrom('sess01', 'sess02', 'SESS01', 'sess01%2F..', 'sess01%00', 'sess0１', '.', '..', '%2e%2e', ''), weight: 2 },
    { arbitrary: fc.stringMatching(/^[a-z0-9]{6,32}$/), weight: 1 }
  );
  const rest = fc.oneof(
    fc.constantFrom('', '/', '/lab', '/api/contents', '/../sess02/lab', '/..%2fsess02/lab', '/%2e%2e/%2e%2e/etc/passwd', '/lab/..', '/./lab', '/lab\\..\\..\\x', '//evil.example/', '/lab?x=../..'),
    hostileString.filter(s => s.length < 4000).map(s => `/${s}`)
  );

  test('never reach a node for an id that is not a live session, nor through a dot segment; never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(idPart, rest, fc.constantFrom(encoded, raw, (s: string) => s), fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'PROPFIND', 'HEAD'), fc.boolean(), async (id, tail, encode, method, upgrade) => {
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
      }),
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

// An unhandled rejection fails the test it happens in (Jest reports it), so none went by.
test('after all of it: the API still answers, nothing was logged as a 500, no shell ran', async () => {
  const reply = await send(h.port, 'GET', '/hpclab/api/sessions');
  expect(reply.status).toBe(200);
  expect(h.logged).toEqual([]);
  expect(canaryTouched()).toBe(false);
  expect(tally.totals().cases).toBeGreaterThan(0);
});
