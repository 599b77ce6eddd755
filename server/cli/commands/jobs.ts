import { describeIssues, historySinceSchema, jobIdSchema } from '../../scheduler/validate';
import { SchedulerError } from '../../scheduler/errors';
import { historyTable, jobsTable } from '../format';
import { UsageError, openContext, pickCluster } from '../context';
import { defineCommand } from '../args';
import { didYouMean } from '../suggest';

const ACTIONS = ['cancel', 'hold', 'release'] as const;
type Action = (typeof ACTIONS)[number];

export const jobsCommand = defineCommand({
  name: 'jobs',
  summary: 'My jobs; cancel, hold or release one',
  usage: [
    'hpclab jobs [--cluster C] [--json] [--config FILE]',
    'hpclab jobs --history [--since SPAN] [--cluster C] [--json] [--config FILE]',
    'hpclab jobs cancel|hold|release JOBID [--cluster C] [--json] [--config FILE]'
  ],
  description:
    "Lists your jobs on a cluster (state, time used and left, pending reason and estimated start), or cancels, holds or releases one of them. --history lists the jobs that ran since --since from Slurm's accounting (sacct): state, exit code, elapsed time, and how much of the CPUs and memory asked for they used, as seff reports it.",
  flags: {
    cluster: {
      type: 'string',
      value: 'C',
      description: 'the cluster (default: defaults.cluster in the config, else the only cluster)'
    },
    history: { type: 'boolean', description: "finished jobs from the cluster's accounting (sacct), newest last" },
    since: {
      type: 'string',
      value: 'SPAN',
      description: 'with --history: how far back, e.g. 7d (the default), 12h, 2w, or a date such as 2026-11-20'
    },
    json: {
      type: 'boolean',
      description:
        'print the jobs ({cluster, fetchedAt, jobs}), the history ({cluster, since, jobs}) or the action done ({cluster, action, id, ok}) as JSON'
    }
  },
  arguments: [
    { name: 'cancel|hold|release', description: 'act on one job instead of listing them' },
    { name: 'JOBID', description: 'the Slurm job id, e.g. 1234, or an array task such as 1234_5' }
  ],
  examples: [
    { description: 'My jobs on the only (or default) cluster', command: 'hpclab jobs' },
    { description: 'Cancel one job on a named cluster', command: 'hpclab jobs cancel 1234 --cluster mycluster' },
    { description: 'What ran this week, and how well it used what it asked for', command: 'hpclab jobs --history' }
  ],
  env: ['HPCLAB_CONFIG', 'XDG_CONFIG_HOME', 'SSH_AUTH_SOCK', 'SHELL', 'CI'],
  async run({ values, positionals }) {
    const [action, id, ...extra] = positionals;
    if (action !== undefined && !ACTIONS.includes(action as Action)) {
      if (jobIdSchema.safeParse(action).success)
        throw new UsageError(`"${action}" is a job id: say what to do with it, e.g. hpclab jobs cancel ${action}`);
      throw new UsageError(
        `unknown jobs action "${action}"${didYouMean(action, ACTIONS)}: use cancel, hold or release (hpclab jobs alone lists your jobs)`
      );
    }
    if (values.since !== undefined && !values.history)
      throw new UsageError('--since: only with --history, e.g. hpclab jobs --history --since 2d');
    if (values.since !== undefined) {
      const checked = historySinceSchema.safeParse(values.since);
      if (!checked.success) throw new UsageError(`--${describeIssues(checked.error)}`);
    }
    if (values.history && action !== undefined)
      throw new UsageError(`--history lists finished jobs; it takes no action (got "${action}")`);
    if (action && id === undefined)
      throw new UsageError(`jobs ${action}: give the job id, e.g. hpclab jobs ${action} 1234`);
    if (extra.length)
      throw new UsageError(
        `jobs ${action}: one job id at a time (got ${positionals.slice(1).join(' ')}); run it once per job`
      );
    if (id !== undefined) {
      const checked = jobIdSchema.safeParse(id);
      if (!checked.success)
        throw new UsageError(
          `JOBID: expected a Slurm job id such as 1234 or 1234_5, got ${JSON.stringify(id)} (hpclab jobs lists yours)`
        );
    }
    const ctx = await openContext(values.config);
    try {
      const name = pickCluster(ctx, values.cluster);
      const { scheduler, poller } = ctx.clusters.get(name);
      if (values.history) {
        const since = values.since ?? '7d';
        let jobs;
        try {
          jobs = await ctx.progress.during(`Asking ${name}'s accounting for jobs since ${since}…`, () =>
            scheduler.history({ since })
          );
        } catch (err) {
          if (!(err instanceof SchedulerError) || err.kind !== 'no-accounting') throw err;
          // Said plainly, then what the queue still knows: the jobs not yet gone from squeue.
          process.stderr.write(`hpclab jobs: ${name}: ${err.message}\n`);
          const queue = await poller.jobs.get();
          if (queue.error) throw new Error(queue.error);
          process.stdout.write(
            values.json
              ? JSON.stringify(
                  { cluster: name, since, accounting: false, message: err.message, queue: queue.data },
                  null,
                  2
                ) + '\n'
              : jobsTable(queue.data) + '\n'
          );
          return 0;
        }
        process.stdout.write(
          values.json
            ? JSON.stringify({ cluster: name, since, accounting: true, jobs }, null, 2) + '\n'
            : historyTable(jobs) + '\n'
        );
        return 0;
      }
      if (action && id) {
        await ctx.progress.during(`${action} ${id} on ${name}…`, () => scheduler[action as Action](id));
        poller.jobs.invalidate();
        process.stdout.write(
          values.json
            ? JSON.stringify({ cluster: name, action, id, ok: true }) + '\n'
            : `${action}: job ${id} on ${name}\n`
        );
        return 0;
      }
      const jobs = await ctx.progress.during(`Asking ${name} for my jobs…`, () => poller.jobs.get());
      process.stdout.write(
        values.json
          ? JSON.stringify({ cluster: name, fetchedAt: jobs.fetchedAt.toISOString(), jobs: jobs.data }, null, 2) + '\n'
          : jobsTable(jobs.data) + '\n'
      );
      return 0;
    } finally {
      await ctx.clusters.close();
    }
  }
});
