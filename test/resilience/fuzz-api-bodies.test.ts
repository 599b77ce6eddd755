import fc from 'fast-check';
import { formatPath } from '../../server/config/load';
import type { Harness } from '../unit/api/harness';
import {
  ACCEPTS,
  acting,
  broker,
  calls,
  concrete,
  expectBodyNamed,
  expectNoService,
  expectRefusal,
  expectStillUp,
  JSON_HEADERS,
  leaves,
  routesWithBody,
  send,
  startApiHarness,
  stopApiHarness
} from './fuzz-api-support';
import {
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
 * Hostile request bodies and headers against the whole API, in process (fuzz-api-support.ts):
 * a hostile value in each field of each body the router parses as JSON, whole bodies that are
 * not what the route takes, a hostile Idempotency-Key, and bodies sent to write routes that
 * read none. Refused with a 4xx naming the field, or accepted and passed on exactly.
 */

jest.setTimeout(FUZZ_TEST_TIMEOUT_MS);
const tally = new FuzzTally('api bodies', 'refused (4xx; a body or header error names its field)');

let h: Harness;
beforeAll(async () => {
  h = await startApiHarness();
});
afterAll(() => stopApiHarness(h, tally));

const huge = (text: string) => Buffer.byteLength(text) > 64 * 1024;

// ---- what each body takes ---------------------------------------------------------------

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

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const OVERRIDES: Field[] = [
  ...(['partition', 'time', 'mem', 'gres', 'account', 'qos', 'constraint', 'nodelist', 'cpus'] as const).map(k => ({
    path: `overrides.${k}`,
    accepts: C[k]
  })),
  { path: 'overrides.mailType', accepts: C.mailType },
  { path: 'overrides.mailUser', accepts: C.mailUser },
  { path: 'overrides.sbatch', accepts: C.sbatchMap }
];
const overridesAccept: Contract = v =>
  isPlainObject(v) &&
  OVERRIDES.every(f => !(f.path.slice(10) in v) || f.accepts(v[f.path.slice(10)])) &&
  Object.keys(v).every(k => OVERRIDES.some(f => f.path === `overrides.${k}`));

const SESSION_FIELDS: Field[] = [
  { path: 'kind', accepts: v => v === 'lab' || v === 'alloc' },
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
  {
    path: 'env.container.runtime',
    accepts: C.runtime,
    within: { env: { container: { runtime: 'apptainer', image: '/i.sif' } } }
  },
  {
    path: 'env.container.image',
    accepts: C.image,
    within: { env: { container: { runtime: 'apptainer', image: '/i.sif' } } }
  },
  {
    path: 'env.container.bind[0]',
    accepts: C.bind,
    within: { env: { container: { runtime: 'apptainer', image: '/i.sif', bind: ['/scratch'] } } }
  }
];

const text10000: Contract = v => typeof v === 'string' && v.length <= 10_000;
const RUN_FIELDS: Field[] = [
  { path: 'profile', accepts: C.name },
  { path: 'cluster', accepts: C.name },
  { path: 'fileName', accepts: C.fileName },
  { path: 'content', accepts: v => typeof v === 'string' },
  { path: 'name', accepts: C.oneLine(200) },
  { path: 'mail', accepts: C.oneLine(200) },
  { path: 'mailUser', accepts: C.oneLine(200) },
  { path: 'array', accepts: C.oneLine(200) },
  { path: 'sbatch', accepts: C.listOf(C.oneLine(1000), 0, 64) },
  { path: 'sbatch[0]', accepts: C.oneLine(1000), within: { sbatch: ['time=00:05:00'] } },
  { path: 'params', accepts: C.listOf(C.paramWord, 0, 32) },
  { path: 'params[0]', accepts: C.paramWord, within: { params: ['lr=0.1,0.01'] } },
  { path: 'args', accepts: C.listOf(text10000, 0, 256) },
  { path: 'args[0]', accepts: text10000, within: { args: ['--epochs'] } }
];

/** One login prompt kept waiting for the prompts route; a new one once it is answered. */
let waitingPrompt: { id: string; answered: Promise<string[]> } | undefined;
function promptId(): string {
  if (!waitingPrompt) {
    let id = '';
    const stop = broker.subscribe(e => {
      if (e.type === 'prompt') id = e.id;
    });
    const answered = broker.prompter({
      cluster: 'testbed',
      kind: 'keyboard-interactive',
      name: 'login',
      instructions: '',
      prompts: [{ prompt: 'Code: ', echo: false }]
    });
    answered.catch(() => undefined);
    stop();
    waitingPrompt = { id, answered };
  }
  return waitingPrompt.id;
}

/** Keyed by `METHOD path` as the router lists them. */
function bodyRoutes(): Record<string, BodyRoute> {
  const session = (path: string): BodyRoute => ({
    method: 'POST',
    target: () => `/hpclab${path}`,
    body: { kind: 'lab', profile: 'gpu' },
    fields: SESSION_FIELDS,
    requestOf: args => args[0]
  });
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
      fields: [
        { path: 'profile', accepts: C.name },
        { path: 'cluster', accepts: C.name },
        { path: 'name', accepts: C.kernelName },
        { path: 'displayName', accepts: C.displayName },
        ...ENV_FIELDS
      ],
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
    },
    // Setup: the host is an ~/.ssh/config alias handed to hpclab's own SSH client (never a
    // command line); profiles are checked field by field by the setup service, as config.json is.
    'POST /api/setup/discover': {
      method: 'POST',
      target: () => '/hpclab/api/setup/discover',
      body: { host: 'login1', cluster: 'mycluster' },
      fields: [
        { path: 'host', accepts: C.host },
        { path: 'cluster', accepts: C.name }
      ],
      requestOf: args => ({ host: args[0], cluster: args[1] })
    },
    'POST /api/setup/save': {
      method: 'POST',
      target: () => '/hpclab/api/setup/save',
      body: { host: 'login1', cluster: 'mycluster', profiles: { cpu: { cluster: 'mycluster' } } },
      fields: [
        { path: 'host', accepts: C.host },
        { path: 'cluster', accepts: C.name },
        {
          path: 'profiles',
          accepts: v => isPlainObject(v) && Object.entries(v).every(([k, p]) => C.name(k) && profileAccept(p))
        },
        { path: 'profiles.cpu', accepts: profileAccept }
      ],
      requestOf: args => ({ host: args[0], cluster: args[1], profiles: args[2] })
    },
    // A run's words reach the job only inside its manifest (JSON) or as quoted sbatch words.
    'POST /api/runs/preview': {
      method: 'POST',
      target: () => '/hpclab/api/runs/preview',
      body: { profile: 'cpu', fileName: 'train.py', content: 'print(1)\n' },
      fields: RUN_FIELDS,
      requestOf: args => args[0]
    },
    'POST /api/runs': {
      method: 'POST',
      target: () => '/hpclab/api/runs',
      body: { profile: 'cpu', fileName: 'train.py', content: 'print(1)\n' },
      fields: RUN_FIELDS,
      requestOf: args => (args[0] as { request: unknown }).request
    },
    // An env's words reach the cluster only as positional parameters (envs/env-scripts.ts), after
    // the planner's own checks; here the API's part: each field's type and length.
    'POST /api/envs': {
      method: 'POST',
      target: () => '/hpclab/api/envs',
      body: { name: 'analysis' },
      fields: [
        { path: 'name', accepts: v => typeof v === 'string' && v.length <= 200 },
        { path: 'cluster', accepts: C.name },
        { path: 'profile', accepts: C.name },
        { path: 'python', accepts: envWord },
        { path: 'module', accepts: envWord },
        { path: 'path', accepts: envWord },
        { path: 'requirements', accepts: v => typeof v === 'string' && v.length <= 256 * 1024 },
        { path: 'conda', accepts: v => typeof v === 'boolean' },
        { path: 'systemSitePackages', accepts: v => typeof v === 'boolean' }
      ],
      requestOf: args => (args[0] as { request: unknown }).request
    },
    'POST /api/sessions/:id/extend': {
      method: 'POST',
      target: () => '/hpclab/api/sessions/abc123/extend',
      body: { minutes: 30 },
      fields: [{ path: 'minutes', accepts: v => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 10080 }],
      requestOf: args => ({ minutes: args[1] })
    },
    'POST /api/sessions/:id/workspace/restore': {
      method: 'POST',
      target: () => '/hpclab/api/sessions/abc123/workspace/restore',
      body: { name: 'workspace-20261206T080000Z.tar.zst' },
      fields: [
        {
          path: 'name',
          accepts: v =>
            v === 'newest' || (typeof v === 'string' && /^workspace-\d{8}T\d{6}Z\.tar(?:\.zst|\.lz4)?$/.test(v))
        }
      ],
      // "newest" reaches the service as no name.
      requestOf: args => ({ name: args[1] ?? 'newest' })
    },
    'PUT /api/profiles/:profile': {
      method: 'PUT',
      target: () => '/hpclab/api/profiles/gpu',
      body: { profile: { cluster: 'mycluster', partition: 'debug' } },
      fields: [{ path: 'profile', accepts: profileAccept }],
      requestOf: args => ({ profile: args[1] })
    }
  };
}
/** The API checks a profile's keys only (the setup service checks the fields): camelCase words, so no `__proto__`. */
const profileAccept: Contract = v =>
  isPlainObject(v) && Object.keys(v).every(k => /^[A-Za-z][A-Za-z0-9]{0,63}$/.test(k));
const text1024: Contract = v => typeof v === 'string' && v.length <= 1024;
/** The env route's words: 1 to 4096 characters on one line. */
const envWord: Contract = v => typeof v === 'string' && /^[^\x00-\x1f\x7f]{1,4096}$/.test(v);

test('every route that reads a JSON body has fields to fuzz', () => {
  expect(routesWithBody(h).sort()).toEqual(Object.keys(bodyRoutes()).sort());
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
  if (took > SLOW_CASE_MS && body.length < 10_000)
    throw new Error(`took ${took} ms (backtracking in a pattern?): ${context}`);
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
      await fc.assert(
        fc.asyncProperty(hostileJson, hostile => fieldCase(route, field, hostile)),
        fuzzParams(Math.max(20, (FUZZ_RUNS * 3) / route.fields.length))
      );
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
    fc
      .constantFrom(
        'null',
        'true',
        '1e309',
        '"lab"',
        '[]',
        '[{}]',
        '{',
        '{"kind":',
        '\u0000',
        '{"a":1,}',
        "{'kind':'lab'}",
        validText.slice(0, -1),
        `${validText}x`,
        '{"__proto__":{"x":1}}'
      )
      .map(body => ({ what: 'not a JSON object', body, headers: JSON_HEADERS })),
    hostileString.map(body => ({ what: 'not JSON', body, headers: JSON_HEADERS })),
    fc
      .tuple(
        fc.oneof(hostileString, fc.constantFrom('__proto__', 'constructor', 'toString', 'KIND', 'profile ', '')),
        hostileJson
      )
      .filter(([k]) => !keys.has(k))
      .map(([k, v]) => ({
        what: 'an extra key',
        body: `${validText.slice(0, -1)},${JSON.stringify(k)}:${v.json}}`,
        headers: JSON_HEADERS,
        extraKey: k
      })),
    hugeString.map(s => ({ what: 'huge', body: JSON.stringify({ ...valid, padding: s }), headers: JSON_HEADERS })),
    fc
      .constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/jsonx',
        'text/json',
        'application/json; charset=latin1',
        'application/json; charset=utf-99',
        'application/json; charset=ucs-2'
      )
      .map(type => ({ what: `Content-Type ${type}`, body: validText, headers: { 'Content-Type': type } })),
    fc.constantFrom('gzip', 'deflate', 'br', 'compress', 'x-evil', 'gzip, gzip').map(enc => ({
      what: `Content-Encoding ${enc}`,
      body: validText,
      headers: { ...JSON_HEADERS, 'Content-Encoding': enc }
    }))
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
        else if (
          reply.status === 400 &&
          !(error.fields ?? []).every((f: { path: string }) => error.message.includes(f.path))
        )
          throw new Error(`fields missing from the message: ${context}`);
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
      const reply = await send(h.port, 'POST', '/hpclab/api/sessions', {
        headers: { ...JSON_HEADERS, 'Idempotency-Key': value },
        body: '{"kind":"lab","profile":"gpu"}'
      });
      const made = calls.slice(mark);
      const arrived = value.replace(/^[ \t]+|[ \t]+$/g, ''); // HTTP drops the whitespace around a header value
      const context = `Idempotency-Key ${show(value)} → ${reply.status}`;
      if (reply.status === 201) {
        expect([context, /^[\x21-\x7e]{1,200}$/.test(arrived)]).toEqual([context, true]);
        expect([context, (acting(made)[0].args[0] as { idempotencyKey?: string }).idempotencyKey]).toEqual([
          context,
          arrived
        ]);
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
  const bodyless = h.api.routes.filter(r => r.method !== 'GET' && !routesWithBody(h).includes(`${r.method} ${r.path}`));
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

// ---- after everything -------------------------------------------------------------------

test('after all of it: the API still answers, nothing was logged as a 500, no shell ran', () =>
  expectStillUp(h, tally));
