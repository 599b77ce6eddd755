import { jobIdSchema } from '../../scheduler/validate';
import { jobsTable } from '../format';
import { UsageError, openContext, pickCluster } from '../context';
import { parseCommandArgs, type Command } from '../args';

const ACTIONS = ['cancel', 'hold', 'release'] as const;
type Action = (typeof ACTIONS)[number];

export const jobsCommand: Command = {
  name: 'jobs',
  summary: 'My jobs; cancel, hold or release one',
  usage: 'hpclab jobs [--cluster C] [--json] [--config FILE]\n       hpclab jobs cancel|hold|release JOBID [--cluster C]',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(this, argv, { cluster: { type: 'string' }, json: { type: 'boolean' } }, true);
    const [action, id, ...extra] = positionals;
    if (action !== undefined && !ACTIONS.includes(action as Action)) {
      throw new UsageError(`unknown jobs action "${action}": use cancel, hold or release`);
    }
    if (action && id === undefined) throw new UsageError(`jobs ${action}: give the job id, e.g. hpclab jobs ${action} 1234`);
    if (extra.length) throw new UsageError(`jobs ${action}: one job id at a time (got ${positionals.slice(1).join(' ')})`);
    if (id !== undefined) {
      const checked = jobIdSchema.safeParse(id);
      if (!checked.success) throw new UsageError(`JOBID: expected a Slurm job id such as 1234 or 1234_5, got ${JSON.stringify(id)}`);
    }
    const ctx = await openContext(values.config);
    try {
      const name = pickCluster(ctx, values.cluster);
      const { scheduler, poller } = ctx.clusters.get(name);
      if (action && id) {
        await ctx.progress.during(`${action} ${id} on ${name}…`, () => scheduler[action as Action](id));
        poller.jobs.invalidate();
        process.stdout.write(values.json ? JSON.stringify({ cluster: name, action, id, ok: true }) + '\n' : `${action}: job ${id} on ${name}\n`);
        return 0;
      }
      const jobs = await ctx.progress.during(`Asking ${name} for my jobs…`, () => poller.jobs.get());
      process.stdout.write(values.json ? JSON.stringify({ cluster: name, fetchedAt: jobs.fetchedAt.toISOString(), jobs: jobs.data }, null, 2) + '\n' : jobsTable(jobs.data) + '\n');
      return 0;
    } finally {
      await ctx.clusters.close();
    }
  }
};
