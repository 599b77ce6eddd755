import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { openApiText } from '../../../server/api/openapi';
import { ROUTE_CONTRACTS } from '../../../server/api/route-contracts';
import type { ClusterStatus } from '../../../server/api/services';
import { parsePartitions } from '../../../server/scheduler/slurm/parse-sinfo';
import { parseJobs } from '../../../server/scheduler/slurm/parse-squeue';
import { FakeClusters, FakeKernelspecs, sessionInfo, startHarness, type Harness } from './harness';

/*
 * The API answers what src/contract says, nothing more: every JSON reply parsed by its route's
 * reply schema must come out equal to what was sent (zod drops unknown keys, so an internal field
 * leaking into a reply fails here), the router's routes are exactly the documented ones, and
 * docs/openapi.json is what the code would write.
 */

const recorded = (name: string) => readFileSync(path.join(__dirname, '../../fixtures/slurm/recorded', name), 'utf8');

/** Internal records as the real parsers make them from recorded Slurm output (Dates, comments, work dirs). */
class RecordedClusters extends FakeClusters {
  async status(cluster: string): Promise<ClusterStatus> {
    return {
      cluster,
      fetchedAt: '2025-01-01T00:00:00.000Z',
      partitions: parsePartitions(recorded('sinfo-nodes.txt')),
      jobs: parseJobs(recorded('squeue-me.txt')),
      error: 'squeue timed out'
    };
  }
}

class RecordedKernelspecs extends FakeKernelspecs {
  async list() {
    return [
      {
        name: 'hpclab-testbed-gpu',
        displayName: 'Python 3 · 1 GPU · testbed',
        argv: ['hpclab', 'kernel-launch', '{connection_file}'],
        language: 'python',
        metadata: { profile: 'gpu', cluster: 'testbed', env: 'torch', version: 1 },
        path: '/home/me/.local/share/jupyter/kernels/hpclab-testbed-gpu'
      }
    ];
  }
  async envs() {
    return [
      {
        kind: 'conda' as const,
        name: 'torch',
        prefix: '/opt/conda/envs/torch',
        python: '/opt/conda/envs/torch/bin/python',
        pythonVersion: '3.11',
        ipykernel: true,
        env: { conda: 'torch' },
        kernels: [],
        brokenKernels: []
      }
    ];
  }
}

function contractOf(method: string, routePath: string) {
  const found = ROUTE_CONTRACTS.find(r => r.method === method && r.path === routePath);
  if (!found) throw new Error(`no contract for ${method} ${routePath}`);
  return found;
}

/** Parses with the route's reply schema and requires nothing to be dropped or changed. */
function expectReplyMatches(schema: z.core.$ZodType | null, body: unknown): void {
  if (!schema) throw new Error('a route with a JSON reply needs a reply schema');
  const parsed = z.safeParse(schema, body);
  if (!parsed.success)
    throw new Error(`reply does not match the contract: ${parsed.error.message}\n${JSON.stringify(body)}`);
  expect(parsed.data).toEqual(body);
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ clusters: new RecordedClusters(), kernelspecs: new RecordedKernelspecs() });
  h.sessions.sessions.set(
    'abc123',
    sessionInfo('abc123', {
      state: 'pending',
      jobId: '77',
      node: null,
      pending: { reason: 'Resources', position: 2, estimatedStart: '2025-01-01T00:05:00.000Z' }
    })
  );
  h.sessions.sessions.set(
    'def456',
    sessionInfo('def456', {
      state: 'ended',
      endReason: 'timeout',
      message: 'walltime reached',
      endedAt: '2025-01-01T01:00:10.000Z'
    })
  );
});
afterAll(() => h.close());

test('the router has exactly the routes the contract documents', () => {
  const key = (r: { method: string; path: string }) => `${r.method} ${r.path}`;
  expect(h.api.routes.map(key).sort()).toEqual(ROUTE_CONTRACTS.map(key).sort());
});

test('docs/openapi.json is what the code writes (run `npm run api:doc` after changing the API)', () => {
  const committed = readFileSync(path.join(__dirname, '../../../docs/openapi.json'), 'utf8');
  expect(committed).toBe(openApiText());
});

test("a job reply carries ISO times and none of the scheduler's private fields", async () => {
  const reply = await h.request('GET', '/hpclab/api/clusters/testbed/status');
  expect(reply.status).toBe(200);
  expect(reply.json.jobs.length).toBeGreaterThan(0);
  for (const job of reply.json.jobs) {
    expect(job).not.toHaveProperty('comment');
    expect(job).not.toHaveProperty('workDir');
    if (job.startTime !== null) expect(new Date(job.startTime).toISOString()).toBe(job.startTime);
  }
  expectReplyMatches(contractOf('GET', '/api/clusters/:cluster/status').reply, reply.json);
});

const GETS: [string, string][] = [
  ['/api/version', '/hpclab/api/version'],
  ['/api/clusters', '/hpclab/api/clusters'],
  ['/api/sessions', '/hpclab/api/sessions'],
  ['/api/sessions/:id', '/hpclab/api/sessions/abc123'],
  ['/api/profiles', '/hpclab/api/profiles'],
  ['/api/kernelspecs', '/hpclab/api/kernelspecs'],
  ['/api/clusters/:cluster/envs', '/hpclab/api/clusters/testbed/envs'],
  ['/api/setup', '/hpclab/api/setup'],
  ['/api/profiles/:profile/config', '/hpclab/api/profiles/gpu/config'],
  ['/api/clusters/:cluster/runs', '/hpclab/api/clusters/testbed/runs'],
  ['/api/clusters/:cluster/runs/:run/outputs', '/hpclab/api/clusters/testbed/runs/sweep-20261205-120000-ab12/outputs'],
  ['/api/clusters/:cluster/history', '/hpclab/api/clusters/testbed/history?since=2d']
];

test.each(GETS)('GET %s answers its contract', async (route, url) => {
  const reply = await h.request('GET', url);
  expect(reply.status).toBe(200);
  expectReplyMatches(contractOf('GET', route).reply, reply.json);
});

test('writes answer their contracts', async () => {
  const json = { 'Content-Type': 'application/json' };
  const created = await h.request('POST', '/hpclab/api/sessions', {
    headers: json,
    body: JSON.stringify({ kind: 'lab', profile: 'gpu' })
  });
  expect(created.status).toBe(201);
  expectReplyMatches(contractOf('POST', '/api/sessions').reply, created.json);
  const preview = await h.request('POST', '/hpclab/api/sessions/preview', {
    headers: json,
    body: JSON.stringify({ kind: 'lab', profile: 'gpu' })
  });
  expectReplyMatches(contractOf('POST', '/api/sessions/preview').reply, preview.json);
  const stopped = await h.request('DELETE', '/hpclab/api/sessions/abc123');
  expectReplyMatches(contractOf('DELETE', '/api/sessions/:id').reply, stopped.json);
  const added = await h.request('POST', '/hpclab/api/kernelspecs', {
    headers: json,
    body: JSON.stringify({ profile: 'gpu' })
  });
  expect(added.status).toBe(201);
  expectReplyMatches(contractOf('POST', '/api/kernelspecs').reply, added.json);
  expect(added.json).not.toHaveProperty('argv');
  const removed = await h.request('DELETE', '/hpclab/api/kernelspecs/hpclab-testbed-gpu');
  expectReplyMatches(contractOf('DELETE', '/api/kernelspecs/:name').reply, removed.json);
  const put = await h.request('PUT', '/hpclab/api/profiles/gpu', {
    headers: json,
    body: JSON.stringify({ profile: { cluster: 'testbed' } })
  });
  expectReplyMatches(contractOf('PUT', '/api/profiles/:profile').reply, put.json);
  const deleted = await h.request('DELETE', '/hpclab/api/profiles/gpu');
  expectReplyMatches(contractOf('DELETE', '/api/profiles/:profile').reply, deleted.json);
  const run = { profile: 'cpu', fileName: 'sweep.ipynb', content: '{}', params: ['lr=0.1,0.01'], array: '%1' };
  const runPreview = await h.request('POST', '/hpclab/api/runs/preview', { headers: json, body: JSON.stringify(run) });
  expect(runPreview.json).toMatchObject({ taskCount: 2, argv: expect.arrayContaining(['--array=0-1%1']) });
  expectReplyMatches(contractOf('POST', '/api/runs/preview').reply, runPreview.json);
  const submitted = await h.request('POST', '/hpclab/api/runs', { headers: json, body: JSON.stringify(run) });
  expect(submitted.status).toBe(201);
  expectReplyMatches(contractOf('POST', '/api/runs').reply, submitted.json);
});

test("a bad run is refused naming the field, and a run's output is served only as listed", async () => {
  const json = { 'Content-Type': 'application/json' };
  const bad = await h.request('POST', '/hpclab/api/runs/preview', {
    headers: json,
    body: JSON.stringify({ profile: 'cpu', fileName: 'a.py', content: '', params: ['class=1'] })
  });
  expect(bad.status).toBe(400);
  expect(bad.json.error.fields).toEqual([{ path: 'params[0]', message: expect.stringMatching(/--param "class=1"/) }]);
  const output = await h.request(
    'GET',
    '/hpclab/api/clusters/testbed/runs/sweep-20261205-120000-ab12/output?path=out%2Fsweep_0.ipynb'
  );
  expect([output.status, output.headers['content-type'], output.text]).toEqual([200, 'application/octet-stream', '{}']);
  const other = await h.request(
    'GET',
    '/hpclab/api/clusters/testbed/runs/sweep-20261205-120000-ab12/output?path=..%2F..%2F.ssh%2Fid_ed25519'
  );
  expect(other.status).toBe(404);
  expect(h.runs.submitted).toHaveLength(1);
});
