import type { CreateEnvRequest, EnvPlan } from '../../server/envs/env-input';
import type { CreatedEnv } from '../../server/envs/env-creator';
import type { EnvApi } from '../../server/api/services';
import * as http from 'node:http';
import { PromptBroker } from '../../server/api/prompt-broker';
import { readReply, sessionInfo, startHarness, TOKEN, type Harness, type Reply } from '../unit/api/harness';
import { canaryTouched, CONTRACTS as C, type Contract, FuzzTally } from './fuzz-support';

/*
 * What the API fuzz files share: the API in process (real HTTP on loopback, in-memory services
 * that record every call), the requests they send, the checks on a refusal, and what each route
 * param and query may take. Routes, their params and which of them read a JSON body are read
 * from the running router, as access.test.ts does, so a new route cannot be missed.
 *
 * Each case ends one of two ways: refused (4xx, the error names the field, no service acted
 * on anything) or accepted (the value is one the field may take, and the service got exactly
 * it). A 5xx, a crash, a hang or a hostile value in a service call fails the property.
 */

export const JSON_HEADERS = { 'Content-Type': 'application/json' };

/** Login prompts; the bodies file keeps one waiting for the prompts route. */
export const broker = new PromptBroker(undefined, 3_600_000);

// ---- what the services were asked ------------------------------------------------------

export interface Call {
  service: string;
  method: string;
  args: unknown[];
  /** Refused by the service itself (a prompt answer with the wrong count): nothing was done. */
  threw?: boolean;
}
export const calls: Call[] = [];
/** Lookups that change nothing; a refused request may still make them (with validated values). */
const READS = new Set([
  'sessions.get',
  'sessions.list',
  'clusters.names',
  'kernelspecs.profiles',
  'kernelspecs.list',
  'prompts.subscribe',
  'prompts.waiting',
  'setup.info',
  'setup.profileConfig',
  // Planning a run stages nothing; POST /api/runs plans, then submits (the act).
  'runs.plan',
  // Planning an env checks it (here: passes it on); POST /api/envs then creates (the act).
  'envs.plan',
  'runs.list',
  'runs.outputs',
  'runs.output',
  'clusters.history'
]);
export const acting = (made: Call[]) => made.filter(c => !c.threw && !READS.has(`${c.service}.${c.method}`));

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

export function leaves(value: unknown, out: string[] = []): string[] {
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
  return made
    .filter(c => !c.threw)
    .some(c => leaves(c.args).some(l => l === hostile || (hostile.length >= 6 && l.includes(hostile))));
}

// ---- HTTP -------------------------------------------------------------------------------

export type { Reply };

/** Connections are kept between cases (a new one per request would double the run time). */
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

export interface SendOptions {
  headers?: Record<string, string>;
  body?: string;
  auth?: string | false;
}

/** One request; a lease stream (ndjson) is cut as soon as its headers arrive. */
export function send(port: number, method: string, target: string, options: SendOptions = {}): Promise<Reply> {
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
    const req = http.request(
      { host: '127.0.0.1', port, method, path: target, headers, agent, maxHeaderSize: 1 << 20 },
      res => {
        if (String(res.headers['content-type']).includes('application/x-ndjson')) {
          res.destroy();
          return resolve({ status: res.statusCode ?? 0, headers: res.headers, text: '', json: undefined });
        }
        readReply(res, resolve, reject);
      }
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${method} ${target.slice(0, 200)} within 10 s`)));
    req.on('error', err =>
      reject(
        Object.assign(err, { reusedSocket: req.reusedSocket && (err as NodeJS.ErrnoException).code === 'ECONNRESET' })
      )
    );
    req.end(options.body);
  });
}

// ---- shared checks ----------------------------------------------------------------------

/** 4xx in the API's error shape; `names` (field paths) must each be a field of the error and appear in its message. */
export function expectRefusal(reply: Reply, context: string, names: string[] = []): void {
  if (reply.status < 400 || reply.status >= 500)
    throw new Error(`expected a 4xx, got ${reply.status}: ${context}\n${reply.text.slice(0, 500)}`);
  const error = reply.json?.error;
  if (typeof error?.code !== 'string' || typeof error?.message !== 'string')
    throw new Error(`4xx without {error: {code, message}}: ${context}\n${reply.text.slice(0, 500)}`);
  for (const name of names) {
    const fields: { path: string }[] = error.fields ?? [];
    const named = fields.some(f => f.path === name || f.path.startsWith(`${name}.`) || f.path.startsWith(`${name}[`));
    if (!named || !error.message.includes(name))
      throw new Error(`the error does not name ${name}: ${context}\n${reply.text.slice(0, 500)}`);
  }
}

/** A refusal of the body as a whole (too large, wrong encoding): the message starts with `body`. */
export function expectBodyNamed(reply: Reply, context: string): void {
  expectRefusal(reply, context);
  if (!reply.json.error.message.startsWith('body'))
    throw new Error(`the error does not name the body: ${context}\n${reply.text.slice(0, 500)}`);
}

export function expectNoService(made: Call[], hostile: unknown, context: string): void {
  const acted = acting(made);
  if (acted.length > 0)
    throw new Error(`a refused request reached ${acted.map(c => `${c.service}.${c.method}`).join(', ')}: ${context}`);
  if (carried(made, hostile)) throw new Error(`a service call carried the hostile value: ${context}`);
}

// ---- what each route takes ----------------------------------------------------------------

/** Route params and query keys: a valid sample, and the most each may accept. */
export const ACCEPTS: Record<string, { sample: string; accepts: Contract }> = {
  cluster: { sample: 'testbed', accepts: C.name },
  jobId: { sample: '1234', accepts: C.jobId },
  id: { sample: 'abc123', accepts: C.sessionId },
  name: { sample: 'hpclab-testbed-gpu', accepts: C.kernelName },
  prompt: { sample: '0123456789abcdef', accepts: C.promptId },
  profile: { sample: 'gpu', accepts: C.name },
  run: { sample: 'sweep-20261205-120000-ab12', accepts: C.runId },
  tail: { sample: '100', accepts: v => typeof v === 'string' && /^\d{1,8}$/.test(v) && Number(v) <= 1024 * 1024 },
  follow: { sample: '0', accepts: v => v === '0' || v === 'false' },
  refresh: { sample: '0', accepts: v => ['0', '1', 'true', 'false'].includes(v as string) },
  since: { sample: '7d', accepts: C.since }
};

// ---- the router -------------------------------------------------------------------------

const BODY_PARSERS = new Set(['jsonParser']);

/** `METHOD path` of every route whose handlers include a JSON body parser, read from the router. */
export function routesWithBody(h: Harness): string[] {
  const found: string[] = [];
  for (const layer of h.api.router.stack) {
    const route = layer.route;
    if (!route || !route.stack.some(l => BODY_PARSERS.has(l.name))) continue;
    for (const l of route.stack) if (l.method) found.push(`${l.method.toUpperCase()} ${route.path}`);
  }
  return [...new Set(found)];
}

/** A route's path with each param replaced by its valid sample. */
export function concrete(path: string): string {
  return path.replace(/:(\w+)/g, (_m, name: string) => {
    if (!(name in ACCEPTS)) throw new Error(`fuzz-api-support.ts: add route param :${name} to ACCEPTS`);
    return ACCEPTS[name].sample;
  });
}

// ---- setup and the last check ---------------------------------------------------------

/** The API with recording services and one session (`abc123`); call from beforeAll. */
/** Environments: the plan carries the request as parsed; creating one makes it at once. */
class PassingEnvs implements EnvApi {
  plan(request: CreateEnvRequest): EnvPlan {
    return { request } as unknown as EnvPlan;
  }
  async create(plan: EnvPlan): Promise<CreatedEnv> {
    const { request } = plan as unknown as { request: CreateEnvRequest };
    return {
      cluster: 'testbed',
      name: request.name,
      kind: 'venv',
      path: '/home/me/.venvs/env',
      env: { venv: '/home/me/.venvs/env' },
      kernelspec: { name: 'hpclab-env', displayName: 'env', path: '/k', created: true },
      installedIpykernel: false,
      seconds: 0
    };
  }
}

export async function startApiHarness(): Promise<Harness> {
  const envs = new PassingEnvs();
  const h: Harness = await startHarness({ prompts: broker, envs, logger: (_m, err) => h.logged.push(err) });
  recordCalls('envs', envs);
  h.sessions.sessions.set('abc123', sessionInfo('abc123'));
  recordCalls('sessions', h.sessions);
  recordCalls('clusters', h.clusters);
  recordCalls('kernels', h.kernels);
  recordCalls('kernelspecs', h.kernelspecs);
  recordCalls('setup', h.setup);
  recordCalls('runs', h.runs);
  recordCalls('prompts', broker, ['answer', 'cancel']);
  broker.subscribe(() => undefined); // someone is listening: prompts wait for an answer
  return h;
}

/** Call from afterAll: stops the API and prints the file's summary line. */
export async function stopApiHarness(h: Harness | undefined, tally: FuzzTally): Promise<void> {
  broker.close();
  agent.destroy();
  await h?.close();
  tally.print();
}

/**
 * The file's last test: the API still answers, nothing was logged as a 500, no shell ran.
 * An unhandled rejection fails the test it happens in (Jest reports it), so none went by.
 */
export async function expectStillUp(h: Harness, tally: FuzzTally): Promise<void> {
  const reply = await send(h.port, 'GET', '/hpclab/api/sessions');
  expect(reply.status).toBe(200);
  expect(h.logged).toEqual([]);
  expect(canaryTouched()).toBe(false);
  expect(tally.totals().cases).toBeGreaterThan(0);
}
