import { randomBytes } from 'node:crypto';
import { getProfile } from '../config/load';
import type { HpclabConfig, ProfileConfig } from '../config/schema';
import { submitArgv } from '../scheduler/slurm/argv';
import type { Scheduler } from '../scheduler/types';
import type { Transport } from '../transport/types';
import { countIndexes } from './follow';
import { planRun, type RunManifest, type RunPlan } from './plan';
import { listRuns, readRun, RunNotFoundError, runOutputs, taskStates, type TaskState } from './registry';
import type { IncludedFile } from './includes';
import { runsRoot, stageAndSubmit } from './submit';

/*
 * Batch runs for both front ends: `hpclab submit`/`hpclab runs` and the companion's API (the
 * Submit dialog and the sidebar's Runs). Plans, stages and submits a file, and reads runs back.
 * Each cluster's runs directory is resolved once (it needs the cluster's $HOME) and remembered.
 */

export interface RunClusters {
  (cluster: string): { transport: Transport; scheduler: Scheduler };
}

export interface SubmitRunRequest {
  profile: string;
  /** Default: the profile's cluster. */
  cluster?: string;
  /** The file's own name (no directory): what is staged and how it runs. */
  fileName: string;
  /** The file: a notebook's JSON or a script's text (as the API sends it), or its bytes. */
  content: string | Buffer;
  name?: string;
  sbatch?: readonly string[];
  mail?: string;
  mailUser?: string;
  params?: readonly string[];
  array?: string;
  args?: readonly string[];
  /** Other files to stage beside it (`hpclab submit --include`), read and checked by the CLI. */
  include?: readonly IncludedFile[];
}

export interface PlannedRun {
  request: SubmitRunRequest;
  cluster: string;
  runId: string;
  runDir: string;
  plan: RunPlan;
  /** The sbatch command line, as `--dry-run` and the dialog's preview show it. */
  argv: string[];
  /** Array tasks, or null for a single job. */
  taskCount: number | null;
}

export interface SubmittedRun extends Omit<PlannedRun, 'plan' | 'argv' | 'request'> {
  jobId: string;
  log: string | null;
  warning?: string;
}

/** A run as the sidebar lists it: its manifest's words and what Slurm still knows of its tasks. */
export interface RunView {
  cluster: string;
  runId: string;
  runDir: string;
  manifest: RunManifest;
  /** null once Slurm has forgotten the job (or before it was submitted). */
  tasks: TaskState[] | null;
}

/** `train-20261205-143000-1a2b`: sorts by time, says what ran, never collides. */
export function newRunId(fileName: string, now = new Date()): string {
  const stem =
    fileName
      .replace(/\.[^.]+$/, '')
      .replace(/[^A-Za-z0-9_-]/g, '_')
      .slice(0, 40) || 'run';
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stem}-${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Array tasks, or null for a single job. */
export function taskCountOf(plan: RunPlan): number | null {
  return plan.manifest.params?.length ?? (plan.manifest.array ? countIndexes(plan.manifest.array) : null);
}

/** A request planned into a given runs root: pure, so the API's tests plan as the service does. */
export function planSubmit(o: {
  request: SubmitRunRequest;
  profile: ProfileConfig;
  cluster: string;
  runId: string;
  root: string;
  now: Date;
}): PlannedRun {
  const { request, runId, cluster } = o;
  const runDir = `${o.root}/${runId}`;
  const plan = planRun({
    runId,
    runDir,
    fileName: request.fileName,
    profileName: request.profile,
    profile: o.profile,
    name: request.name,
    sbatch: request.sbatch,
    mail: request.mail,
    mailUser: request.mailUser,
    params: request.params,
    array: request.array,
    args: request.args,
    cluster,
    createdAt: o.now.toISOString()
  });
  return { request, cluster, runId, runDir, plan, argv: submitArgv(plan.options), taskCount: taskCountOf(plan) };
}

export class RunService {
  private readonly roots = new Map<string, Promise<string>>();

  constructor(private readonly o: { config: HpclabConfig; clusters: RunClusters }) {}

  /** The cluster's runs directory (absolute), asked of the cluster once. */
  root(cluster: string): Promise<string> {
    let root = this.roots.get(cluster);
    if (!root) {
      root = runsRoot(this.o.clusters(cluster).transport, this.o.config.clusters[cluster]?.runsDir);
      // A failed lookup (link down) is not remembered: the next call asks again.
      root.catch(() => this.roots.delete(cluster));
      this.roots.set(cluster, root);
    }
    return root;
  }

  /**
   * Everything a submit would do, done on paper. Bad input is refused at once, synchronously,
   * before the cluster is asked anything; then the run directory is placed in the runs dir.
   */
  plan(request: SubmitRunRequest, now = new Date()): Promise<PlannedRun> {
    const profile = getProfile(this.o.config, request.profile);
    const cluster = request.cluster ?? profile.cluster;
    const runId = newRunId(request.fileName, now);
    const draft = { request, profile, cluster, runId, now };
    planSubmit({ ...draft, root: '' });
    return this.root(cluster).then(root => planSubmit({ ...draft, root }));
  }

  /** The Submit dialog's preview: a plan, nothing staged. */
  preview(request: SubmitRunRequest): Promise<PlannedRun> {
    return this.plan(request);
  }

  async submit(planned: PlannedRun): Promise<SubmittedRun> {
    const { transport, scheduler } = this.o.clusters(planned.cluster);
    const { content } = planned.request;
    const staged = await stageAndSubmit(
      transport,
      scheduler,
      planned.plan,
      { name: planned.plan.manifest.file, data: typeof content === 'string' ? Buffer.from(content, 'utf8') : content },
      planned.request.include
    );
    return {
      cluster: planned.cluster,
      runId: planned.runId,
      runDir: staged.runDir,
      taskCount: planned.taskCount,
      jobId: staged.jobId,
      log: staged.log,
      ...(staged.warning ? { warning: staged.warning } : {})
    };
  }

  /** The cluster's runs, newest first, each with its tasks' states (one scontrol per live run). */
  async list(cluster: string, options: { limit?: number } = {}): Promise<{ runs: RunView[]; problems: string[] }> {
    const { transport, scheduler } = this.o.clusters(cluster);
    const { runs, problems } = await listRuns(transport, await this.root(cluster));
    const views = await Promise.all(
      runs.slice(0, options.limit ?? runs.length).map(async run => ({
        cluster,
        runId: run.manifest.runId,
        runDir: run.runDir,
        manifest: run.manifest,
        tasks: run.manifest.jobId ? await taskStates(scheduler, run.manifest.jobId) : null
      }))
    );
    return { runs: views, problems };
  }

  /** One output file of a run (a path under out/ or a log, as `outputs` lists them). */
  async output(cluster: string, runId: string, relative: string): Promise<Buffer> {
    const { transport } = this.o.clusters(cluster);
    const run = await readRun(transport, await this.root(cluster), runId);
    const listed = (await runOutputs(transport, run.runDir)).find(o => o.path === relative);
    // Only what the run listing offers is served: never a path built from the request alone.
    if (!listed) throw new RunNotFoundError(`run ${runId} has no output ${JSON.stringify(relative)}`);
    return transport.readFile(`${run.runDir}/${listed.path}`, { maxBytes: listed.size + 1 });
  }

  async outputs(cluster: string, runId: string): Promise<{ path: string; size: number }[]> {
    const { transport } = this.o.clusters(cluster);
    const run = await readRun(transport, await this.root(cluster), runId);
    return runOutputs(transport, run.runDir);
  }
}
