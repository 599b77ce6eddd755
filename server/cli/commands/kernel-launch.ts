import { getProfile } from '../../config/load';
import { launchKernel } from '../../kernels/launcher';
import { openContext, UsageError } from '../context';
import { parseCommandArgs, type Command } from '../args';

/** What a hpclab kernelspec's argv runs; Jupyter passes the connection file last. */
export const kernelLaunchCommand: Command = {
  name: 'kernel-launch',
  summary: 'Run a Jupyter kernel on a compute node (what hpclab kernelspecs call)',
  usage: 'hpclab kernel-launch --profile P [--cluster C] [--config FILE] CONNECTION_FILE',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(this, argv, { profile: { type: 'string' }, cluster: { type: 'string' }, env: { type: 'string' } }, true);
    if (!values.profile) throw new UsageError('--profile: which profile to run the kernel with (see hpclab kernels list)');
    if (positionals.length !== 1) throw new UsageError('CONNECTION_FILE: give exactly one connection file (Jupyter passes {connection_file})');
    const ctx = await openContext(values.config);
    try {
      const profile = getProfile(ctx.config, values.profile);
      const cluster = values.cluster ?? profile.cluster;
      return await launchKernel({
        cluster,
        profileName: values.profile,
        profile,
        connectionFile: positionals[0],
        services: ctx.clusters.get(cluster),
        log: message => process.stderr.write(`${message}\n`)
      });
    } finally {
      await ctx.clusters.close();
    }
  }
};
