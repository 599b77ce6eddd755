import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { getProfile } from '../../config/load';
import type { HpclabConfig } from '../../config/schema';
import { submitArgv } from '../../scheduler/slurm/argv';
import { followJob } from '../../runs/follow';
import { planRun } from '../../runs/plan';
import { RunInputError, runKindOf } from '../../runs/run-script';
import { clusterHome, resolveOnCluster, stageAndSubmit } from '../../runs/submit';
import { renderRemoteCommand } from '../../transport/quote';
import { defineCommand } from '../args';
import { UsageError, openContext } from '../context';

const DEFAULT_RUNS_DIR = '~/hpclab-runs';

/** `--profile`, else defaults.profile, else the only profile. */
function pickProfile(config: HpclabConfig, flag: string | undefined, configPath: string): string {
  if (flag) return flag;
  const names = Object.keys(config.profiles ?? {});
  if (config.defaults?.profile) return config.defaults.profile;
  if (names.length === 1) return names[0];
  throw new UsageError(
    names.length === 0
      ? `no profiles in ${configPath}: add one (hpclab init, or "Edit profiles" in the sidebar)`
      : `--profile: pick one of ${names.join(', ')} (or set defaults.profile in ${configPath})`
  );
}

/** `train-20261205-143000-1a2b`: sorts by time, says what ran, never collides. */
function newRunId(fileName: string, now = new Date()): string {
  const stem =
    fileName
      .replace(/\.[^.]+$/, '')
      .replace(/[^A-Za-z0-9_-]/g, '_')
      .slice(0, 40) || 'run';
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stem}-${stamp}-${randomBytes(2).toString('hex')}`;
}

export const submitCommand = defineCommand({
  name: 'submit',
  summary: 'Run a script on the cluster as a batch job',
  usage: [
    'hpclab submit FILE [--profile P] [--cluster C] [--name N] [--sbatch KEY=VALUE]… [--mail EVENTS] [--wait] [--dry-run] [--json] [--config FILE] [-- ARG…]'
  ],
  description:
    "Copies FILE, and only it, into a new run directory on the cluster (the cluster's runsDir, default ~/hpclab-runs/<run id>/, with out/ for results) and submits a job that runs it there in the profile's environment: python for .py, bash for .sh, else the file itself, with ARGs passed as they are. The job's output goes to <run dir>/<name>.<job id>.out unless --sbatch output=… says otherwise.",
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
      description: 'print {cluster, runId, runDir, jobId, log} (with --dry-run: {argv, script}) as JSON'
    }
  },
  arguments: [
    { name: 'FILE', description: 'the script: .py, .sh, or any executable' },
    { name: 'ARG', description: 'after --: words passed to the script as they are, never through a shell' }
  ],
  examples: [
    {
      description: 'Train on a GPU profile and wait for the result',
      command: 'hpclab submit train.py --profile gpu --wait'
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
    const ctx = await openContext(values.config);
    try {
      const profileName = pickProfile(ctx.config, values.profile, ctx.configPath);
      const profile = getProfile(ctx.config, profileName);
      const cluster = values.cluster ?? profile.cluster;
      const { transport, scheduler } = ctx.clusters.get(cluster);
      const runsDir = ctx.config.clusters[cluster]?.runsDir ?? DEFAULT_RUNS_DIR;
      const home = await ctx.progress.during(`Connecting to ${cluster}…`, () => clusterHome(transport));
      const runId = newRunId(fileName);
      const runDir = `${resolveOnCluster(runsDir, home).replace(/\/+$/, '')}/${runId}`;
      let plan;
      try {
        plan = planRun({
          runId,
          runDir,
          fileName,
          profileName,
          profile,
          name: values.name,
          sbatch: values.sbatch,
          mail: values.mail,
          args
        });
      } catch (err) {
        if (err instanceof RunInputError) throw new UsageError(err.message);
        throw err;
      }
      const argv = submitArgv(plan.options);
      if (values['dry-run']) {
        process.stdout.write(
          values.json
            ? `${JSON.stringify({ dryRun: true, cluster, runId, runDir, argv, script: plan.script })}\n`
            : `# ${renderRemoteCommand(argv)} < job script\n# (nothing was staged or submitted)\n${plan.script}`
        );
        return 0;
      }
      const staged = await ctx.progress.during(`Staging ${fileName} and submitting to ${cluster}…`, () =>
        stageAndSubmit(transport, scheduler, plan, { name: fileName, data })
      );
      const summary = { cluster, runId, runDir: staged.runDir, jobId: staged.jobId, log: staged.log };
      if (!values.wait) {
        process.stdout.write(
          values.json
            ? `${JSON.stringify(summary)}\n`
            : `submitted job ${staged.jobId} on ${cluster} (run ${runId})\n  run dir: ${staged.runDir}\n  output:  ${staged.log ?? '(as --sbatch output says)'}\n`
        );
        return 0;
      }
      process.stderr.write(`hpclab: submitted job ${staged.jobId} on ${cluster}, run dir ${staged.runDir}\n`);
      const outcome = await followJob(scheduler, staged.jobId, words => process.stderr.write(`hpclab: ${words}\n`));
      const ok = outcome.state === 'COMPLETED' && outcome.exitCode === 0;
      if (!ok && staged.log) {
        // The end of the job's output says why; a log that cannot be read is said instead.
        const tail = await transport.exec(['tail', '-n', '20', '--', staged.log]);
        process.stderr.write(
          tail.code === 0
            ? `hpclab: the end of ${staged.log}:\n${tail.stdout}`
            : `hpclab: cannot read ${staged.log}: ${tail.stderr.trim()}\n`
        );
      }
      process.stdout.write(
        values.json
          ? `${JSON.stringify({ ...summary, ...outcome })}\n`
          : `job ${staged.jobId} ${outcome.state}${outcome.exitCode !== null ? `, exit status ${outcome.exitCode}` : ''}\n`
      );
      return ok ? 0 : outcome.exitCode || 1;
    } finally {
      await ctx.clusters.close();
    }
  }
});
