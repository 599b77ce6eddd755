import type { Duplex } from 'node:stream';
import type { ClusterPoller } from '../scheduler/poller';
import type { Scheduler, SubmitOptions } from '../scheduler/types';
import type { Transport } from '../transport/types';
import type { WorkspaceStatus } from '../workspace/types';

/** How sessions reach a cluster's shared adapters (built once, in app.ts). */
export type ClusterAccess = (cluster: string) => { transport: Transport; scheduler: Scheduler; poller: ClusterPoller };

/**
 * Profile values a request may override for one session (sbatch's, with the profile's `cpus`),
 * mail as named fields, and more sbatch options (`{"exclusive": ""}`) over the profile's map.
 */
export type SessionOverrides = Pick<
  SubmitOptions,
  'partition' | 'time' | 'mem' | 'gres' | 'account' | 'qos' | 'constraint' | 'nodelist' | 'mailType' | 'mailUser'
> & { cpus?: number; sbatch?: Record<string, string> };

export interface CreateSessionRequest {
  /** `kernel`: an allocation that holds a node for remote kernels (made by the kernel service, not the API). */
  kind: SessionKind;
  /** A kernel allocation's stable id (from its launcher), so a restarted kernel finds it again. */
  id?: string;
  profile: string;
  /** Defaults to the profile's cluster. */
  cluster?: string;
  overrides?: SessionOverrides;
  /** The same key twice returns the first session instead of submitting a second job. */
  idempotencyKey?: string;
}

/** `alloc`: a node held with no server on it (`hpclab alloc`), for `hpclab shell`, kernels and runs. */
export type SessionKind = 'lab' | 'kernel' | 'alloc';

/** pending → starting → running → ending → ended | failed (see state-machine.ts). */
export type SessionState = 'pending' | 'starting' | 'running' | 'ending' | 'ended' | 'failed';

/** `idle`: stopped by the companion after the profile's `idleMinutes` without activity. */
export type EndReason =
  'completed' | 'cancelled' | 'timeout' | 'node-failure' | 'preempted' | 'out-of-memory' | 'failed' | 'idle';

/**
 * Where the node's server listens. Never from a request. `socketDir`: a unix socket (`socket`,
 * '' for a kernel allocation) in the job's private directory on its node, reached only through
 * a relay step in the job; `host`/`port`: a TCP port on the node, open to every cluster user
 * (clusters set to `nodeChannels: "tcp"`, and sessions started before relays existed).
 */
export type SessionTarget =
  { host: string; port: number } | { socketPath: string } | { socketDir: string; socket: string; relayPython: string };

/** How a session's node server or kernels are reached, for an admin's audit. */
export interface SessionAccess {
  kind: 'unix-socket' | 'tcp';
  /** Words: where, with what mode, and who else could connect. */
  summary: string;
  /** The relay step's state, for unix sockets; null for TCP. */
  relay: 'up' | 'starting' | 'down' | null;
}

/** What users and the UI see of a session. Secrets (the node server's token) are not here. */
export interface SessionInfo {
  id: string;
  kind: SessionKind;
  cluster: string;
  profile: string;
  state: SessionState;
  jobId: string | null;
  /** While pending: Slurm's reason, place in the user's queue view, estimated start (ISO). */
  pending: { reason: string | null; position: number | null; estimatedStart: string | null } | null;
  node: string | null;
  createdAt: string;
  startedAt: string | null;
  /** Walltime end (ISO); null until running or when unlimited. */
  endsAt: string | null;
  endedAt: string | null;
  endReason: EndReason | null;
  /** Human words for the end or failure, with the log tail for failures. */
  message: string | null;
  /** Where the proxied server answers: `/hpclab/node/<id>/`. */
  baseUrl: string;
  /** How the node is reached, once running; null before. */
  access?: SessionAccess | null;
  /** A kernel allocation: how many kernels run in it now (kernels of a profile may share one). */
  kernels?: number;
  /** The profile's scratch workspace on the node, when it has one (see workspace/). */
  workspace?: WorkspaceStatus | null;
}

/** What the proxy needs of a live session: a way to open a stream to it, and its token. */
export interface ProxyTarget {
  sessionId: string;
  /** Opens a new byte stream to the node server (ssh forwardOut, or a direct socket). */
  connect(): Promise<Duplex>;
  /** The node server's own token; the proxy adds it, the user never sees it. */
  token: string;
}

/**
 * How the proxy finds a session. `undefined`: unknown id (404). `{ live: false }`: known but
 * not reachable now (503, with words for the page).
 */
export type ProxyLookup = (
  sessionId: string
) => ProxyTarget | { live: false; state: SessionState; message: string } | undefined;

/** Events the companion publishes (SSE) for the UI and the CLI. */
export type SessionEvent =
  | { type: 'session'; session: SessionInfo }
  | { type: 'walltime-warning'; sessionId: string; minutesLeft: number; endsAt: string }
  /** Idle for a while: the companion stops the session at `stopsAt` (ISO) unless it is used. */
  | { type: 'idle-warning'; sessionId: string; minutesLeft: number; stopsAt: string; idleMinutes: number };
