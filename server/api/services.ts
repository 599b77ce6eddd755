import type { DiscoveredEnv } from '../kernels/discovery';
import type { HpclabKernelspec } from '../kernels/kernelspec';
import type { AddKernelRequest } from '../kernels/kernelspec-service';
import type { KernelAttachRequest, KernelChannel, KernelLease } from '../kernels/kernel-lease';
import type { ChannelPort } from '../kernels/connection-file';
import type { HistoryJob, Job, NodeSummary, PartitionSummary } from '../scheduler/types';
import type { WorkspaceBackup } from '../workspace/types';
import type { CreateSessionRequest, SessionEvent, SessionInfo } from '../sessions/types';
import type { PlannedRun, RunView, SubmitRunRequest, SubmittedRun } from '../runs/run-service';
import type { CreateEnvRequest, EnvPlan } from '../envs/env-input';
import type { CreatedEnv, CreateOptions } from '../envs/env-creator';

/*
 * What the API needs of the layers below it. The session layer implements these (structurally:
 * it need not import this file, since arrows point down); tests pass in-memory fakes.
 */

export type { CreateSessionRequest, SessionOverrides } from '../sessions/types';

export interface SessionService {
  list(): SessionInfo[];
  get(id: string): SessionInfo | undefined;
  /** Submits the job; with a known idempotencyKey, returns the first session instead. */
  create(request: CreateSessionRequest): Promise<SessionInfo>;
  /** What `create` would submit (script and sbatch argv), submitting nothing. */
  preview(request: CreateSessionRequest): Promise<{ script: string; argv: string[] }>;
  /** Cancels the job; resolves with the session as it is now (usually `ending`). */
  stop(id: string): Promise<SessionInfo>;
  /** The last `tailBytes` bytes of the job's output. */
  readLog(id: string, options: { tailBytes: number }): Promise<string>;
  /** The job's output from byte `offset` on (at most 1 MiB), and the log's size now. */
  readLogFrom(id: string, offset: number): Promise<{ text: string; size: number }>;
  /** Returns the unsubscribe function; the API calls it when an event stream closes. */
  subscribe(listener: (event: SessionEvent) => void): () => void;
  /** Backs up a running session's scratch workspace now. */
  backupWorkspace?(id: string): Promise<WorkspaceBackup>;
  /** Restores a backup (default the newest); null when there is none yet. */
  restoreWorkspace?(id: string, name?: string): Promise<WorkspaceBackup | null>;
  listWorkspaceBackups?(id: string): Promise<WorkspaceBackup[]>;
  /** Asks Slurm for more walltime; `extended: false` with words when the site does not allow it. */
  extend?(id: string, minutes: number): Promise<{ extended: boolean; endsAt: string | null; message: string }>;
}

export interface ClusterStatus {
  cluster: string;
  /** When the data was read from Slurm (ISO). */
  fetchedAt: string;
  partitions: PartitionSummary[];
  jobs: Job[];
  /** Why the data is stale or empty (the last poll failed), in words for the user. */
  error?: string;
}

export const JOB_ACTIONS = ['cancel', 'hold', 'release'] as const;
export type JobAction = (typeof JOB_ACTIONS)[number];

export interface ClusterHistory {
  cluster: string;
  since: string;
  /** false when the cluster keeps no job accounting; `message` then says so and `jobs` is empty. */
  accounting: boolean;
  message?: string;
  jobs: HistoryJob[];
}

export interface ClusterService {
  names(): string[];
  status(cluster: string): Promise<ClusterStatus>;
  jobAction(cluster: string, jobId: string, action: JobAction): Promise<void>;
  /** Jobs since `since` (checked: historySinceSchema) from the cluster's accounting. */
  history(cluster: string, since: string): Promise<ClusterHistory>;
  /** The cluster's nodes (sinfo), for the Request form's node picker. */
  nodes?(cluster: string): Promise<NodeSummary[]>;
}

export { SessionNotFoundError } from '../sessions/errors';

export type { KernelAttachRequest, KernelLease, KernelLeaseEvent } from '../kernels/kernel-lease';
export type { AddKernelRequest } from '../kernels/kernelspec-service';

export interface KernelAttachService {
  /** Throws for an unknown profile or cluster; returns what to call when the launcher leaves. */
  attach(request: KernelAttachRequest, lease: KernelLease): () => void;
  /** A stream to a live kernel's channel on the node; undefined when the kernel has none. */
  openChannel(kernelId: string, channel: ChannelPort): Promise<KernelChannel | undefined>;
}

/** A profile as the Request form shows it (the config's own words). */
export interface ProfileView {
  name: string;
  cluster: string;
  partition?: string;
  gres?: string;
  time?: string;
  cpus?: number;
  mem?: string;
  account?: string;
  qos?: string;
  constraint?: string;
  /** `python`, `conda`, `venv`, `modules` or `container`. */
  envKind?: string;
  /** Its remote kernels save their variables at the first walltime warning. */
  checkpoint?: boolean;
  /** It has a scratch workspace on the node. */
  workspace?: boolean;
}

/** Kernelspecs in the kernel picker, and the environments a cluster has for them. */
export interface KernelspecApi {
  profiles(): ProfileView[];
  list(): Promise<HpclabKernelspec[]>;
  add(request: AddKernelRequest): Promise<HpclabKernelspec & { created: boolean }>;
  remove(name: string): Promise<string>;
  envs(cluster: string, refresh: boolean): Promise<DiscoveredEnv[]>;
}

/** "Add a cluster" and "Edit profiles" (server/setup); replies are the config's own words. */
export interface SetupApi {
  info(): Promise<{ configPath: string; configured: boolean; hosts: string[] }>;
  discover(
    host: string,
    cluster?: string
  ): Promise<Record<string, unknown> & { cluster: string; profiles: Record<string, unknown> }>;
  save(
    host: string,
    cluster: string,
    profiles: Record<string, unknown>
  ): Promise<{ configPath: string; cluster: string; added: string[] }>;
  profileConfig(name: string): Promise<{ name: string; profile: unknown }>;
  putProfile(name: string, profile: unknown): Promise<{ name: string; profile: unknown }>;
  removeProfile(name: string): Promise<{ name: string; removed: true }>;
}

export type { PlannedRun, RunView, SubmitRunRequest, SubmittedRun } from '../runs/run-service';

/** Batch runs: the Submit dialog's preview and submit, the sidebar's Runs, an output opened in Lab. */
export interface RunApi {
  /** Refuses bad input synchronously (a RunInputError naming the field), before anything is asked. */
  plan(request: SubmitRunRequest): Promise<PlannedRun>;
  /** The same as `plan`, for the preview route (nothing is staged). */
  preview(request: SubmitRunRequest): Promise<PlannedRun>;
  submit(planned: PlannedRun): Promise<SubmittedRun>;
  list(cluster: string, options?: { limit?: number }): Promise<{ runs: RunView[]; problems: string[] }>;
  outputs(cluster: string, runId: string): Promise<{ path: string; size: number }[]>;
  output(cluster: string, runId: string, path: string): Promise<Buffer>;
}

export type { CreateEnvRequest, EnvPlan } from '../envs/env-input';
export type { CreatedEnv, CreateOptions, EnvProgress } from '../envs/env-creator';

/** Environments made on a cluster's login node and registered as kernels (envs/EnvCreator). */
export interface EnvApi {
  /** Checks the request before anything runs; throws EnvInputError (400) or ConfigError (404). */
  plan(request: CreateEnvRequest): EnvPlan;
  create(plan: EnvPlan, options: CreateOptions): Promise<CreatedEnv>;
}
