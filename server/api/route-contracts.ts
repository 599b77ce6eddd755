import type { z } from 'zod';
import * as zm from 'zod/mini';
import * as wire from '../../src/contract';
import { JOB_ACTIONS } from './services';
import {
  addKernelSchema,
  attachKernelSchema,
  createEnvSchema,
  createSessionSchema,
  extendSchema,
  partitionQuery,
  restoreSchema,
  discoverSchema,
  followSchema,
  historySinceQuery,
  idempotencyKeySchema,
  outputPathSchema,
  promptAnswersSchema,
  putProfileSchema,
  refreshSchema,
  saveSetupSchema,
  submitRunSchema,
  tailSchema
} from './schemas';

/*
 * Every route of the API with what it reads and what it answers: the request schemas are the
 * ones the handlers parse with (schemas.ts), the replies are the contract's (src/contract).
 * openapi.ts writes this table out; the contract test checks it against the router's own list
 * of routes and checks real replies against `reply`.
 */

/** Any zod schema: the contract's are zod/mini (small in the browser), the request schemas classic zod. */
type Schema = z.core.$ZodType;

export interface RouteContract {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** As registered on the router, relative to /hpclab. */
  path: string;
  summary: string;
  body?: Schema;
  query?: Record<string, Schema>;
  headers?: Record<string, Schema>;
  /** The success status and what it carries; `null` for 204. */
  status: number;
  reply: Schema | null;
  /** A JSON reply unless said otherwise. */
  contentType?: 'text/plain' | 'application/x-ndjson' | 'text/event-stream' | 'application/octet-stream';
}

const sessionList = zm.array(wire.sessionSchema);

export const ROUTE_CONTRACTS: readonly RouteContract[] = [
  {
    method: 'GET',
    path: '/api/version',
    summary: "The companion's release and API version",
    status: 200,
    reply: wire.versionSchema
  },
  {
    method: 'GET',
    path: '/api/clusters',
    summary: 'Configured cluster names',
    status: 200,
    reply: wire.clusterNamesSchema
  },
  {
    method: 'GET',
    path: '/api/clusters/:cluster/status',
    summary: "Partitions, free GPUs and the user's jobs (one cached poll)",
    status: 200,
    reply: wire.clusterStatusSchema
  },
  {
    method: 'GET',
    path: '/api/clusters/:cluster/history',
    summary:
      "The user's jobs since `since` from Slurm accounting (sacct), with state, exit code, elapsed and efficiency",
    query: { since: historySinceQuery },
    status: 200,
    reply: wire.historySchema
  },
  ...JOB_ACTIONS.map(action => ({
    method: 'POST' as const,
    path: `/api/clusters/:cluster/jobs/:jobId/${action}`,
    summary: `${action[0].toUpperCase()}${action.slice(1)} one of the user's jobs`,
    status: 204,
    reply: null
  })),
  {
    method: 'GET',
    path: '/api/clusters/:cluster/nodes',
    summary: "The cluster's nodes as sinfo shows them (the node picker), optionally of one partition",
    query: { partition: partitionQuery },
    status: 200,
    reply: wire.clusterNodeListSchema
  },
  { method: 'GET', path: '/api/sessions', summary: 'Sessions, newest last', status: 200, reply: sessionList },
  {
    method: 'POST',
    path: '/api/sessions',
    summary: 'Submit a session (the same Idempotency-Key returns the first session)',
    body: createSessionSchema,
    headers: { 'Idempotency-Key': idempotencyKeySchema },
    status: 201,
    reply: wire.sessionSchema
  },
  {
    method: 'POST',
    path: '/api/sessions/preview',
    summary: 'The job script and sbatch argv a POST would submit; nothing is submitted',
    body: createSessionSchema,
    status: 200,
    reply: wire.sessionPreviewSchema
  },
  { method: 'GET', path: '/api/sessions/:id', summary: 'One session', status: 200, reply: wire.sessionSchema },
  {
    method: 'DELETE',
    path: '/api/sessions/:id',
    summary: 'Stop a session (cancels its job); the session as it is now',
    status: 200,
    reply: wire.sessionSchema
  },
  {
    method: 'GET',
    path: '/api/sessions/:id/log',
    summary: "The job's output: the last `tail` bytes, then (follow=1) new output until the session is over",
    query: { tail: tailSchema, follow: followSchema },
    status: 200,
    reply: zm.string(),
    contentType: 'text/plain'
  },
  {
    method: 'POST',
    path: '/api/sessions/:id/workspace/backup',
    summary: "Back up a running session's scratch workspace now; the backup when it is written",
    status: 200,
    reply: wire.workspaceBackupSchema
  },
  {
    method: 'GET',
    path: '/api/sessions/:id/workspace/backups',
    summary: "A session's workspace backups on shared storage, newest first",
    status: 200,
    reply: wire.workspaceBackupListSchema
  },
  {
    method: 'POST',
    path: '/api/sessions/:id/workspace/restore',
    summary: 'Restore a backup (the newest unless named) into the running workspace; null when there is none',
    body: restoreSchema,
    status: 200,
    reply: zm.nullable(wire.workspaceBackupSchema)
  },
  {
    method: 'POST',
    path: '/api/sessions/:id/extend',
    summary: 'Ask Slurm for more walltime; extended false, with words, where the site does not allow it',
    body: extendSchema,
    status: 200,
    reply: wire.extendReplySchema
  },
  {
    method: 'POST',
    path: '/api/kernels',
    summary: "A kernel launcher's lease: one event per line while the kernel is wanted",
    body: attachKernelSchema,
    status: 200,
    reply: wire.kernelLeaseEventSchema,
    contentType: 'application/x-ndjson'
  },
  {
    method: 'GET',
    path: '/api/profiles',
    summary: 'Profiles as the Request form shows them',
    status: 200,
    reply: zm.array(wire.profileSchema)
  },
  {
    method: 'GET',
    path: '/api/kernelspecs',
    summary: "hpclab's kernelspecs in Jupyter's kernel picker",
    status: 200,
    reply: zm.array(wire.kernelspecSchema)
  },
  {
    method: 'POST',
    path: '/api/kernelspecs',
    summary: 'Add (201) or update (200) a remote kernelspec',
    body: addKernelSchema,
    status: 201,
    reply: wire.addedKernelspecSchema
  },
  {
    method: 'DELETE',
    path: '/api/kernelspecs/:name',
    summary: 'Remove a kernelspec hpclab wrote',
    status: 200,
    reply: wire.removedKernelspecSchema
  },
  {
    method: 'GET',
    path: '/api/clusters/:cluster/envs',
    summary: 'Environments found on the cluster (cached 10 minutes)',
    query: { refresh: refreshSchema },
    status: 200,
    reply: zm.array(wire.discoveredEnvSchema)
  },
  {
    method: 'POST',
    path: '/api/envs',
    summary:
      "Make a venv or conda env on the cluster's login node, install ipykernel and requirements, register it as a kernel; one event per line",
    body: createEnvSchema,
    status: 200,
    reply: wire.envCreateEventSchema,
    contentType: 'application/x-ndjson'
  },
  {
    method: 'POST',
    path: '/api/prompts/:prompt',
    summary: 'Answer an SSH login prompt (2FA)',
    body: promptAnswersSchema,
    status: 204,
    reply: null
  },
  {
    method: 'DELETE',
    path: '/api/prompts/:prompt',
    summary: 'Dismiss an SSH login prompt (the login fails)',
    status: 204,
    reply: null
  },
  {
    method: 'GET',
    path: '/api/setup',
    summary: "Where the config is, whether it exists, and the user's ~/.ssh/config hosts",
    status: 200,
    reply: wire.setupInfoSchema
  },
  {
    method: 'POST',
    path: '/api/setup/discover',
    summary: 'Connect to a host and propose profiles; writes nothing',
    body: discoverSchema,
    status: 200,
    reply: wire.discoverySchema
  },
  {
    method: 'POST',
    path: '/api/setup/save',
    summary: 'Write the cluster and the chosen profiles into the config (merged)',
    body: saveSetupSchema,
    status: 200,
    reply: wire.saveResultSchema
  },
  {
    method: 'GET',
    path: '/api/profiles/:profile/config',
    summary: 'A profile as written in the config',
    status: 200,
    reply: wire.profileReplySchema
  },
  {
    method: 'PUT',
    path: '/api/profiles/:profile',
    summary: 'Create or replace a profile',
    body: putProfileSchema,
    status: 200,
    reply: wire.profileReplySchema
  },
  {
    method: 'DELETE',
    path: '/api/profiles/:profile',
    summary: 'Remove a profile',
    status: 200,
    reply: wire.removedProfileSchema
  },
  {
    method: 'POST',
    path: '/api/runs/preview',
    summary: 'The run directory, job script and sbatch argv a POST would stage and submit; nothing is staged',
    body: submitRunSchema,
    status: 200,
    reply: wire.runPreviewSchema
  },
  {
    method: 'POST',
    path: '/api/runs',
    summary: 'Stage a script or notebook into a new run directory and submit it (an array for a parameter grid)',
    body: submitRunSchema,
    status: 201,
    reply: wire.submittedRunSchema
  },
  {
    method: 'GET',
    path: '/api/clusters/:cluster/runs',
    summary: "The cluster's runs, newest first (at most 50), with their tasks as Slurm still reports them",
    status: 200,
    reply: wire.runListSchema
  },
  {
    method: 'GET',
    path: '/api/clusters/:cluster/runs/:run/outputs',
    summary: "A run's outputs: files under out/ (executed notebooks) and its job logs",
    status: 200,
    reply: wire.runOutputsSchema
  },
  {
    method: 'GET',
    path: '/api/clusters/:cluster/runs/:run/output',
    summary: 'One output of a run, as its outputs list names it',
    query: { path: outputPathSchema },
    status: 200,
    reply: zm.string(),
    contentType: 'application/octet-stream'
  },
  {
    method: 'GET',
    path: '/events',
    summary: 'Live events (Server-Sent Events): a snapshot, then session, walltime, idle, prompt and link events',
    status: 200,
    reply: zm.union(Object.values(wire.eventSchemas)),
    contentType: 'text/event-stream'
  }
];
