import * as z from 'zod/mini';
import { nullableString } from './common';

export const partitionSchema = z.object({
  name: z.string(),
  isDefault: z.boolean(),
  /** As Slurm says it: up, down, drain, inact. */
  available: z.string(),
  /** Seconds; null when unlimited. */
  timeLimit: z.nullable(z.number()),
  nodes: z.object({
    idle: z.number(),
    mixed: z.number(),
    allocated: z.number(),
    down: z.number(),
    other: z.number(),
    total: z.number()
  }),
  cpus: z.object({ total: z.number(), allocated: z.number(), idle: z.number() }),
  gpus: z.array(z.object({ type: z.string(), total: z.number(), used: z.number() }))
});
export type Partition = z.infer<typeof partitionSchema>;

/** One node as `sinfo -N` shows it, for the Request form's node picker (`GET /api/clusters/:cluster/nodes`). */
export const clusterNodeSchema = z.object({
  name: z.string(),
  /** Slurm's state, lower case without flags: idle, mixed, allocated, down, drained, … */
  state: z.string(),
  partitions: z.array(z.string()),
  cpus: z.object({ total: z.number(), allocated: z.number() }),
  /** Real memory, MiB; null when Slurm does not say. */
  memMB: z.nullable(z.number()),
  gpus: z.array(z.object({ type: z.string(), total: z.number(), used: z.number() })),
  features: z.array(z.string())
});
export type ClusterNode = z.infer<typeof clusterNodeSchema>;
export const clusterNodeListSchema = z.array(clusterNodeSchema);

/**
 * A job in the user's queue view. Not the scheduler's own record: times are ISO strings and
 * what only the companion needs (the job's comment, its work dir) stays inside.
 */
export const jobSchema = z.object({
  /** The id to act on: `123`, or `123_4` for one array task. */
  id: z.string(),
  arrayJobId: nullableString,
  arrayTaskId: nullableString,
  name: z.string(),
  user: z.string(),
  /** Slurm's state word (PENDING, RUNNING, …). */
  state: z.string(),
  reason: nullableString,
  partition: z.string(),
  nodes: nullableString,
  numNodes: z.number(),
  numCpus: z.number(),
  /** Seconds. */
  timeUsed: z.number(),
  timeLimit: z.nullable(z.number()),
  timeLeft: z.nullable(z.number()),
  submitTime: nullableString,
  /** Actual start (running) or Slurm's estimate (pending). */
  startTime: nullableString,
  gres: nullableString
});
export type Job = z.infer<typeof jobSchema>;

export const clusterStatusSchema = z.object({
  cluster: z.string(),
  /** When the data was read from Slurm. */
  fetchedAt: z.string(),
  partitions: z.array(partitionSchema),
  jobs: z.array(jobSchema),
  /** Why the data is stale or empty (the last poll failed), in words for the user. */
  error: z.optional(z.string())
});
export type ClusterStatus = z.infer<typeof clusterStatusSchema>;

export const clusterNamesSchema = z.array(z.string());

export const JOB_ACTIONS = ['cancel', 'hold', 'release'] as const;
export type JobAction = (typeof JOB_ACTIONS)[number];

/** The login connection to a cluster, as the sidebar says it ("reconnecting to testbed…"). */
export const linkStateSchema = z.enum(['connecting', 'up', 'reconnecting', 'down']);
export type LinkState = z.infer<typeof linkStateSchema>;

/** A finished (or current) job from Slurm accounting, with what it used of what it asked for (as seff). */
export const historyJobSchema = z.object({
  /** `123`, or `123_4` for one array task. */
  jobId: z.string(),
  name: z.string(),
  partition: nullableString,
  /** COMPLETED, FAILED, TIMEOUT, CANCELLED, OUT_OF_MEMORY, RUNNING, … */
  state: z.string(),
  /** The script's exit status (128+N when killed by signal N); null until it ends or if it never ran. */
  exitCode: z.nullable(z.number()),
  /** Seconds. */
  elapsed: z.number(),
  submitTime: nullableString,
  startTime: nullableString,
  endTime: nullableString,
  cpus: z.number(),
  /** CPU time used / (elapsed × CPUs), 0–1; null until it ends. */
  cpuEfficiency: z.nullable(z.number()),
  /** Memory asked for, bytes. */
  memRequested: z.nullable(z.number()),
  /** Largest peak RSS of any step, bytes. */
  memPeak: z.nullable(z.number()),
  /** memPeak / memory asked per node, 0–1; null until it ends. */
  memEfficiency: z.nullable(z.number()),
  gpus: z.number(),
  nodes: nullableString
});
export type HistoryJob = z.infer<typeof historyJobSchema>;

/**
 * The user's jobs since `since`. `accounting: false` when the cluster keeps no job accounting:
 * `message` says so in words and `jobs` is empty (the status route still has the queue).
 */
export const historySchema = z.object({
  cluster: z.string(),
  since: z.string(),
  accounting: z.boolean(),
  message: z.optional(z.string()),
  jobs: z.array(historyJobSchema)
});
export type History = z.infer<typeof historySchema>;
