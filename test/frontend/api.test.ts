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
