import * as zlib from 'node:zlib';
import { jsonHeaders, sessionInfo, startHarness, type Harness } from './harness';

/*
 * Requests that fuzzing found answered with a 500: a body that does not decode as its
 * Content-Encoding says, and a route param that does not percent-decode. Both are the
 * client's mistake: 400 naming what is wrong, nothing logged, no service called. And a job
 * id too long to be Slurm's, which once reached the cluster service.
 */

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
  h.sessions.sessions.set('abc123', sessionInfo('abc123'));
});
afterEach(() => h.close());

const SESSION = JSON.stringify({ kind: 'lab', profile: 'gpu' });

describe('a body that is not what its Content-Encoding says', () => {
  test.each([
    ['gzip', SESSION],
    ['gzip', 'not json, not gzip'],
    ['gzip', Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02])], // a gzip header, then garbage
    ['deflate', SESSION]
  ])('Content-Encoding: %s on %j is 400 naming body', async (encoding, body) => {
    const reply = await h.request('POST', '/hpclab/api/sessions', {
      headers: { ...jsonHeaders, 'Content-Encoding': encoding },
      body
    });
    expect(reply.status).toBe(400);
    expect(reply.json.error.code).toBe('bad-request');
    expect(reply.json.error.message).toMatch(/^body: does not decode as its Content-Encoding says/);
    expect(h.sessions.created).toEqual([]);
    expect(h.logged).toEqual([]);
  });

  test('a body that is gzip is still read', async () => {
    const reply = await h.request('POST', '/hpclab/api/sessions', {
      headers: { ...jsonHeaders, 'Content-Encoding': 'gzip' },
      body: zlib.gzipSync(SESSION)
    });
    expect(reply.status).toBe(201);
    expect(h.sessions.created).toEqual([{ kind: 'lab', profile: 'gpu' }]);
  });
});

describe('a route param that does not percent-decode', () => {
  test.each([
    ['GET', '/hpclab/api/sessions/%zz'],
    ['GET', '/hpclab/api/sessions/abc%'],
    ['GET', '/hpclab/api/sessions/%E0%A4%A'],
    ['DELETE', '/hpclab/api/sessions/%zz'],
    ['GET', '/hpclab/api/sessions/%zz/log'],
    ['GET', '/hpclab/api/clusters/%zz/status'],
    ['POST', '/hpclab/api/clusters/testbed/jobs/%zz/cancel'],
    ['DELETE', '/hpclab/api/kernelspecs/%C0%AE']
  ])('%s %s is 400 naming the url', async (method, path) => {
    const reply = await h.request(method, path);
    expect(reply.status).toBe(400);
    expect(reply.json.error.code).toBe('invalid');
    expect(reply.json.error.fields).toEqual([
      { path: 'url', message: expect.stringMatching(/^cannot decode .*\(malformed percent-encoding\)$/) }
    ]);
    expect(reply.json.error.message).toMatch(/^url: cannot decode /);
    expect(h.sessions.created).toEqual([]);
    expect(h.clusters.actions).toEqual([]);
    expect(h.logged).toEqual([]);
  });

  test('a well-encoded param still reaches the route', async () => {
    expect((await h.request('GET', '/hpclab/api/sessions/%61bc123')).json).toEqual(sessionInfo('abc123'));
  });
});

test.each(['12345678901', '1234_12345678901'])(
  'a job id with a part over 10 digits (%s) is 400 naming jobId',
  async jobId => {
    const reply = await h.request('POST', `/hpclab/api/clusters/testbed/jobs/${jobId}/cancel`);
    expect(reply.status).toBe(400);
    expect(reply.json.error.fields).toEqual([
      { path: 'jobId', message: expect.stringContaining('expected a Slurm job id') }
    ]);
    expect(h.clusters.actions).toEqual([]);
  }
);
