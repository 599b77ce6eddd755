import { ConfigError } from '../../../server/config/load';
import { SchedulerError } from '../../../server/scheduler/errors';
import { TransportError } from '../../../server/transport/errors';
import { startHarness, type Harness } from './harness';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(() => h.close());

test('GET /api/clusters lists the configured names', async () => {
  expect((await h.request('GET', '/hpclab/api/clusters')).json).toEqual(['testbed', 'here']);
});

test('GET status returns the service answer; an unknown cluster is 404 listing the known ones', async () => {
  const ok = await h.request('GET', '/hpclab/api/clusters/testbed/status');
  expect(ok.json).toEqual({ cluster: 'testbed', fetchedAt: '2025-01-01T00:00:00.000Z', partitions: [], jobs: [] });
  const unknown = await h.request('GET', '/hpclab/api/clusters/nope/status');
  expect(unknown.status).toBe(404);
  expect(unknown.json.error.message).toBe('unknown cluster "nope" (known clusters: testbed, here)');
});

test.each(['cancel', 'hold', 'release'] as const)(
  'POST …/jobs/:jobId/%s calls the service and answers 204',
  async action => {
    const reply = await h.request('POST', `/hpclab/api/clusters/testbed/jobs/1234_5/${action}`);
    expect(reply.status).toBe(204);
    expect(h.clusters.actions).toEqual([{ cluster: 'testbed', jobId: '1234_5', action }]);
  }
);

test.each([
  ['/hpclab/api/clusters/-bad/status', 'GET', 'cluster'],
  ['/hpclab/api/clusters/a%2Fb/status', 'GET', 'cluster'],
  ['/hpclab/api/clusters/testbed/jobs/12x/cancel', 'POST', 'jobId'],
  ['/hpclab/api/clusters/testbed/jobs/1234;rm/hold', 'POST', 'jobId'],
  ['/hpclab/api/clusters/-bad/jobs/x/hold', 'POST', 'cluster']
])('%s → 400 naming %s', async (path, method, param) => {
  const reply = await h.request(method, path);
  expect(reply.status).toBe(400);
  expect(reply.json.error.fields[0].path).toBe(param);
  expect(reply.json.error.message).toMatch(new RegExp(`^${param}: expected`));
  expect(h.clusters.actions).toEqual([]);
});

test.each([
  [
    new SchedulerError('invalid-request', 'Invalid job id specified'),
    400,
    'scheduler-rejected',
    'Invalid job id specified'
  ],
  [new SchedulerError('not-found', 'no job 1234'), 404, 'not-found', 'no job 1234'],
  [new SchedulerError('permission', 'not your job'), 403, 'forbidden', 'not your job'],
  [
    new SchedulerError('unavailable', 'slurmctld not answering'),
    503,
    'scheduler-unavailable',
    'scheduler unreachable: slurmctld not answering'
  ],
  [
    new TransportError('unreachable', 'cannot reach login.example.org:22', 'testbed'),
    503,
    'cluster-unreachable',
    'cluster unreachable: cannot reach login.example.org:22'
  ],
  [new TransportError('timeout', 'timed out', 'testbed'), 503, 'cluster-unreachable', 'cluster unreachable: timed out'],
  [
    new TransportError('host-key', 'host key changed for login', 'testbed'),
    502,
    'cluster-login-failed',
    'host key changed for login'
  ],
  [new TransportError('auth', 'all methods refused', 'testbed'), 502, 'cluster-login-failed', 'all methods refused'],
  [new ConfigError('unknown-name', 'unknown cluster "x"'), 404, 'not-found', 'unknown cluster "x"']
])('%s → %i %s', async (error, status, code, message) => {
  h.clusters.failWith = error;
  const reply = await h.request('POST', '/hpclab/api/clusters/testbed/jobs/1234/cancel');
  expect([reply.status, reply.json]).toEqual([status, { error: { code, message } }]);
  expect(h.logged).toEqual([]);
});

test('anything else is a logged 500 with a generic message', async () => {
  h.clusters.failWith = new SchedulerError('parse', 'cannot read squeue output: <raw>');
  const reply = await h.request('GET', '/hpclab/api/clusters/testbed/status');
  expect(reply.status).toBe(500);
  expect(reply.json.error.code).toBe('internal');
  expect(reply.text).not.toContain('<raw>');
  expect(h.logged).toEqual([h.clusters.failWith]);
});
