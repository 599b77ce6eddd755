import * as z from 'zod/mini';
import { nullableString } from './common';

/*
 * Batch runs: a script or notebook staged to the cluster and run as a job (or a job array, one
 * task per parameter set), as `hpclab submit` and the Submit dialog make them.
 */

export const paramValueSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export type ParamValue = z.infer<typeof paramValueSchema>;

/** One task of a run (or its one job) as Slurm still reports it. */
export const runTaskSchema = z.object({
  /** `123_4` for a task, `123` for a plain job, `123_[5-8%2]` for tasks not started yet. */
  jobId: z.string(),
  taskId: nullableString,
  state: z.string(),
  /** Slurm's `status:signal`, e.g. `0:0`; null while pending. */
  exitCode: nullableString,
  node: nullableString,
  runTime: nullableString,
  reason: nullableString
});
export type RunTask = z.infer<typeof runTaskSchema>;

export const runSchema = z.object({
  cluster: z.string(),
  runId: z.string(),
  /** The staged file's name, and how it runs. */
  file: z.string(),
  kind: z.enum(['python', 'shell', 'executable', 'notebook']),
  profile: z.string(),
  jobId: nullableString,
  createdAt: z.string(),
  /** Array tasks; null for a single job. */
  taskCount: z.nullable(z.number()),
  /** One parameter set per task (index = task id); null without parameters. */
  params: z.nullable(z.array(z.record(z.string(), paramValueSchema))),
  /** null once Slurm has forgotten the job: it has ended, its files remain. */
  tasks: z.nullable(z.array(runTaskSchema))
});
export type Run = z.infer<typeof runSchema>;

export const runListSchema = z.object({
  runs: z.array(runSchema),
  /** Run directories whose manifest could not be read, with why. */
  problems: z.array(z.string())
});
export type RunList = z.infer<typeof runListSchema>;

/** `POST /api/runs/preview`: what `POST /api/runs` would stage and submit. */
export const runPreviewSchema = z.object({
  cluster: z.string(),
  runDir: z.string(),
  argv: z.array(z.string()),
  script: z.string(),
  taskCount: z.nullable(z.number())
});
export type RunPreview = z.infer<typeof runPreviewSchema>;

export const submittedRunSchema = z.object({
  cluster: z.string(),
  runId: z.string(),
  runDir: z.string(),
  jobId: z.string(),
  taskCount: z.nullable(z.number()),
  /** The job's output file (null for arrays: one per task). */
  log: nullableString,
  /** Something after the submit went wrong; the job runs anyway. */
  warning: nullableString
});
export type SubmittedRun = z.infer<typeof submittedRunSchema>;

export const runOutputsSchema = z.object({
  outputs: z.array(z.object({ path: z.string(), size: z.number() }))
});
export type RunOutputs = z.infer<typeof runOutputsSchema>;

/** `POST /api/runs` and `/api/runs/preview`. The companion's zod schema satisfies this type. */
export interface SubmitRunBody {
  profile: string;
  cluster?: string;
  /** The file's own name: `analysis.ipynb`, `train.py`, `run.sh`. */
  fileName: string;
  /** The file's text (a notebook's JSON). */
  content: string;
  name?: string;
  /** sbatch options as `KEY=VALUE` (or `KEY` for a flag): `time=01:00:00`, `exclusive`. */
  sbatch?: string[];
  /** Slurm mail types, e.g. `END,FAIL`. */
  mail?: string;
  mailUser?: string;
  /** `NAME=V1,V2,…`: a grid, one array task per combination. */
  params?: string[];
  /** Array indexes (`0-9%2`), or with params only the throttle (`%2`). */
  array?: string;
  args?: string[];
}
