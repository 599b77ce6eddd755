import type { Duplex } from 'node:stream';
import type { HpclabConfig } from '../config/schema';
import { RepeatedFailures, stderrLogger, type Logger } from '../log';
import { describeFailure } from '../scheduler/errors';
import { SessionCreator } from './creator';
import { ClusterHomes } from './homes';
import { readJobLogFrom, readJobLogTail } from './job-log';
import { describeAccess } from './access';
import { idleMinuteMs, profileIdleMinutes } from './idle-policy';
import { NodeChannels, type NodeRef } from './node-channels';
import { isFinal } from './reconcile';
import { SessionRegistry } from './registry';
import { SessionWatches } from './session-watches';
import { SqueueFollower } from './squeue-follower';
import type { SessionRecord, SessionStore } from './store';
import { SessionWorkspaces } from './workspaces';
import { SessionNotRunningError } from './errors';
import type { WorkspaceBackup } from '../workspace/types';
import { SchedulerError } from '../scheduler/errors';
import type {
  ClusterAccess,
  CreateSessionRequest,
  EndReason,
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
  /** Milliseconds per idle minute; default `idleMinuteMs()` (60 000 unless a test shortens it). */
  idleMinuteMs?: number;
}

/** Why the companion itself stopped a session: it ends with this reason, not `cancelled`. */
export interface StopReason {
  reason: Extract<EndReason, 'idle'>;
  /** Words for the session's `message`. */
  message: string;
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
  /** Milliseconds per idle minute (60 000 unless a test shortens it): for the kernel service's idle release too. */
  readonly idleMinuteMs: number;
  /** Sessions this companion stopped for a reason of its own, until they end. */
  private readonly stopReasons = new Map<string, StopReason>();
  /** Scratch workspaces of sessions whose profile has one: backups, restores, their timers. */
  private readonly workspaces: SessionWorkspaces;
  /** Kernels in each kernel allocation, as the kernels layer last said. */
  private readonly kernelCounts = new Map<string, number>();
  private readonly logger: Logger;

  constructor(private readonly options: SessionManagerOptions) {
    const logger = options.logger ?? stderrLogger('sessions');
    this.logger = logger;
    this.idleMinuteMs = options.idleMinuteMs ?? idleMinuteMs();
    const channels = options.channels ?? new NodeChannels({ logger: logger.child('relay') });
    this.channels = channels;
    // The reconcile loop and state writes repeat: each failure is logged when it starts or changes, and its end.
    const failures = new RepeatedFailures(logger);
    const { config, clusters, store, warnMinutes, startCheckMs } = options;
    const registry = new SessionRegistry(store, failures);
    const homes = new ClusterHomes(clusters);
    const open = (record: SessionRecord, target: SessionTarget) => this.openTarget(record, target);
    const watches = new SessionWatches({
      clusters,
      registry,
      logger,
      warnMinutes,
      startCheckMs,
      open,
      idleMinutes: record => {
        const profile = config.profiles?.[record.info.profile];
        // A profile deleted since: its limit is unknown, and stopping a session on a guess is worse than holding it.
        return profile ? profileIdleMinutes(profile) : 0;
      },
      idleMinuteMs: this.idleMinuteMs,
      warnIdle: (id, minutesLeft, stopsAt, idleMinutes) => this.warnIdle(id, minutesLeft, stopsAt, idleMinutes),
      // Built below; called only once sessions start, by then it is there.
      workspaceProgress: record =>
        this.workspaces.config(record) ? text => this.workspaces.startProgress(record, text) : undefined,
      stopIdle: async (id, idleMinutes) => {
        logger.info(`session ${id}: idle for ${idleMinutes} min; stopping it`);
        await this.stop(id, { reason: 'idle', message: `Stopped after ${idleMinutes} idle minutes.` });
      }
    });
    // Subscribed before anyone else, so it runs first at each commit (the registry tells
    // listeners in order, then saves): a session the companion stopped for a reason of its own
    // ends with that reason, which squeue alone would report as 'cancelled', before listeners
    // or the store see it. A session that ended takes its relay with it.
    registry.subscribe(event => {
      if (event.type !== 'session' || !isFinal(event.session.state)) return;
      const info = event.session;
      const wanted = this.stopReasons.get(info.id);
      this.stopReasons.delete(info.id);
      if (wanted && info.endReason === 'cancelled') {
        info.endReason = wanted.reason;
        info.message = wanted.message;
      }
      channels.forget(info.id);
    });
    const workspaces = new SessionWorkspaces({
      config,
      clusters,
      registry,
      logger: logger.child('workspace'),
      minuteMs: this.idleMinuteMs
    });
    this.workspaces = workspaces;
    // Workspaces follow their sessions: a timer while running, a backup at the first warning.
    registry.subscribe(event => {
      if (event.type === 'walltime-warning') workspaces.walltimeWarning(event.sessionId);
      if (event.type !== 'session') return;
      const record = registry.records.get(event.session.id);
      if (isFinal(event.session.state)) workspaces.ended(event.session.id);
      else if (record && event.session.state === 'running') workspaces.running(record);
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
      if (record.info.state === 'running') {
        this.workspaces.running(record);
        this.watches.scheduleWarnings(record);
        this.watches.watchIdle(record);
      } else this.watches.watchStart(record);
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

  /**
   * Cancels the session's job. `why`: the companion stops it for a reason of its own (idleness),
   * which becomes its end reason and message; the user's stop ends as `cancelled`.
   */
  async stop(id: string, why?: StopReason): Promise<SessionInfo> {
    const record = this.registry.require(id);
    if (isFinal(record.info.state)) return record.info;
    if (why) this.stopReasons.set(id, why);
    else this.stopReasons.delete(id);
    this.watches.unwatchIdle(id);
    // The workspace's last backup, before the job (and the node's scratch with it) goes.
    await this.workspaces.beforeStop(record);
    record.stopRequested = true;
    const { scheduler, poller } = this.options.clusters(record.info.cluster);
    if (record.info.jobId) await scheduler.cancel(record.info.jobId);
    record.info.state = 'ending';
    await this.registry.commit(record);
    poller.jobs.invalidate();
    return record.info;
  }

  /**
   * Tells the user (a live event the UI shows) and the log that an idle session stops in
   * `minutesLeft` minutes unless it is used. For Labs (session-watches) and kernel allocations
   * (the kernel service, which also tells the kernel's launcher).
   */
  warnIdle(id: string, minutesLeft: number, stopsAt: number, idleMinutes: number): void {
    const at = new Date(stopsAt).toISOString();
    this.logger.info(`session ${id}: idle; stops in ${minutesLeft} min (at ${at}) unless it is used`);
    this.registry.emit({ type: 'idle-warning', sessionId: id, minutesLeft, stopsAt: at, idleMinutes });
  }

  /** Backs up a running session's workspace now (see workspaces.ts). */
  backupWorkspace(id: string): Promise<WorkspaceBackup> {
    return this.workspaces.backup(id);
  }

  /** Restores a backup (default the newest) into a running session's workspace; null when there is none. */
  restoreWorkspace(id: string, name?: string): Promise<WorkspaceBackup | null> {
    return this.workspaces.restore(id, name);
  }

  /** A session's workspace backups on shared storage, newest first. */
  listWorkspaceBackups(id: string): Promise<WorkspaceBackup[]> {
    return this.workspaces.list(id);
  }

  /**
   * Asks Slurm for `minutes` more walltime. Most sites let only admins raise a limit: then
   * `extended` is false and the message says so plainly, with what to do instead.
   */
  async extend(id: string, minutes: number): Promise<{ extended: boolean; endsAt: string | null; message: string }> {
    const record = this.registry.require(id);
    const { info } = record;
    if (isFinal(info.state) || !info.jobId)
      throw new SessionNotRunningError(`session ${id} is ${info.state}: there is no job to extend`);
    const { scheduler, poller } = this.options.clusters(info.cluster);
    try {
      await scheduler.extendTimeLimit(info.jobId, minutes);
    } catch (err) {
      if (err instanceof SchedulerError && (err.kind === 'permission' || err.kind === 'invalid-request')) {
        const message =
          err.kind === 'permission'
            ? `${info.cluster} does not let users raise a job's time limit (Slurm: ${err.detail ?? err.message}). Save your work, or use "Continue in a new session"; an admin can extend job ${info.jobId}.`
            : `Slurm refused ${minutes} more minutes for job ${info.jobId}: ${err.message}`;
        this.logger.info(`session ${id}: extend by ${minutes} min refused: ${err.detail ?? err.message}`);
        return { extended: false, endsAt: info.endsAt, message };
      }
      throw err;
    }
    // The new end comes with the next squeue answer, which also moves the walltime warnings.
    poller.jobs.invalidate();
    const endsAt = info.endsAt ? new Date(Date.parse(info.endsAt) + minutes * 60_000).toISOString() : null;
    this.logger.info(`session ${id}: time limit of job ${info.jobId} raised by ${minutes} min`);
    return { extended: true, endsAt, message: `Job ${info.jobId} got ${minutes} more minutes.` };
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
    this.workspaces.close();
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
    const kernels = this.kernelCounts.get(record.info.id);
    return {
      ...record.info,
      access: describeAccess(record, this.channels.status(record.info.id)),
      workspace: this.workspaces.view(record),
      ...(kernels !== undefined && record.info.kind === 'kernel' ? { kernels } : {})
    };
  }

  /**
   * How many kernels run in a kernel allocation now (the kernels layer says; kernels of a
   * profile may share one). Shown with the session; a change is a session event for the UI.
   */
  noteKernels(id: string, count: number): void {
    const record = this.registry.records.get(id);
    if (!record || this.kernelCounts.get(id) === count) return;
    this.kernelCounts.set(id, count);
    this.registry.emit({ type: 'session', session: record.info });
  }
}
