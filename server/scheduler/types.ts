/** GPUs of one type on a partition. `type` is '' when Slurm names no type (`gpu:2`). */
export interface GpuSummary {
  type: string;
  total: number;
  used: number;
}

export interface NodeCounts {
  idle: number;
  mixed: number;
  allocated: number;
  /** down, drained, draining, failed, not responding, powered down… */
  down: number;
  /** reserved, maint, completing, planned and anything else */
  other: number;
  total: number;
}

export interface PartitionSummary {
  name: string;
  isDefault: boolean;
  /** Partition availability as Slurm says it: up, down, drain, inact. */
  available: string;
  /** Partition time limit in seconds, null when unlimited. */
  timeLimit: number | null;
  nodes: NodeCounts;
  cpus: { total: number; allocated: number; idle: number };
  gpus: GpuSummary[];
}

/** One node of a partition as sinfo shows it, for choosing where a session runs. */
export interface NodeSummary {
  name: string;
  /** Slurm's state word, lower case, flags dropped: idle, mixed, allocated, drained, down… */
  state: string;
  /** Which bucket of NodeCounts the state falls in; only `idle` and `mixed` take new work. */
  category: keyof Omit<NodeCounts, 'total'>;
  partitions: string[];
  cpus: { total: number; allocated: number };
  gpus: GpuSummary[];
}

export type JobState =
  | 'PENDING'
  | 'RUNNING'
  | 'SUSPENDED'
  | 'COMPLETING'
  | 'COMPLETED'
  | 'CANCELLED'
  | 'FAILED'
  | 'TIMEOUT'
  | 'NODE_FAIL'
  | 'PREEMPTED'
  | 'OUT_OF_MEMORY'
  | 'BOOT_FAIL'
  | 'DEADLINE'
  | string;

export interface Job {
  /** The id to act on: `123`, or `123_4` for one array task. */
  id: string;
  /** For array tasks, the array's master id; else null. */
  arrayJobId: string | null;
  /** `4`, or a pending range such as `[5-8%2]`; null when not an array. */
  arrayTaskId: string | null;
  name: string;
  user: string;
  state: JobState;
  /** Pending reason or `None`; null when Slurm gave none. */
  reason: string | null;
  partition: string;
  /** Nodes allocated (running) or requested list; null when none yet. */
  nodes: string | null;
  numNodes: number;
  numCpus: number;
  /** Seconds. */
  timeUsed: number;
  /** Seconds, null when unlimited. */
  timeLimit: number | null;
  /** Seconds, null when unlimited or not running. */
  timeLeft: number | null;
  submitTime: Date | null;
  /** Actual start (running) or Slurm's estimate (pending); null when unknown. */
  startTime: Date | null;
  /** Requested generic resources as Slurm prints them (`gpu:1`, `gres/gpu:fake:1`), null when none. */
  gres: string | null;
  comment: string | null;
  workDir: string | null;
}

/** Options for sbatch; each field is validated against Slurm's grammar before use. */
export interface SubmitOptions {
  jobName?: string;
  partition?: string;
  time?: string;
  cpusPerTask?: number;
  mem?: string;
  gres?: string;
  account?: string;
  qos?: string;
  constraint?: string;
  nodelist?: string;
  nodes?: number;
  array?: string;
  comment?: string;
  output?: string;
  error?: string;
  chdir?: string;
  mailType?: string;
  mailUser?: string;
  hold?: boolean;
  /** Never requeue after a node failure: the job ends, and its owner is told why. */
  noRequeue?: boolean;
  /** The profile's own sbatch options (`{"mail-type": "END"}` → `--mail-type=END`; "" for a flag). */
  sbatch?: Record<string, string>;
}

export interface SubmitRequest {
  /** The whole batch script; sent on stdin, never through a shell. */
  script: string;
  options: SubmitOptions;
}

/** One job (or array task) from Slurm accounting, with what it used of what it asked for. */
export interface HistoryJob {
  /** `123`, `123_4` for an array task, `123+0` for a heterogeneous job component. */
  jobId: string;
  name: string;
  partition: string | null;
  /** COMPLETED, FAILED, TIMEOUT, CANCELLED, OUT_OF_MEMORY, RUNNING, PENDING … */
  state: JobState;
  /** Who cancelled it (a uid, as sacct prints it) when state is CANCELLED; else null. */
  cancelledBy: number | null;
  /** The script's exit status, 128+N when killed by signal N; null until it ends, or if it never ran. */
  exitCode: number | null;
  elapsedSeconds: number;
  submit: Date | null;
  start: Date | null;
  end: Date | null;
  cpus: number;
  /** User + system CPU seconds of all steps; null when sacct has none. */
  cpuSeconds: number | null;
  /** cpuSeconds / (elapsed × cpus), at most 1; null until the job ends or when it ran 0 s. */
  cpuEfficiency: number | null;
  /** Memory asked for, the whole job's; null when none was recorded. */
  reqMemBytes: number | null;
  /** Largest peak RSS of any step (a task's, not a node's sum); null when never sampled. */
  maxRssBytes: number | null;
  /** maxRss / memory asked per node, at most 1; null until the job ends or without both. */
  memEfficiency: number | null;
  /** GPUs allocated (gres/gpu in AllocTRES); 0 when none or not tracked. */
  gpus: number;
  /** Node list as Slurm prints it (`c[1-4]`); null while pending. */
  nodes: string | null;
  comment: string | null;
}

export interface Scheduler {
  partitions(): Promise<PartitionSummary[]>;
  /** The current user's jobs, from ONE squeue call. */
  myJobs(): Promise<Job[]>;
  /** Every node the user can see, each once with all its partitions. */
  nodes(): Promise<NodeSummary[]>;
  /**
   * Adds minutes to a job's time limit (`scontrol update`). Sites usually let only admins raise
   * it: that fails with a `permission` SchedulerError.
   */
  extendTimeLimit(jobId: string, minutes: number): Promise<void>;
  submit(request: SubmitRequest): Promise<string>;
  cancel(jobId: string): Promise<void>;
  hold(jobId: string): Promise<void>;
  release(jobId: string): Promise<void>;
  /** `scontrol show job -o ID` as key/value pairs. */
  jobDetail(jobId: string): Promise<Record<string, string>>;
  /** Every record `scontrol show job -o ID` prints: one per task for an array's id. */
  jobDetails(jobId: string): Promise<Record<string, string>[]>;
  /** The user's finished (and current) jobs since `since` (`7d`, `12h`, a date), from accounting. */
  history(query: { since: string }): Promise<HistoryJob[]>;
  /** 1-based place of a pending job among its partition's pending jobs; null if not pending. */
  queuePosition(jobId: string, partition: string): Promise<number | null>;
}
