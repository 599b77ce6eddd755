import { logPath, parseManifest, parseRunRef, type StoredRun } from '../../../server/runs/registry';
import { expandOutputPattern } from '../../../server/runs/submit';

/** Reading runs back: run references, manifests, and where each task's log is. */

const run = (over: Record<string, unknown> = {}): StoredRun => ({
  runDir: '/home/me/hpclab-runs/sweep-20261205-120000-ab12',
  manifest: parseManifest(
    JSON.stringify({
      version: 1,
      runId: 'sweep-20261205-120000-ab12',
      cluster: 'c',
      profile: 'cpu',
      file: 'sweep.ipynb',
      kind: 'notebook',
      args: [],
      params: [{ a: 1 }, { a: 2 }],
      array: '0-1',
      jobName: 'sweep',
      output: '/home/me/hpclab-runs/sweep-20261205-120000-ab12/%x.%A_%a.out',
      createdAt: '2026-12-05T12:00:00.000Z',
      jobId: '77',
      ...over
    })
  )
});

it('reads RUN and RUN_TASK, and refuses anything else before it reaches a path', () => {
  expect(parseRunRef('sweep-20261205-120000-ab12')).toEqual({ runId: 'sweep-20261205-120000-ab12', task: null });
  expect(parseRunRef('my_run-20261205-120000-ab12_3')).toEqual({ runId: 'my_run-20261205-120000-ab12', task: '3' });
  for (const bad of ['../x-20261205-120000-ab12', 'x-20261205-120000-ab12/..', 'x', 'x-20261205-120000-ab12_', ''])
    expect(() => parseRunRef(bad)).toThrow(/RUN: expected a run id/);
});

it("finds each task's log from the output pattern, and the plain job's", () => {
  expect(logPath(run(), '1')).toBe('/home/me/hpclab-runs/sweep-20261205-120000-ab12/sweep.77_1.out');
  expect(logPath(run({ output: 'logs/%x-%j.txt', array: null, params: null }), null)).toBe(
    '/home/me/hpclab-runs/sweep-20261205-120000-ab12/logs/sweep-77.txt'
  );
  expect(logPath(run({ output: '%x.%N.out' }), '0')).toBeNull();
  expect(logPath(run({ jobId: undefined }), '0')).toBeNull();
});

it("expands Slurm's %x %j %A %a and %%", () => {
  expect(expandOutputPattern('%x.%A_%a.%j.100%%', { name: 'n', jobId: '78', arrayJobId: '77', taskId: '1' })).toBe(
    'n.77_1.78.100%'
  );
});

it('says what is wrong with a manifest it cannot read', () => {
  expect(() => parseManifest('{')).toThrow(/hpclab-run.json is not JSON/);
  expect(() => parseManifest('{"version": 2}')).toThrow(/not a run manifest hpclab knows/);
});
