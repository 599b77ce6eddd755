import { jobsTable, partitionsTable } from '../format';
import { openContext, pickCluster } from '../context';
import { parseCommandArgs, type Command } from '../args';

export const statusCommand: Command = {
  name: 'status',
  summary: 'Partitions with free GPUs per type, then my jobs',
  usage: 'hpclab status [--cluster C] [--json] [--config FILE]',
  async run(argv) {
    const { values } = parseCommandArgs(this, argv, { cluster: { type: 'string' }, json: { type: 'boolean' } });
    const ctx = await openContext(values.config);
    try {
      const name = pickCluster(ctx, values.cluster);
      const { poller } = ctx.clusters.get(name);
      // Both queries at once: over one pooled connection they share a single login.
      const [partitions, jobs] = await ctx.progress.during(`Asking ${name} for partitions and jobs…`, () =>
        Promise.all([poller.partitions.get(), poller.jobs.get()])
      );
      if (values.json) {
        const out = { cluster: name, fetchedAt: jobs.fetchedAt.toISOString(), partitions: partitions.data, jobs: jobs.data };
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      } else {
        process.stdout.write(`Cluster ${name}\n\n${partitionsTable(partitions.data)}\n\nMy jobs\n${jobsTable(jobs.data)}\n`);
      }
      return 0;
    } finally {
      await ctx.clusters.close();
    }
  }
};
