import type { Scheduler } from '../scheduler/types';
import type { Transport } from '../transport/types';
import { includeDirs, type IncludedFile } from './includes';
import type { RunPlan } from './plan';
import { RUN_MANIFEST_FILE, TASK_RUNNER_FILE, TASK_RUNNER_PY } from './task-runner';

/*
 * Stages a run over the cluster's one SSH connection and submits it: the run directory (0700,
 * with an `out/` for results), the researcher's file (0700, so `./FILE` runs), the run's manifest
 * and, for notebooks and sweeps, hpclab's task runner; then sbatch with the script on stdin, and
 * the job id into the manifest. Only the file (and what --include names) is copied, never the
 * folder around it.
 */

export interface StagedRun {
  jobId: string;
  runDir: string;
  /** Where Slurm writes the job's output, for the default `%x.%j.out` pattern. */
  log: string | null;
  /** Said to the user: something after the submit went wrong, the job runs anyway. */
  warning?: string;
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

/** Slurm's output pattern for one job or task: %x, %j, %A, %a (and %% for a percent sign). */
export function expandOutputPattern(
  pattern: string,
  job: { name: string; jobId: string; arrayJobId?: string; taskId?: string }
): string {
  return pattern.replace(/%(%|x|j|A|a)/g, (whole, key: string) => {
    if (key === '%') return '%';
    if (key === 'x') return job.name;
    if (key === 'j') return job.jobId;
    if (key === 'A') return job.arrayJobId ?? job.jobId;
    return job.taskId ?? whole;
  });
}

/** Where runs go when the cluster's config has no runsDir. */
export const DEFAULT_RUNS_DIR = '~/hpclab-runs';

/** The cluster's runs directory, absolute (no trailing slash). */
export async function runsRoot(transport: Transport, runsDir: string | undefined): Promise<string> {
  const home = await clusterHome(transport);
  return resolveOnCluster(runsDir ?? DEFAULT_RUNS_DIR, home).replace(/\/+$/, '') || '/';
}

export async function stageAndSubmit(
  transport: Transport,
  scheduler: Scheduler,
  plan: RunPlan,
  file: { name: string; data: Buffer },
  includes: readonly IncludedFile[] = []
): Promise<StagedRun> {
  // A fixed script; the directory arrives as a positional argument, never spliced in.
  const made = await transport.exec(['sh', '-c', 'umask 077 && mkdir -p -- "$1/out"', 'sh', plan.runDir]);
  if (made.code !== 0) throw new Error(`cannot create the run directory ${plan.runDir}: ${made.stderr.trim()}`);
  await transport.writeFile(`${plan.runDir}/${file.name}`, file.data, { mode: 0o700 });
  const dirs = includeDirs(includes);
  if (dirs.length > 0) {
    // Relative names as arguments, in the run directory: never spliced into the script.
    const r = await transport.exec([
      'sh',
      '-c',
      'umask 077 && cd -- "$1" && shift && mkdir -p -- "$@"',
      'sh',
      plan.runDir,
      ...dirs
    ]);
    if (r.code !== 0) throw new Error(`cannot create the included folders in ${plan.runDir}: ${r.stderr.trim()}`);
  }
  for (const f of includes) await transport.writeFile(`${plan.runDir}/${f.path}`, f.data, { mode: f.mode });
  if (plan.viaRunner) await transport.writeFile(`${plan.runDir}/${TASK_RUNNER_FILE}`, TASK_RUNNER_PY);
  const manifestPath = `${plan.runDir}/${RUN_MANIFEST_FILE}`;
  await transport.writeFile(manifestPath, `${JSON.stringify(plan.manifest, null, 1)}\n`);
  const jobId = await scheduler.submit({ script: plan.script, options: plan.options });
  // The job id is what `hpclab runs` acts on. The job is queued whatever happens here, so a
  // failed write is said (with the id) rather than thrown as though the submit had failed.
  const manifest = { ...plan.manifest, jobId };
  let warning: string | undefined;
  try {
    await transport.writeFile(manifestPath, `${JSON.stringify(manifest, null, 1)}\n`);
  } catch (err) {
    warning = `job ${jobId} was submitted, but its id could not be written to ${manifestPath}: ${(err as Error).message}`;
  }
  const pattern = plan.options.output;
  const log = pattern ? expandOutputPattern(pattern, { name: plan.manifest.jobName, jobId }) : null;
  const absolute = log && !log.startsWith('/') ? `${plan.runDir}/${log}` : log;
  return { jobId, runDir: plan.runDir, log: absolute && /%/.test(absolute) ? null : absolute, warning };
}
