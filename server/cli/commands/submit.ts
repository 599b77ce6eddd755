import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { getProfile } from '../../config/load';
import { describeTasks, followJob } from '../../runs/follow';
import { collectIncludes, type IncludedFile } from '../../runs/includes';
import { RunInputError, runKindOf } from '../../runs/run-script';
import { RunService, type PlannedRun } from '../../runs/run-service';
import { expandOutputPattern } from '../../runs/submit';
import { renderRemoteCommand } from '../../transport/quote';
import { defineCommand } from '../args';
import { UsageError, openContext, pickProfile } from '../context';

export const submitCommand = defineCommand({
  name: 'submit',
  summary: 'Run a script on the cluster as a batch job',
  usage: [
    'hpclab submit FILE [--profile P] [--cluster C] [--name N] [--sbatch KEY=VALUE]… [--mail EVENTS] [--mail-user ADDRESS] [--param NAME=V1,V2,…]… [--array SPEC] [--include PATH]… [--wait] [--dry-run] [--json] [--config FILE] [-- ARG…]'
  ],
  description:
    "Copies FILE, and only it (and what --include names), into a new run directory on the cluster (the cluster's runsDir, default ~/hpclab-runs/<run id>/, with out/ for results) and submits a job that runs it there in the profile's environment: python for .py, bash for .sh, else the file itself, with ARGs passed as they are. A notebook (.ipynb) runs headless with nbclient, its parameters injected after the cell tagged `parameters` (papermill's convention), and the executed notebook is written to out/. --param makes a sweep: one array task per combination of the values, each task getting its own set (a notebook as variables, a script as HPCLAB_PARAM_<NAME> environment variables and HPCLAB_PARAMS as JSON). The job's output goes to <run dir>/<name>.<job id>.out (for arrays <name>.<array id>_<index>.out) unless --sbatch output=… says otherwise. See and fetch runs with hpclab runs.",
  flags: {
    profile: {
      type: 'string',
      value: 'P',
      description: 'the profile: resources and environment (default: defaults.profile, else the only one)'
    },
    cluster: { type: 'string', value: 'C', description: "the cluster (default: the profile's)" },
    name: {
      type: 'string',
      value: 'N',
      description: "the job's name, %x in output patterns (default: FILE without its extension)"
    },
    sbatch: {
      type: 'string',
      value: 'KEY=VALUE',
      multiple: true,
      description:
        "an sbatch option, e.g. output=out/%x.%j or exclusive (a flag); after the profile's, later ones winning"
    },
    mail: {
      type: 'string',
      value: 'EVENTS',
      description: 'mail on these events, e.g. END,FAIL (Slurm sends it to you)'
    },
    'mail-user': {
      type: 'string',
      value: 'ADDRESS',
      description: "where Slurm sends the mail (default: the cluster's choice, usually your account)"
    },
    param: {
      type: 'string',
      value: 'NAME=V1,V2,…',
      multiple: true,
      description:
        'sweep NAME over these values (numbers, true/false, none, else strings; \\, for a comma in a value); several --param make a grid'
    },
    array: {
      type: 'string',
      value: 'SPEC',
      description:
        'run as a job array with these indexes, e.g. 1-8 or 0-99%10 (at most 10 at once); with --param only the throttle, e.g. %4'
    },
    include: {
      type: 'string',
      value: 'PATH',
      multiple: true,
      description:
        'also stage this file or folder (inside the current directory), at the same relative place in the run directory'
    },
    wait: {
      type: 'boolean',
      description: "follow the job (queue state, then its end) and exit with the script's exit status"
    },
    'dry-run': {
      type: 'boolean',
      description: 'print the job script and the sbatch command; stage and submit nothing'
    },
    json: {
      type: 'boolean',
      description:
        'print {cluster, runId, runDir, jobId, log, taskCount} (with --wait also state, exitCode and tasks) (with --dry-run: {argv, script, manifest}) as JSON'
    }
  },
  arguments: [
    { name: 'FILE', description: 'the script (.py, .sh, or any executable) or notebook (.ipynb)' },
    { name: 'ARG', description: 'after --: words passed to the script as they are, never through a shell' }
  ],
  examples: [
    {
      description: 'Train on a GPU profile and wait for the result',
      command: 'hpclab submit train.py --profile gpu --wait'
    },
    {
      description: 'Run a notebook for each of 2×2 parameter sets, two tasks at a time',
      command: 'hpclab submit analysis.ipynb --param lr=0.1,0.01 --param seed=1,2 --array %2'
    },
    {
      description: 'Stage a data folder beside the script (it lands at data/ in the run directory)',
      command: 'hpclab submit train.py --include data --profile gpu'
    },
    {
      description: 'See what would be submitted',
      command: 'hpclab submit run.sh --sbatch output=out/%x.%j --mail END --dry-run'
    }
  ],
  env: ['HPCLAB_CONFIG', 'XDG_CONFIG_HOME', 'SSH_AUTH_SOCK', 'SHELL', 'CI'],
  async run({ values, positionals }) {
    const [file, ...args] = positionals;
    if (file === undefined) throw new UsageError('give the script to run, e.g. hpclab submit train.py');
    const fileName = path.basename(file);
    try {
      runKindOf(fileName); // a name that cannot be staged is refused before anything connects
    } catch (err) {
      if (err instanceof RunInputError) throw new UsageError(err.message);
      throw err;
    }
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch (err) {
      throw new UsageError(
        `FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`
      );
    }
    let include: IncludedFile[] = [];
    try {
      include = await collectIncludes(process.cwd(), values.include ?? [], fileName);
    } catch (err) {
      if (err instanceof RunInputError) throw new UsageError(err.message);
      throw err;
    }
    const ctx = await openContext(values.config);
    try {
      const profileName = pickProfile(ctx, values.profile);
      const profile = getProfile(ctx.config, profileName);
      const cluster = values.cluster ?? profile.cluster;
      const runs = new RunService({ config: ctx.config, clusters: name => ctx.clusters.get(name) });
      const { transport, scheduler } = ctx.clusters.get(cluster);
      let planned: PlannedRun;
      try {
        planned = await ctx.progress.during(`Connecting to ${cluster}…`, () =>
          runs.plan({
            profile: profileName,
            cluster,
            fileName,
            content: data,
            name: values.name,
            sbatch: values.sbatch,
            mail: values.mail,
            mailUser: values['mail-user'],
            params: values.param,
            array: values.array,
            args,
            include
          })
        );
      } catch (err) {
        if (err instanceof RunInputError) throw new UsageError(err.message);
        throw err;
      }
      const { plan, argv, runId, runDir, taskCount } = planned;
      if (values['dry-run']) {
        process.stdout.write(
          values.json
            ? `${JSON.stringify({ dryRun: true, cluster, runId, runDir, argv, script: plan.script, manifest: plan.manifest, include: include.map(f => f.path) })}\n`
            : `# ${renderRemoteCommand(argv)} < job script\n${include.map(f => `# would stage ${f.path}\n`).join('')}# (nothing was staged or submitted)\n${plan.script}`
        );
        return 0;
      }
      const staged = await ctx.progress.during(`Staging ${fileName} and submitting to ${cluster}…`, () =>
        runs.submit(planned)
      );
      if (staged.warning) process.stderr.write(`hpclab: ${staged.warning}\n`);
      const summary = { cluster, runId, runDir: staged.runDir, jobId: staged.jobId, log: staged.log, taskCount };
      if (!values.wait) {
        process.stdout.write(
          values.json
            ? `${JSON.stringify(summary)}\n`
            : `submitted ${taskCount !== null ? `array job ${staged.jobId} (${taskCount} tasks)` : `job ${staged.jobId}`} on ${cluster} (run ${runId})\n  run dir: ${staged.runDir}\n  output:  ${staged.log ?? '(one log per task, see hpclab runs log)'}\n`
        );
        return 0;
      }
      process.stderr.write(`hpclab: submitted job ${staged.jobId} on ${cluster}, run dir ${staged.runDir}\n`);
      const outcome = await followJob(scheduler, staged.jobId, words => process.stderr.write(`hpclab: ${words}\n`));
      const ok = outcome.state === 'COMPLETED' && outcome.exitCode === 0;
      const failed = outcome.tasks.find(t => t.state !== 'COMPLETED' || t.exitCode !== 0);
      const failedLog =
        failed && plan.options.output
          ? expandOutputPattern(plan.options.output, {
              name: plan.manifest.jobName,
              jobId: failed.jobId,
              arrayJobId: staged.jobId,
              taskId: failed.taskId ?? undefined
            })
          : null;
      if (!ok && failedLog && !failedLog.includes('%')) {
        // The end of the job's output says why; a log that cannot be read is said instead.
        const where = failedLog.startsWith('/') ? failedLog : `${staged.runDir}/${failedLog}`;
        const tail = await transport.exec(['tail', '-n', '20', '--', where]);
        process.stderr.write(
          tail.code === 0
            ? `hpclab: the end of ${where}:\n${tail.stdout}`
            : `hpclab: cannot read ${where}: ${tail.stderr.trim()}\n`
        );
      }
      process.stdout.write(
        values.json
          ? `${JSON.stringify({ ...summary, ...outcome })}\n`
          : `job ${staged.jobId} ${outcome.state}${outcome.exitCode !== null ? `, exit status ${outcome.exitCode}` : ''}${outcome.tasks.length > 1 ? ` (${describeTasks(outcome.tasks.map(t => ({ JobState: t.state })))})` : ''}\n`
      );
      return ok ? 0 : outcome.exitCode || 1;
    } finally {
      await ctx.clusters.close();
    }
  }
});
