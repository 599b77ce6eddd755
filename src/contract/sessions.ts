import * as z from 'zod/mini';
import { nullableString } from './common';

export const sessionStateSchema = z.enum(['pending', 'starting', 'running', 'ending', 'ended', 'failed']);
export type SessionState = z.infer<typeof sessionStateSchema>;

/**
 * Why a session ended; an older extension shows `message` for a reason it does not know.
 * `idle`: the companion stopped it after the profile's `idleMinutes` without activity.
 */
export const endReasonSchema = z.enum([
  'completed',
  'cancelled',
  'timeout',
  'node-failure',
  'preempted',
  'out-of-memory',
  'failed',
  'idle'
]);
export type EndReason = z.infer<typeof endReasonSchema>;

/** One backup of a session's scratch workspace on shared storage (written whole: temp file, then rename). */
export const workspaceBackupSchema = z.object({
  /** The file's name in the backup directory, e.g. `workspace-20261206T081500Z.tar.zst`. */
  name: z.string(),
  /** When it was made (ISO 8601). */
  at: z.string(),
  bytes: z.number(),
  compressor: z.enum(['zstd', 'lz4', 'none']),
  /** How long the backup took, for the one just made; absent in lists. */
  seconds: z.optional(z.number()),
  /** Bytes of the workspace it holds, for the one just made; absent in lists. */
  sourceBytes: z.optional(z.number())
});
export type WorkspaceBackup = z.infer<typeof workspaceBackupSchema>;
export const workspaceBackupListSchema = z.array(workspaceBackupSchema);

/**
 * A session's workspace: where it is (as the profile says it, variables unexpanded), where it
 * is backed up, what is happening to it now, and the last backup this companion made or found.
 */
export const workspaceStatusSchema = z.object({
  dir: z.string(),
  backupDir: z.string(),
  /** Minutes between automatic backups; 0: only on demand, at the walltime warning and at stop. */
  autoBackupMinutes: z.number(),
  state: z.enum(['idle', 'restoring', 'backing-up']),
  lastBackup: z.nullable(workspaceBackupSchema),
  /** Why the last backup or restore failed, in words; null after one succeeds. */
  error: nullableString
});
export type WorkspaceStatus = z.infer<typeof workspaceStatusSchema>;

/** `POST /api/sessions/:id/extend`: whether Slurm took the new limit, and words either way. */
export const extendReplySchema = z.object({
  extended: z.boolean(),
  /** The walltime end now (ISO 8601); null when unlimited or unknown. */
  endsAt: nullableString,
  message: z.string()
});
export type ExtendReply = z.infer<typeof extendReplySchema>;

/** A session as `GET /api/sessions` and the live events show it. Times are ISO 8601. */
export const sessionSchema = z.object({
  id: z.string(),
  /** `alloc`: a node held with no server on it (`hpclab alloc`), for `hpclab shell`, kernels and runs. */
  kind: z.enum(['lab', 'kernel', 'alloc']),
  cluster: z.string(),
  profile: z.string(),
  state: sessionStateSchema,
  jobId: nullableString,
  /** While pending: Slurm's reason, place in the user's queue view, estimated start. */
  pending: z.nullable(
    z.object({ reason: nullableString, position: z.nullable(z.number()), estimatedStart: nullableString })
  ),
  node: nullableString,
  createdAt: z.string(),
  startedAt: nullableString,
  /** Walltime end; null until running or when unlimited. */
  endsAt: nullableString,
  endedAt: nullableString,
  endReason: z.nullable(endReasonSchema),
  /** Human words for the end or failure. */
  message: nullableString,
  /** Where the proxied server answers: `/hpclab/node/<id>/`. */
  baseUrl: z.string(),
  /**
   * How the companion reaches the node once running (null before): `unix-socket` through a relay
   * step of the job, nothing on TCP; `tcp` a port any cluster user can connect to.
   */
  access: z.optional(
    z.nullable(
      z.object({
        kind: z.enum(['unix-socket', 'tcp']),
        summary: z.string(),
        relay: z.nullable(z.enum(['up', 'starting', 'down']))
      })
    )
  ),
  /** A kernel allocation: how many kernels run in it now (kernels of a profile may share one). */
  kernels: z.optional(z.number()),
  /** The profile's scratch workspace on the node, when it has one. */
  workspace: z.optional(z.nullable(workspaceStatusSchema))
});
export type Session = z.infer<typeof sessionSchema>;

/** `POST /api/sessions/preview`: what `POST /api/sessions` would submit. */
export const sessionPreviewSchema = z.object({ script: z.string(), argv: z.array(z.string()) });
export type SessionPreview = z.infer<typeof sessionPreviewSchema>;

/** Profile values a request may override; the companion checks each against Slurm's grammar. */
export interface SessionOverrides {
  partition?: string;
  time?: string;
  cpus?: number;
  mem?: string;
  gres?: string;
  account?: string;
  qos?: string;
  constraint?: string;
  nodelist?: string;
  /** Slurm mail events, e.g. `END,FAIL`; the address defaults to the cluster account. */
  mailType?: string;
  mailUser?: string;
  /** More sbatch options by long name (`{"exclusive": ""}`), over the profile's `sbatch`. */
  sbatch?: Record<string, string>;
}

/** `POST /api/sessions` and `/api/sessions/preview`. The companion's zod schema satisfies this type. */
export interface CreateSessionBody {
  /** `alloc`: hold a node with no server on it (`hpclab alloc`). */
  kind: 'lab' | 'alloc';
  profile: string;
  cluster?: string;
  overrides?: SessionOverrides;
  idempotencyKey?: string;
}
