import type { HpclabConfig } from '../config/schema';
import { RepeatedFailures, stderrLogger, type Logger } from '../log';
import { describeFailure } from '../scheduler/errors';
import { SessionCreator } from './creator';
import { ClusterHomes } from './homes';
import { readJobLogFrom, readJobLogTail } from './job-log';
import { isFinal } from './reconcile';
import { SessionRegistry } from './registry';
import { SessionWatches } from './session-watches';
import { SqueueFollower } from './squeue-follower';
import type { SessionStore } from './store';
import type { ClusterAccess, CreateSessionRequest, ProxyLookup, SessionEvent, SessionInfo } from './types';

export interface SessionManagerOptions {
  config: HpclabConfig;
  clusters: ClusterAccess;
  store: SessionStore;
  /** Minutes before walltime at which to warn (default 10 and 2). */
  warnMinutes?: number[];
  /** How often a starting session's rendezvous file is checked (default 500 ms). */
  startCheckMs?: number;
  /** Default: warnings on stderr. */
  logger?: Logger;
}

/**
 * Sessions as Slurm jobs. Slurm is the source of truth: every state change comes from the
 * cluster's one poller (or, for start-up, from the job's rendezvous file), and the job carries
 * the session id in its name and comment, so a restarted companion re-attaches from squeue.
 *
 * The public face of the parts in this folder: the registry (records, listeners, state writes),
 * the creator (new sessions), the squeue follower (the reconcile loop) and the session watches
 * (start-up and walltime warnings). What is left here is what the API and the proxy ask of one
 * session: list, stop, logs, where it is.
 */
export class SessionManager {
  private readonly registry: SessionRegistry;
  private readonly creator: SessionCreator;
  private readonly follower: SqueueFollower;
  private readonly watches: SessionWatches;

  constructor(private readonly options: SessionManagerOptions) {
    const logger = options.logger ?? stderrLogger('sessions');
    // The reconcile loop and state writes repeat: each failure is logged when it starts or changes, and its end.
    const failures = new RepeatedFailures(logger);
    const { config, clusters, store, warnMinutes, startCheckMs } = options;
    const registry = new SessionRegistry(store, failures);
    const homes = new ClusterHomes(clusters);
    const watches = new SessionWatches({ clusters, registry, logger, warnMinutes, startCheckMs });
    const follower = new SqueueFollower({ clusters, registry, homes, watches, logger, failures });
    this.creator = new SessionCreator({ config, clusters, registry, homes, follower, watches, logger });
    this.registry = registry;
    this.follower = follower;
    this.watches = watches;
  }

  /** Loads the store and resumes watching every live session's cluster. */
  async start(): Promise<void> {
    await this.registry.load();
    for (const record of this.registry.records.values()) {
      if (isFinal(record.info.state)) continue;
      this.follower.watchCluster(record.info.cluster);
      if (record.info.state === 'running') this.watches.scheduleWarnings(record);
      else this.watches.watchStart(record);
    }
  }

  list(): SessionInfo[] {
    return [...this.registry.records.values()].map(r => r.info).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  get(id: string): SessionInfo | undefined {
    return this.registry.records.get(id)?.info;
  }

  subscribe(listener: (e: SessionEvent) => void): () => void {
    return this.registry.subscribe(listener);
  }

  /** Submits a session, or returns the one an earlier request with the same id or idempotency key made. */
  create(request: CreateSessionRequest): Promise<SessionInfo> {
    return this.creator.create(request);
  }

  /** The job script and sbatch command a request would submit, without submitting anything. */
  preview(request: CreateSessionRequest): Promise<{ script: string; argv: string[] }> {
    return this.creator.preview(request);
  }

  async stop(id: string): Promise<SessionInfo> {
    const record = this.registry.require(id);
    if (isFinal(record.info.state)) return record.info;
    record.stopRequested = true;
    const { scheduler, poller } = this.options.clusters(record.info.cluster);
    if (record.info.jobId) await scheduler.cancel(record.info.jobId);
    record.info.state = 'ending';
    await this.registry.commit(record);
    poller.jobs.invalidate();
    return record.info;
  }

  async readLog(id: string, { tailBytes }: { tailBytes: number }): Promise<string> {
    const record = this.registry.require(id);
    return readJobLogTail(this.options.clusters(record.info.cluster).transport, record.sessionDir, tailBytes);
  }

  async readLogFrom(id: string, offset: number): Promise<{ text: string; size: number }> {
    const record = this.registry.require(id);
    return readJobLogFrom(this.options.clusters(record.info.cluster).transport, record.sessionDir, offset);
  }

  /** What the proxy may reach: only running sessions this companion created or re-attached. */
  readonly proxyLookup: ProxyLookup = id => {
    const record = this.registry.records.get(id);
    // Kernel allocations have no server to proxy: their kernels are reached through the kernel service.
    if (!record || record.info.kind !== 'lab') return undefined;
    const { info, target, token } = record;
    if (info.state !== 'running' || !target || !token) {
      return { live: false, state: info.state, message: info.message ?? `The session is ${info.state}.` };
    }
    const { transport } = this.options.clusters(info.cluster);
    // The login node cannot be reached: say so at once (the page retries by itself) rather than
    // let the browser wait out the proxy's connect timeout for "not answering".
    const down = transport.linkDown?.();
    if (down)
      return {
        live: false,
        state: 'running',
        message: `${describeFailure(down)}. The session keeps running on its node; this page tries again by itself.`
      };
    return { sessionId: id, token, connect: () => transport.openStream(target) };
  };

  /** Where a running kernel allocation's node is, as the login node reaches it. */
  allocationHost(id: string): string | undefined {
    const record = this.registry.records.get(id);
    if (
      !record ||
      record.info.kind !== 'kernel' ||
      record.info.state !== 'running' ||
      !record.target ||
      !('host' in record.target)
    )
      return undefined;
    return record.target.host;
  }

  /** The session directory on the cluster (absolute), for the layers that put files there. */
  sessionDir(id: string): string {
    return this.registry.require(id).sessionDir;
  }

  close(): void {
    this.watches.close();
    this.follower.close();
  }
}
