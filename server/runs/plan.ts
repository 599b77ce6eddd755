import type { ProfileConfig } from '../config/schema';
import { SBATCH_KEY, SBATCH_OWNED } from '../config/slurm-grammar';
import type { SubmitOptions } from '../scheduler/types';
import { describeIssues, submitOptionsSchema } from '../scheduler/validate';
import { profileSubmitFields, requestsGpu } from '../sessions/job-script';
import { type ParamSet, parseParams } from './params';
import { type RunKind, RunInputError, renderRunScript, runKindOf } from './run-script';

/*
 * What `hpclab submit` sends: the run's directory, its sbatch options and its job script. Planned
 * without touching the cluster, so `--dry-run` shows exactly what a submit would do.
 */

export interface RunRequest {
  runId: string;
  /** Absolute, on the cluster: the run's own directory (under the cluster's runsDir). */
  runDir: string;
  fileName: string;
  profileName: string;
  profile: ProfileConfig;
  /** The job's name (`%x`); default: the file's name without its extension. */
  name?: string;
  /** `--sbatch KEY=VALUE` words, later ones winning, over the profile's `sbatch` map. */
  sbatch?: readonly string[];
  /** `--mail EVENTS`: Slurm's mail types, e.g. END,FAIL. */
  mail?: string;
  /** `--mail-user ADDRESS`: where Slurm sends the mail (default: the cluster's, usually you). */
  mailUser?: string;
  args?: readonly string[];
  /** `--param NAME=V1,V2,…` words: a grid, one array task per combination. */
  params?: readonly string[];
  /** `--array SPEC`: task indexes (`1-8%2`); with --param only a throttle (`%4`). */
  array?: string;
  cluster: string;
  /** When the run was made (ISO 8601), kept in its manifest. */
  createdAt: string;
}

/** `hpclab-run.json`, in the run directory: what `hpclab runs` reads back. */
export interface RunManifest {
  version: 1;
  runId: string;
  cluster: string;
  profile: string;
  file: string;
  kind: RunKind;
  args: string[];
  /** One parameter set per array task (index = SLURM_ARRAY_TASK_ID); null without --param. */
  params: ParamSet[] | null;
  array: string | null;
  jobName: string;
  /** sbatch's --output pattern (%x, %j, %A, %a), absolute or in the run directory. */
  output: string | null;
  createdAt: string;
  /** Set once sbatch has answered. */
  jobId?: string;
}

export interface RunPlan {
  runDir: string;
  options: SubmitOptions;
  script: string;
  manifest: RunManifest;
  /** Stage hpclab's task runner beside the file (notebooks, sweeps). */
  viaRunner: boolean;
}

/** The array spec: the grid's indexes (with a throttle from --array), or --array as given. */
function arraySpec(grid: readonly ParamSet[], array: string | undefined): string | undefined {
  if (grid.length === 0) return array;
  if (array !== undefined && !/^%[1-9]\d{0,5}$/.test(array))
    throw new RunInputError(
      `--array ${JSON.stringify(array)}: with --param the tasks are the grid's ${grid.length} combinations; give only a throttle, e.g. --array %4 (at most 4 at once)`,
      'array'
    );
  return `0-${grid.length - 1}${array ?? ''}`;
}

/** sbatch options a run may set by name that have a field of their own in SubmitOptions. */
const NAMED: Record<string, keyof SubmitOptions> = {
  output: 'output',
  error: 'error',
  'job-name': 'jobName',
  partition: 'partition',
  time: 'time',
  mem: 'mem',
  gres: 'gres',
  account: 'account',
  qos: 'qos',
  constraint: 'constraint',
  nodelist: 'nodelist',
  'mail-type': 'mailType',
  'mail-user': 'mailUser'
};

/** `KEY=VALUE` (or `KEY` for a flag such as exclusive) → [key, value]; refuses what hpclab sets. */
function sbatchWord(word: string, field: string): [string, string] {
  const at = word.indexOf('=');
  const key = (at < 0 ? word : word.slice(0, at)).replace(/^--/, '');
  const value = at < 0 ? '' : word.slice(at + 1);
  if (!SBATCH_KEY.test(key))
    throw new RunInputError(
      `--sbatch: expected KEY=VALUE with an sbatch long option name such as mail-type, got ${JSON.stringify(word)}`,
      field
    );
  if (key === 'cpus-per-task') return [key, value];
  if (!(key in NAMED) && Object.hasOwn(SBATCH_OWNED, key))
    throw new RunInputError(`--sbatch ${key}: cannot be set for a run: ${SBATCH_OWNED[key]}`, field);
  return [key, value];
}

/**
 * Checks the options against Slurm's grammar; an error names the request field the bad option
 * came from (`sbatch[2]`, `mail`, `name`), as `from` records it. The profile's own options were
 * checked when the config was loaded, so anything unrecorded is named `sbatch`.
 */
function checkOptions(options: SubmitOptions, from: Map<string, string>): SubmitOptions {
  const result = submitOptionsSchema.safeParse(options);
  if (result.success) return result.data;
  const [key, extra] = result.error.issues[0].path.map(String);
  const field = (key === 'sbatch' ? from.get(`sbatch.${extra}`) : from.get(key)) ?? 'sbatch';
  throw new RunInputError(describeIssues(result.error), field);
}

export function planRun(request: RunRequest): RunPlan {
  const kind = runKindOf(request.fileName);
  (request.args ?? []).forEach((arg, i) => {
    if (/[\0\r\n]/.test(arg))
      throw new RunInputError(
        `argument ${i + 1} must be one line without NUL, CR or LF: ${JSON.stringify(arg)}`,
        `args[${i}]`
      );
  });
  const stem = request.fileName.replace(/\.[^.]+$/, '') || request.fileName;
  const grid = parseParams(request.params ?? []);
  const array = arraySpec(grid, request.array);
  const options: SubmitOptions = {
    jobName: request.name ?? stem,
    // The run id rides in the comment, so `runs list` can find the run's jobs in squeue.
    comment: `hpclab-run:${request.runId}:${request.profileName}`,
    // Slurm's own default pattern, in the run directory: %x is the job name, %j the job id
    // (for an array, %A_%a: the array's id and the task's index, so each task logs apart).
    output: `${request.runDir}/%x.${array !== undefined ? '%A_%a' : '%j'}.out`,
    ...(array !== undefined ? { array } : {}),
    chdir: request.runDir,
    ...profileSubmitFields(request.profile)
  };
  const extra: Record<string, string> = { ...request.profile.sbatch };
  const from = new Map<string, string>([
    ['jobName', 'name'],
    ['array', 'array']
  ]);
  for (const [i, word] of (request.sbatch ?? []).entries()) {
    const field = `sbatch[${i}]`;
    const [key, value] = sbatchWord(word, field);
    if (key === 'cpus-per-task') {
      options.cpusPerTask = Number(value);
      from.set('cpusPerTask', field);
    } else if (key in NAMED) {
      (options as Record<string, unknown>)[NAMED[key]] = value;
      from.set(NAMED[key], field);
    } else {
      extra[key] = value;
      from.set(`sbatch.${key}`, field);
    }
  }
  if (request.mail !== undefined) {
    options.mailType = request.mail;
    from.set('mailType', 'mail');
  }
  if (request.mailUser !== undefined) {
    options.mailUser = request.mailUser;
    from.set('mailUser', 'mailUser');
  }
  if (Object.keys(extra).length > 0) options.sbatch = extra;
  const checked = checkOptions(options, from); // names the bad option before anything runs
  const viaRunner = kind === 'notebook' || grid.length > 0;
  const script = renderRunScript({
    runId: request.runId,
    runDir: request.runDir,
    fileName: request.fileName,
    profile: request.profile,
    gpu: requestsGpu(checked.gres),
    args: request.args,
    viaRunner
  });
  const manifest: RunManifest = {
    version: 1,
    runId: request.runId,
    cluster: request.cluster,
    profile: request.profileName,
    file: request.fileName,
    kind,
    args: [...(request.args ?? [])],
    params: grid.length > 0 ? grid : null,
    array: checked.array ?? null,
    jobName: checked.jobName ?? stem,
    output: checked.output ?? null,
    createdAt: request.createdAt
  };
  return { runDir: request.runDir, options: checked, script, manifest, viaRunner };
}
