import { jsonHeaders, startHarness, type Harness } from './harness';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(() => h.close());

test('profiles are listed for the Request form', async () => {
  const reply = await h.request('GET', '/hpclab/api/profiles');
  expect(reply.status).toBe(200);
  expect(reply.json).toEqual([expect.objectContaining({ name: 'gpu', cluster: 'testbed', gres: 'gpu:1' })]);
});

test('POST /api/kernelspecs adds one (201) with an env from discovery', async () => {
  const body = { profile: 'gpu', env: { venv: '/home/me/venvs/torch' } };
  const reply = await h.request('POST', '/hpclab/api/kernelspecs', {
    headers: jsonHeaders,
    body: JSON.stringify(body)
  });
  expect(reply.status).toBe(201);
  expect(h.kernelspecs.added).toEqual([body]);
});

test.each([
  [{}, 'profile'],
  [{ profile: 'gpu;rm' }, 'profile'],
  [{ profile: 'gpu', name: '../../evil' }, 'name'],
  [{ profile: 'gpu', name: 'UPPER' }, 'name'],
  [{ profile: 'gpu', displayName: 'two\nlines' }, 'displayName'],
  [{ profile: 'gpu', env: { venv: '~/venv' } }, 'env.venv'],
  [{ profile: 'gpu', env: { python: '$(id)' } }, 'env.python']
])('refuses %j naming %s, adding nothing', async (body, field) => {
  const reply = await h.request('POST', '/hpclab/api/kernelspecs', {
    headers: jsonHeaders,
    body: JSON.stringify(body)
  });
  expect(reply.status).toBe(400);
  expect(reply.json.error.message).toContain(field);
  expect(h.kernelspecs.added).toEqual([]);
});

test('DELETE names the kernelspec; an unknown one is a 404, a hostile name a 400', async () => {
  expect((await h.request('DELETE', '/hpclab/api/kernelspecs/hpclab-testbed-gpu')).json).toEqual({
    removed: '/k/hpclab-testbed-gpu'
  });
  const missing = await h.request('DELETE', '/hpclab/api/kernelspecs/hpclab-none');
  expect([missing.status, missing.json.error.code]).toEqual([404, 'not-found']);
  const hostile = await h.request('DELETE', '/hpclab/api/kernelspecs/..%2F..%2Fetc');
  expect(hostile.status).toBe(400);
  expect(hostile.json.error.message).toContain('name');
});

test('envs come from the cache unless refresh=1; a bad refresh value names the query key', async () => {
  await h.request('GET', '/hpclab/api/clusters/testbed/envs');
  await h.request('GET', '/hpclab/api/clusters/testbed/envs?refresh=1');
  expect(h.kernelspecs.envCalls).toEqual([
    { cluster: 'testbed', refresh: false },
    { cluster: 'testbed', refresh: true }
  ]);
  const bad = await h.request('GET', '/hpclab/api/clusters/testbed/envs?refresh=yes');
  expect(bad.status).toBe(400);
  expect(bad.json.error.message).toContain('refresh');
});
