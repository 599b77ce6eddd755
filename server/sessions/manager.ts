import type { Duplex } from 'node:stream';
import type { HpclabConfig } from '../config/schema';
import { RepeatedFailures, stderrLogger, type Logger } from '../log';
import { describeFailure } from '../scheduler/errors';
import { SessionCreator } from './creator';
import { ClusterHomes } from './homes';
import { readJobLogFrom, readJobLogTail } from './job-log';
import { describeAccess } from './access';
import { NodeChannels, type NodeRef } from './node-channels';
import { isFinal } from './reconcile';
import { SessionRegistry } from './registry';
import { SessionWatches } from './session-watches';
import { SqueueFollower } from './squeue-follower';
import type { SessionRecord, SessionStore } from './store';
import type {
  ClusterAccess,
  CreateSessionRequest,
  ProxyLookup,
  SessionEvent,
  SessionInfo,
  SessionTarget
} from './types';

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
  /** Streams to jobs' private sockets; default: relays through each cluster's transport. */
  channels?: NodeChannels;
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
  /** The relays into running jobs: a Lab's socket, a kernel allocation's ipc sockets. */
  readonly channels: NodeChannels;

  constructor(private readonly options: SessionManagerOptions) {
    const logger = options.logger ?? stderrLogger('sessions');
    const channels = options.channels ?? new NodeChannels({ logger: logger.child('relay') });
    this.channels = channels;
    // The reconcile loop and state writes repeat: each failure is logged when it starts or changes, and its end.
    const failures = new RepeatedFailures(logger);
    const { config, clusters, store, warnMinutes, startCheckMs } = options;
    const registry = new SessionRegistry(store, failures);
    const homes = new ClusterHomes(clusters);
    const open = (record: SessionRecord, target: SessionTarget) => this.openTarget(record, target);
    const watches = new SessionWatches({ clusters, registry, logger, warnMinutes, startCheckMs, open });
    // A session that ended takes its relay with it (the job's end has stopped the step anyway).
    registry.subscribe(event => {
      if (event.type === 'session' && isFinal(event.session.state)) channels.forget(event.session.id);
    });
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
    return [...this.registry.records.values()]
      .map(r => this.withAccess(r))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  get(id: string): SessionInfo | undefined {
    const record = this.registry.records.get(id);
    return record && this.withAccess(record);
  }

  /** Session events, each session with how it is reached (see `get`). */
  subscribe(listener: (e: SessionEvent) => void): () => void {
    return this.registry.subscribe(event => {
      const record = event.type === 'session' ? this.registry.records.get(event.session.id) : undefined;
      listener(record ? { type: 'session', session: this.withAccess(record) } : event);
    });
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
    return { sessionId: id, token, connect: () => this.openTarget(record, target, { bulk: true }) };
  };

  /**
   * Where a running kernel allocation's kernels bind: `{socketDir}` (ipc sockets there, reached
   * with `openNodeStream`) or `{host}` (TCP ports on the node's address).
   */
  allocationTarget(id: string): { host: string } | { socketDir: string } | undefined {
    const record = this.registry.records.get(id);
    const target = record?.target;
    if (!record || record.info.kind !== 'kernel' || record.info.state !== 'running' || !target) return undefined;
    if ('socketDir' in target) return { socketDir: target.socketDir };
    return 'host' in target ? { host: target.host } : undefined;
  }

  /**
   * A stream to the unix socket `name` in a running session's private directory on its node
   * (a kernel's channel): on the bulk lane where it works, whose latency is a TCP path's, not
   * that of srun's stdio.
   */
  openNodeStream(id: string, name: string): Promise<Duplex> {
    const record = this.registry.require(id);
    const ref = this.nodeRef(record);
    if (!ref) return Promise.reject(new Error(`session ${id} has no private socket directory`));
    return this.channels.openBulk(ref, name);
  }

  /** The session directory on the cluster (absolute), for the layers that put files there. */
  sessionDir(id: string): string {
    return this.registry.require(id).sessionDir;
  }

  close(): void {
    this.watches.close();
    this.follower.close();
    this.channels.close();
  }

  /** `bulk`: the proxy's streams, which may carry megabytes (see NodeChannels.openBulk). */
  private openTarget(record: SessionRecord, target: SessionTarget, options: { bulk?: boolean } = {}): Promise<Duplex> {
    if ('socketDir' in target) {
      const ref = this.nodeRef(record, target);
      if (!ref) return Promise.reject(new Error(`session ${record.info.id} has no job yet`));
      return options.bulk ? this.channels.openBulk(ref, target.socket) : this.channels.open(ref, target.socket);
    }
    return this.options.clusters(record.info.cluster).transport.openStream(target);
  }

  private nodeRef(record: SessionRecord, target = record.target): NodeRef | undefined {
    const { info } = record;
    if (!target || !('socketDir' in target) || !info.jobId) return undefined;
    return {
      key: info.id,
      cluster: info.cluster,
      transport: this.options.clusters(info.cluster).transport,
      jobId: info.jobId,
      socketDir: target.socketDir,
      relayPython: target.relayPython
    };
  }

  private withAccess(record: SessionRecord): SessionInfo {
    return { ...record.info, access: describeAccess(record, this.channels.status(record.info.id)) };
  }
}
