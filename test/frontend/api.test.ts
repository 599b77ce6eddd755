import { HpclabApi, HpclabError } from '../../src/api';
import { fakeFetch, sessionBase } from './fixtures';

const session = {
  ...sessionBase,
  id: 'abc123def456',
  state: 'pending',
  jobId: '42',
  pending: { reason: 'Resources', position: 2, estimatedStart: null },
  baseUrl: '/hpclab/node/abc123def456/'
};

test('same origin by default, under /hpclab/, with the cookie (no token header)', async () => {
  const { impl, calls } = fakeFetch({ 'GET /hpclab/api/clusters': { body: ['testbed'] } });
  const api = new HpclabApi('', impl);
  expect(await api.clusters()).toEqual(['testbed']);
  expect(calls[0].url).toBe('http://localhost/hpclab/api/clusters');
  expect(calls[0].init.credentials).toBe('same-origin');
  expect((calls[0].init.headers as Record<string, string>).Authorization).toBeUndefined();
});

test('a companionUrl with ?token= sends the token as a header, never in the path', async () => {
  const { impl, calls } = fakeFetch({ 'GET /hpclab/api/sessions': { body: [session] } });
  const api = new HpclabApi('http://127.0.0.1:9999/?token=secret', impl);
  const sessions = await api.sessions();
  expect(sessions[0].pending?.position).toBe(2);
  expect(calls[0].url).toBe('http://127.0.0.1:9999/hpclab/api/sessions');
  expect((calls[0].init.headers as Record<string, string>).Authorization).toBe('token secret');
});

test('creating a session sends the body and the idempotency key', async () => {
  const { impl, calls } = fakeFetch({ 'POST /hpclab/api/sessions': { status: 201, body: session } });
  const api = new HpclabApi('', impl);
  await api.createSession({ kind: 'lab', profile: 'gpu', overrides: { time: '02:00:00' } }, 'key-1');
  expect(JSON.parse(String(calls[0].init.body))).toEqual({
    kind: 'lab',
    profile: 'gpu',
    overrides: { time: '02:00:00' }
  });
  expect((calls[0].init.headers as Record<string, string>)['Idempotency-Key']).toBe('key-1');
});

test('errors become HpclabError with the fields the companion named', async () => {
  const body = {
    error: {
      code: 'invalid',
      message: 'overrides.time: expected HH:MM:SS',
      fields: [{ path: 'overrides.time', message: 'expected HH:MM:SS' }]
    }
  };
  const { impl } = fakeFetch({ 'POST /hpclab/api/sessions/preview': { status: 400, body } });
  const err = await new HpclabApi('', impl)
    .previewSession({ kind: 'lab', profile: 'gpu', overrides: { time: 'x' } })
    .catch(e => e);
  expect(err).toBeInstanceOf(HpclabError);
  expect(err).toMatchObject({ status: 400, code: 'invalid', fields: [{ path: 'overrides.time' }] });
});

test('an unreachable companion, a proxy error page and a malformed reply each get words', async () => {
  const { impl } = fakeFetch({
    'GET /hpclab/api/profiles': { status: 502, body: '<html>Bad gateway</html>' },
    'GET /hpclab/api/kernelspecs': { body: [{ nope: 1 }] }
  });
  const api = new HpclabApi('', impl);
  await expect(api.clusters()).rejects.toMatchObject({
    code: 'unreachable',
    message: expect.stringContaining('not answering')
  });
  await expect(api.profiles()).rejects.toMatchObject({ status: 502, code: 'http' });
  await expect(api.kernelspecs()).rejects.toMatchObject({ code: 'bad-reply' });
});

test('the session log without follow: the tail as text, through the same credentials', async () => {
  const { impl, calls } = fakeFetch({ 'GET /hpclab/api/sessions/s1/log?tail=100': { body: 'last lines\n' } });
  const chunks: string[] = [];
  for await (const chunk of new HpclabApi('http://127.0.0.1:9999/?token=secret', impl).sessionLog('s1', { tail: 100 }))
    chunks.push(chunk);
  expect(chunks.join('')).toBe('last lines\n');
  expect((calls[0].init.headers as Record<string, string>).Authorization).toBe('token secret');
});

test('making an env yields each step, pip line and the end; a line that is no event is an error', async () => {
  const env = {
    cluster: 'testbed',
    name: 'analysis',
    kind: 'venv',
    path: '/home/me/.venvs/analysis',
    env: { venv: '/home/me/.venvs/analysis' },
    kernelspec: { name: 'hpclab-testbed-gpu-1a2b', displayName: 'Python 3 (venv analysis)', path: '/k', created: true },
    installedIpykernel: false,
    seconds: 4.6
  };
  const lines = [
    { type: 'step', step: 'create', message: 'making the venv' },
    { type: 'output', step: 'requirements', line: 'Successfully installed tiny-1.0' },
    { type: 'done', env }
  ];
  const { impl, calls } = fakeFetch({
    'POST /hpclab/api/envs': { body: lines.map(l => JSON.stringify(l)).join('\n') + '\n' }
  });
  const api = new HpclabApi('', impl);
  const seen = [];
  for await (const event of api.createEnv({ name: 'analysis', cluster: 'testbed' })) seen.push(event);
  expect(seen.map(e => e.type)).toEqual(['step', 'output', 'done']);
  expect(JSON.parse(String(calls[0].init.body))).toEqual({ name: 'analysis', cluster: 'testbed' });

  const bad = fakeFetch({ 'POST /hpclab/api/envs': { body: '{"type":"nonsense"}\n' } });
  const events = new HpclabApi('', bad.impl).createEnv({ name: 'x' });
  await expect(events.next()).rejects.toThrow(/Unexpected reply from the companion for POST api\/envs/);
});

const node = {
  name: 'c1',
  state: 'idle',
  partitions: ['debug', 'gpu'],
  cpus: { total: 8, allocated: 0 },
  memMB: 4000,
  gpus: [{ type: 'fake', total: 2, used: 0 }],
  features: []
};
const backup = {
  name: 'workspace-20261206T081500Z.tar.zst',
  at: '2026-12-06T08:15:00Z',
  bytes: 12931234,
  compressor: 'zstd',
  seconds: 3.2,
  sourceBytes: 40000000
};

test("a cluster's nodes, all or one partition's (the name escaped in the path and the query)", async () => {
  const { impl, calls } = fakeFetch({
    'GET /hpclab/api/clusters/testbed/nodes': { body: [node] },
    'GET /hpclab/api/clusters/my%20cluster/nodes?partition=a%26b': { body: [] },
    'GET /hpclab/api/clusters/old/nodes': { body: [{ ...node, cpus: 8 }] }
  });
  const api = new HpclabApi('', impl);
  expect(await api.nodes('testbed')).toEqual([node]);
  expect(await api.nodes('my cluster', 'a&b')).toEqual([]);
  expect(calls.map(c => c.init.method)).toEqual(['GET', 'GET']);
  await expect(api.nodes('old')).rejects.toMatchObject({ code: 'bad-reply' });
});

test('workspace backup, list and restore: the routes, the bodies and the replies parsed', async () => {
  const { impl, calls } = fakeFetch({
    'POST /hpclab/api/sessions/s%2F1/workspace/backup': { body: backup },
    'GET /hpclab/api/sessions/s1/workspace/backups': { body: [{ ...backup, seconds: undefined }] },
    'POST /hpclab/api/sessions/s1/workspace/restore': { body: backup }
  });
  const api = new HpclabApi('', impl);
  expect(await api.backupWorkspace('s/1')).toEqual(backup);
  expect(calls[0].init.body).toBeUndefined();
  const [listed] = await api.workspaceBackups('s1');
  expect(listed.name).toBe(backup.name);
  expect(listed.seconds).toBeUndefined();
  expect(await api.restoreWorkspace('s1')).toEqual(backup);
  expect(JSON.parse(String(calls[2].init.body))).toEqual({ name: 'newest' });
  await api.restoreWorkspace('s1', backup.name);
  expect(JSON.parse(String(calls[3].init.body))).toEqual({ name: backup.name });
  expect((calls[3].init.headers as Record<string, string>)['Content-Type']).toBe('application/json');
});

test('a restore with no backup to restore answers null', async () => {
  const { impl } = fakeFetch({ 'POST /hpclab/api/sessions/s1/workspace/restore': { body: null } });
  expect(await new HpclabApi('', impl).restoreWorkspace('s1')).toBeNull();
});

test('a backup while one runs is a 409 HpclabError with the words of the companion', async () => {
  const body = { error: { code: 'workspace-busy', message: 'a backup of this workspace is running' } };
  const { impl } = fakeFetch({ 'POST /hpclab/api/sessions/s1/workspace/backup': { status: 409, body } });
  await expect(new HpclabApi('', impl).backupWorkspace('s1')).rejects.toMatchObject({
    status: 409,
    code: 'workspace-busy',
    message: 'a backup of this workspace is running'
  });
});

test('extend sends the minutes and reads whether Slurm took them', async () => {
  const refused = {
    extended: false,
    endsAt: '2026-01-01T11:00:00Z',
    message: 'This site does not let users extend jobs.'
  };
  const { impl, calls } = fakeFetch({ 'POST /hpclab/api/sessions/s1/extend': { body: refused } });
  expect(await new HpclabApi('', impl).extendSession('s1', 90)).toEqual(refused);
  expect(JSON.parse(String(calls[0].init.body))).toEqual({ minutes: 90 });
});
