import * as z from 'zod/mini';
import { nullableString } from './common';

export const sessionStateSchema = z.enum(['pending', 'starting', 'running', 'ending', 'ended', 'failed']);
export type SessionState = z.infer<typeof sessionStateSchema>;

/** Why a session ended; an older extension shows `message` for a reason it does not know. */
export const endReasonSchema = z.enum([
  'completed',
  'cancelled',
  'timeout',
  'node-failure',
  'preempted',
  'out-of-memory',
  'failed'
]);
export type EndReason = z.infer<typeof endReasonSchema>;

/** A session as `GET /api/sessions` and the live events show it. Times are ISO 8601. */
export const sessionSchema = z.object({
  id: z.string(),
  kind: z.enum(['lab', 'kernel']),
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
  )
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
  kind: 'lab';
  profile: string;
  cluster?: string;
  overrides?: SessionOverrides;
  idempotencyKey?: string;
}
