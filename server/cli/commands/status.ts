import { jobsTable, partitionsTable } from '../format';
import { openContext, pickCluster } from '../context';
import { defineCommand } from '../args';

export const statusCommand = defineCommand({
  name: 'status',
  summary: 'Partitions with free GPUs per type, then my jobs',
  usage: ['hpclab status [--cluster C] [--json] [--config FILE]'],
  description:
    "Asks a cluster's Slurm for its partitions (nodes idle/mixed/allocated/down, CPUs, GPUs free per type) and for your jobs, and prints both as tables.",
  flags: {
    cluster: {
      type: 'string',
      value: 'C',
      description: 'the cluster to ask (default: defaults.cluster in the config, else the only cluster)'
    },
    json: { type: 'boolean', description: 'print {cluster, fetchedAt, partitions, jobs} as JSON instead of tables' }
  },
  examples: [
    { description: 'Free GPUs and my jobs on the only (or default) cluster', command: 'hpclab status' },
    { description: 'Partitions of one cluster, for a script', command: 'hpclab status --cluster mycluster --json' }
  ],
  env: ['HPCLAB_CONFIG', 'XDG_CONFIG_HOME', 'SSH_AUTH_SOCK', 'SHELL', 'CI'],
  async run({ values }) {
    const ctx = await openContext(values.config);
    try {
      const name = pickCluster(ctx, values.cluster);
      const { poller } = ctx.clusters.get(name);
      // Both queries at once: over one pooled connection they share a single login.
      const [partitions, jobs] = await ctx.progress.during(`Asking ${name} for partitions and jobs…`, () =>
        Promise.all([poller.partitions.get(), poller.jobs.get()])
      );
      if (values.json) {
        const out = {
          cluster: name,
          fetchedAt: jobs.fetchedAt.toISOString(),
          partitions: partitions.data,
          jobs: jobs.data
        };
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      } else {
        process.stdout.write(
          `Cluster ${name}\n\n${partitionsTable(partitions.data)}\n\nMy jobs\n${jobsTable(jobs.data)}\n`
        );
      }
      return 0;
    } finally {
      await ctx.clusters.close();
    }
  }
});
