import type { Scheduler } from '../scheduler/types';
import type { Transport } from '../transport/types';
import type { RunPlan } from './plan';

/*
 * Stages a run over the cluster's one SSH connection and submits it: the run directory (0700,
 * with an `out/` for results), the researcher's file (0700, so `./FILE` runs), then sbatch with
 * the script on stdin. Only the file is copied, never the folder around it.
 */

export interface StagedRun {
  jobId: string;
  runDir: string;
  /** Where Slurm writes the job's output, for the default `%x.%j.out` pattern. */
  log: string | null;
}

/** `~/x` on the cluster → `<home>/x`; an absolute path stays as it is. */
export function resolveOnCluster(path: string, home: string): string {
  if (path === '~') return home;
  return path.startsWith('~/') ? `${home}/${path.slice(2)}` : path;
}

/** The user's home directory on the cluster (for --chdir, which must be absolute). */
export async function clusterHome(transport: Transport): Promise<string> {
  const r = await transport.exec(['sh', '-c', 'printf %s "$HOME"']);
  const home = r.stdout.trim();
  if (r.code !== 0 || !home.startsWith('/'))
    throw new Error(`cannot find your home directory on the cluster: ${r.stderr.trim() || 'no $HOME'}`);
  return home;
}

export async function stageAndSubmit(
  transport: Transport,
  scheduler: Scheduler,
  plan: RunPlan,
  file: { name: string; data: Buffer }
): Promise<StagedRun> {
  // A fixed script; the directory arrives as a positional argument, never spliced in.
  const made = await transport.exec(['sh', '-c', 'umask 077 && mkdir -p -- "$1/out"', 'sh', plan.runDir]);
  if (made.code !== 0) throw new Error(`cannot create the run directory ${plan.runDir}: ${made.stderr.trim()}`);
  await transport.writeFile(`${plan.runDir}/${file.name}`, file.data, { mode: 0o700 });
  const jobId = await scheduler.submit({ script: plan.script, options: plan.options });
  const pattern = plan.options.output;
  const log = pattern ? pattern.replace(/%x/g, plan.options.jobName ?? '').replace(/%j/g, jobId) : null;
  const absolute = log && !log.startsWith('/') ? `${plan.runDir}/${log}` : log;
  return { jobId, runDir: plan.runDir, log: absolute && /%/.test(absolute) ? null : absolute };
}
