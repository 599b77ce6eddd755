import type { ClusterRegistry } from '../../server/app';
import { registry } from '../support/clusters';
import { slurmRpcCounts } from '../support/testbed';

/** Counted at slurmctld itself (sdiag): what many readers cost the scheduler. */
describe('one poller per cluster, counted at slurmctld', () => {
  let clusters: ClusterRegistry;
  beforeAll(async () => {
    clusters = await registry();
  });
  afterAll(() => clusters.close());

  it('50 concurrent readers cost slurmctld one squeue and one sinfo', async () => {
    const { poller } = clusters.get('testbed');
    const before = slurmRpcCounts();
    const reads = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 ? poller.jobs.get() : poller.partitions.get()))
    );
    const after = slurmRpcCounts();
    const delta = (type: string) => (after[type] ?? 0) - (before[type] ?? 0);
    expect(reads).toHaveLength(50);
    // One squeue asks for jobs (JOB_USER_INFO for a user's --me, JOB_INFO for root) and
    // partitions; one sinfo asks for nodes and partitions.
    expect(delta('REQUEST_JOB_USER_INFO') + delta('REQUEST_JOB_INFO')).toBe(1);
    expect(delta('REQUEST_NODE_INFO')).toBe(1);
    expect(delta('REQUEST_PARTITION_INFO')).toBe(2);
    expect(poller.jobs.calls).toBe(1);
  });
});
