import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseJobDetail } from '../../../server/scheduler/slurm/parse-scontrol';
import { parsePartitions } from '../../../server/scheduler/slurm/parse-sinfo';
import { parseJobs } from '../../../server/scheduler/slurm/parse-squeue';

/**
 * Output recorded from the real testbed (Slurm 22.05) by scripts/record-fixtures.js, with exactly
 * the argv the adapter runs: a GPU job and a CPU job running, a job pending on resources with
 * a hostile name, a held job, and an array waiting with a %2 throttle.
 */
const dir = path.join(__dirname, '..', '..', 'fixtures', 'slurm', 'recorded');
const read = (name: string) => readFileSync(path.join(dir, name), 'utf8');
const ids = JSON.parse(read('jobs.json')) as Record<'gpu' | 'fill' | 'waiting' | 'held' | 'array', string>;

describe('parsers on recorded testbed output', () => {
  it('reads sinfo: both partitions on one full node, one of two fake GPUs in use', () => {
    const parts = parsePartitions(read('sinfo-nodes.txt'));
    expect(parts.map(p => [p.name, p.isDefault])).toEqual([
      ['debug', true],
      ['gpu', false]
    ]);
    for (const p of parts) {
      expect(p).toMatchObject({ available: 'up', timeLimit: null, cpus: { total: 8, allocated: 8, idle: 0 } });
      expect(p.nodes).toMatchObject({ allocated: 1, idle: 0, total: 1 });
      expect(p.gpus).toEqual([{ type: 'fake', total: 2, used: 1 }]);
    }
  });

  it('reads squeue: states, reasons, gres, comment and a name full of shell syntax', () => {
    const jobs = parseJobs(read('squeue-me.txt'));
    const byId = new Map(jobs.map(j => [j.arrayJobId ?? j.id, j]));
    expect(byId.get(ids.gpu)).toMatchObject({
      name: 'train model v2',
      state: 'RUNNING',
      partition: 'gpu',
      nodes: 'vm',
      numCpus: 4,
      timeLimit: 86400,
      comment: 'hpclab-s1',
      gres: 'gres:gpu:1'
    });
    expect(byId.get(ids.gpu)?.startTime).toBeInstanceOf(Date);
    expect(byId.get(ids.waiting)).toMatchObject({
      name: `it's "quoted" | $(x)`,
      state: 'PENDING',
      reason: 'Resources',
      nodes: null,
      numCpus: 8,
      timeLimit: 7200,
      gres: 'gres:gpu:fake:1'
    });
    expect(byId.get(ids.held)).toMatchObject({ name: 'held', state: 'PENDING', reason: 'JobHeldUser', timeLimit: 300 });
    const sweep = jobs.find(j => j.name === 'sweep');
    expect(sweep).toMatchObject({ state: 'PENDING', arrayJobId: ids.array, arrayTaskId: '[1-6%2]' });
    expect(jobs).toHaveLength(5);
  });

  it('reads scontrol show job -o for a pending and a running job', () => {
    const pending = parseJobDetail(read('scontrol-job-pending.txt').trim());
    expect(pending).toMatchObject({
      JobId: ids.waiting,
      JobName: `it's "quoted" | $(x)`,
      JobState: 'PENDING',
      Reason: 'Resources',
      Partition: 'gpu',
      TresPerNode: 'gres:gpu:fake:1'
    });
    const running = parseJobDetail(read('scontrol-job-running.txt').trim());
    expect(running).toMatchObject({
      JobId: ids.gpu,
      JobName: 'train model v2',
      JobState: 'RUNNING',
      NodeList: 'vm',
      Comment: 'hpclab-s1'
    });
  });
});
