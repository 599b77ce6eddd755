import { isStateChanging } from '../../../server/api/origin';
import { startHarness, TOKEN, type Harness } from './harness';

/*
 * Every route the router has, read from the router itself: a route added later is covered
 * without touching this file (a new route param needs a sample value below).
 */

const SAMPLE_PARAMS: Record<string, string> = {
  cluster: 'testbed',
  jobId: '1234',
  id: 'abc123',
  name: 'hpclab-testbed-gpu',
  prompt: '0123456789abcdef',
  profile: 'gpu',
  run: 'sweep-20261205-120000-ab12'
};

function concrete(path: string): string {
  return path.replace(/:(\w+)/g, (_m, name: string) => {
    if (!(name in SAMPLE_PARAMS)) throw new Error(`access.test.ts: add a sample value for route param :${name}`);
    return SAMPLE_PARAMS[name];
  });
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

test('the route list is read from the router and covers the whole API', () => {
  const list = h.api.routes.map(r => `${r.method} ${r.path}`);
  expect(list).toEqual(
    expect.arrayContaining([
      'GET /api/clusters',
      'GET /api/clusters/:cluster/status',
      'POST /api/clusters/:cluster/jobs/:jobId/cancel',
      'POST /api/clusters/:cluster/jobs/:jobId/hold',
      'POST /api/clusters/:cluster/jobs/:jobId/release',
      'GET /api/sessions',
      'POST /api/sessions',
      'POST /api/sessions/preview',
      'GET /api/sessions/:id',
      'DELETE /api/sessions/:id',
      'GET /api/sessions/:id/log',
      'POST /api/kernels',
      'GET /api/profiles',
      'GET /api/kernelspecs',
      'POST /api/kernelspecs',
      'DELETE /api/kernelspecs/:name',
      'GET /api/clusters/:cluster/envs',
      'POST /api/prompts/:prompt',
      'DELETE /api/prompts/:prompt',
      'GET /events',
      'GET /api/version',
      'GET /api/setup',
      'POST /api/setup/discover',
      'POST /api/setup/save',
      'GET /api/profiles/:profile/config',
      'PUT /api/profiles/:profile',
      'DELETE /api/profiles/:profile',
      'POST /api/runs/preview',
      'POST /api/runs',
      'GET /api/clusters/:cluster/runs',
      'GET /api/clusters/:cluster/runs/:run/outputs',
      'GET /api/clusters/:cluster/runs/:run/output',
      'GET /api/clusters/:cluster/history'
    ])
  );
  expect(new Set(list).size).toBe(list.length);
});

describe('every route', () => {
  // Built lazily: the list comes from the running router.
  const cases = () => h.api.routes.map(r => [r.method, concrete(r.path)] as const);

  test('401 without a token, with a wrong one, and with a wrong one in the query', async () => {
    for (const [method, path] of cases()) {
      const none = await h.request(method, `/hpclab${path}`, { auth: false });
      expect([method, path, none.status]).toEqual([method, path, 401]);
      expect(none.json).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });

      for (const header of ['Bearer wrong-token', 'token wrong-token', `Bearer ${TOKEN}x`, `Basic ${TOKEN}`]) {
        const wrong = await h.request(method, `/hpclab${path}`, { auth: false, headers: { Authorization: header } });
        expect([method, path, header, wrong.status]).toEqual([method, path, header, 401]);
        expect(wrong.text).not.toContain('wrong-token');
      }
      const cookie = await h.request(method, `/hpclab${path}`, {
        auth: false,
        headers: { Cookie: 'hpclab-token=nope' }
      });
      expect([method, path, cookie.status]).toEqual([method, path, 401]);
      const query = await h.request(method, `/hpclab${path}?token=wrong-token`, { auth: false });
      expect([method, path, query.status]).toEqual([method, path, 401]);
    }
    expect(h.sessions.created).toEqual([]);
    expect(h.clusters.actions).toEqual([]);
    expect(h.kernels.attached).toEqual([]);
    expect(h.kernelspecs.added).toEqual([]);
    expect(h.kernelspecs.envCalls).toEqual([]);
    expect(h.sessions.previewed).toEqual([]);
    expect(h.sessions.subscribeCalls).toBe(0);
    expect(h.setup.calls).toEqual([]);
  });

  test('403 cross-origin on state-changing routes, even with the token', async () => {
    const writes = cases().filter(([method]) => isStateChanging(method));
    expect(writes.length).toBeGreaterThanOrEqual(6);
    for (const [method, path] of writes) {
      for (const headers of <Record<string, string>[]>[
        { Origin: 'http://evil.example' },
        { Origin: 'null' },
        { 'Sec-Fetch-Site': 'cross-site' }
      ]) {
        const reply = await h.request(method, `/hpclab${path}`, { headers });
        expect([method, path, headers, reply.status, reply.json?.error?.code]).toEqual([
          method,
          path,
          headers,
          403,
          'cross-origin'
        ]);
      }
    }
    expect(h.sessions.created).toEqual([]);
    expect(h.clusters.actions).toEqual([]);
    expect(h.kernels.attached).toEqual([]);
  });

  test('401 for another loopback port that only has the cookie (the browser attached it, not the page)', async () => {
    for (const [method, path] of cases()) {
      const reply = await h.request(method, `/hpclab${path}`, {
        auth: false,
        headers: { Origin: 'http://localhost:1', Cookie: `hpclab-token=${TOKEN}` }
      });
      expect([method, path, reply.status]).toEqual([method, path, 401]);
    }
    expect(h.sessions.created).toEqual([]);
    expect(h.clusters.actions).toEqual([]);
    expect(h.setup.calls).toEqual([]);
  });

  test('403 for a Host that is not loopback (DNS rebinding), token or not', async () => {
    for (const [method, path] of cases()) {
      for (const auth of [true, false]) {
        const reply = await h.request(method, `/hpclab${path}`, { auth, headers: { Host: `evil.example:${h.port}` } });
        expect([method, path, reply.status, reply.json?.error?.code]).toEqual([method, path, 403, 'host-not-allowed']);
      }
    }
  });
});

test('unknown paths under /hpclab/api are 401 without the token and 404 with it', async () => {
  expect((await h.request('GET', '/hpclab/api/nope', { auth: false })).status).toBe(401);
  const reply = await h.request('GET', '/hpclab/api/nope');
  expect(reply.status).toBe(404);
  expect(reply.json.error.code).toBe('not-found');
  expect((await h.request('PUT', '/hpclab/api/sessions')).status).toBe(404);
});

test('anything else below /hpclab also needs the token', async () => {
  expect((await h.request('GET', '/hpclab/node/abc123/lab', { auth: false })).status).toBe(401);
});

// Last: these calls reach the services, which the tests above check nothing did.
test('every route takes the right token as ?token= too, on any method (as Jupyter does)', async () => {
  for (const [method, path] of h.api.routes.map(r => [r.method, concrete(r.path)] as const)) {
    if (method === 'GET') continue; // a GET with ?token= sets the cookie and redirects (auth.test.ts)
    const reply = await h.request(method, `/hpclab${path}?token=${encodeURIComponent(TOKEN)}`, { auth: false });
    expect([method, path, reply.status === 401 || reply.status === 302]).toEqual([method, path, false]);
  }
});
