import { jsonHeaders, startHarness, type Harness } from './harness';

/* The setup routes' contract: bodies checked before the service is called, errors naming the field. */

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());
beforeEach(() => h.setup.calls.splice(0));

const post = (path: string, body: unknown, method = 'POST') =>
  h.request(method, `/hpclab${path}`, { headers: jsonHeaders, body: JSON.stringify(body) });

test('GET /api/setup answers the config path and the ssh hosts', async () => {
  const reply = await h.request('GET', '/hpclab/api/setup');
  expect(reply.status).toBe(200);
  expect(reply.json).toEqual({ configPath: expect.any(String), configured: false, hosts: ['mycluster'] });
});

test('discover passes host and cluster on', async () => {
  const reply = await post('/api/setup/discover', { host: 'mycluster', cluster: 'mine' });
  expect(reply.status).toBe(200);
  expect(h.setup.calls).toEqual([['discover', 'mycluster', 'mine']]);
});

test.each([
  [{}, 'host'],
  [{ host: '-oProxyCommand=touch /tmp/x' }, 'host'],
  [{ host: 'a b' }, 'host'],
  [{ host: 'ok', cluster: 'no spaces please' }, 'cluster'],
  [{ host: 'ok', extra: 1 }, 'extra']
])('discover refuses %j naming %s, and calls nothing', async (body, field) => {
  const reply = await post('/api/setup/discover', body);
  expect(reply.status).toBe(400);
  expect(reply.json.error.fields.map((f: { path: string }) => f.path)).toContain(field);
  expect(h.setup.calls).toEqual([]);
});

test('save needs host, cluster and profiles by name', async () => {
  const ok = await post('/api/setup/save', {
    host: 'mycluster',
    cluster: 'mycluster',
    profiles: { cpu: { cluster: 'mycluster' } }
  });
  expect(ok.status).toBe(200);
  expect(ok.json.added).toEqual(['cpu']);
  const bad = await post('/api/setup/save', { host: 'mycluster', cluster: 'mycluster', profiles: { 'bad name': {} } });
  expect(bad.status).toBe(400);
  expect(h.setup.calls).toHaveLength(1);
});

test('profiles: read as written, replace, remove', async () => {
  expect((await h.request('GET', '/hpclab/api/profiles/gpu/config')).json).toEqual({
    name: 'gpu',
    profile: { cluster: 'testbed' }
  });
  const put = await post('/api/profiles/gpu', { profile: { cluster: 'testbed', time: '01:00:00' } }, 'PUT');
  expect(put.status).toBe(200);
  expect((await h.request('DELETE', '/hpclab/api/profiles/gpu')).json).toEqual({ name: 'gpu', removed: true });
  expect((await post('/api/profiles/gpu', { profile: 'x' }, 'PUT')).status).toBe(400);
  expect((await h.request('DELETE', '/hpclab/api/profiles/..%2Fetc')).status).toBe(400);
  expect(h.setup.calls.map(c => c[0])).toEqual(['profileConfig', 'putProfile', 'removeProfile']);
});
