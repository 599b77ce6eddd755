import type { Logger } from '../log';
import { getOverStream, LabIdle } from './lab-idle';
import { isFinal } from './reconcile';
import type { SessionRegistry } from './registry';
import { StartWatcher } from './start-watcher';
import type { SessionRecord } from './store';
import type { ClusterAccess, SessionTarget } from './types';
import type { Duplex } from 'node:stream';
import { WalltimeWarnings } from './walltime';

export interface SessionWatchesOptions {
  clusters: ClusterAccess;
  registry: SessionRegistry;
  logger: Logger;
  /** Minutes before walltime at which to warn (default 10 and 2). */
  warnMinutes?: number[];
  /** How often a starting session's rendezvous file is checked (default 500 ms). */
  startCheckMs?: number;
  /** Opens a stream to a session's server (the manager's: relay or transport). */
  open: (record: SessionRecord, target: SessionTarget) => Promise<Duplex>;
  /** A Lab session's idle limit in minutes (its profile's; 0: never stopped for idleness). */
  idleMinutes: (record: SessionRecord) => number;
  /** Milliseconds per idle minute (`idleMinuteMs()`; tests shorten it). */
  idleMinuteMs: number;
  /** Tells the user a Lab stops soon for idleness (the manager's `warnIdle`). */
  warnIdle: (id: string, minutesLeft: number, stopsAt: number, idleMinutes: number) => void;
  /** Stops a Lab that stayed idle, with end reason `idle` (the manager's `stop`). */
  stopIdle: (id: string, idleMinutes: number) => Promise<void>;
  /** For a session with a workspace: what to do with the job's word on its restore while it starts. */
  workspaceProgress?: (record: SessionRecord) => ((text: string) => void) | undefined;
}

/**
 * What each live session waits for between squeue answers: its server coming up (the
 * rendezvous file, which makes it running; squeue alone only says 'starting'), then its walltime
 * warnings and, for a Lab whose profile has an idle limit, its idle stop. One of each per
 * session, until it ends.
 */
export class SessionWatches {
  private readonly watchers = new Map<string, StartWatcher>();
  private readonly warnings = new Map<string, WalltimeWarnings>();
  private readonly idle = new Map<string, LabIdle>();

  constructor(private readonly options: SessionWatchesOptions) {}

  watchStart(record: SessionRecord): void {
    const { info } = record;
    const { clusters, registry, logger } = this.options;
    if (this.watchers.has(info.id)) return;
    const watcher = new StartWatcher(
      {
        sessionId: info.id,
        jobId: info.jobId,
        kind: info.kind,
        sessionDir: record.sessionDir,
        baseUrl: info.baseUrl,
        transport: clusters(info.cluster).transport,
        open: target => this.options.open(record, target),
        onWorkspace: this.options.workspaceProgress?.(record)
      },
      found => {
        this.watchers.delete(info.id);
        if (isFinal(info.state) || record.stopRequested) return;
        record.target = found.target;
        record.token = found.token;
        info.state = 'running';
        info.pending = null;
        info.node = found.node || info.node;
        info.message = null;
        logger.info(`session ${info.id}: running on ${info.node ?? 'its node'}`);
        this.scheduleWarnings(record);
        this.watchIdle(record);
        registry.commit(record).catch(() => undefined); // registry.save() logged a failed write; the state stays in memory for the next one
        // The poller fills in start and end times: refresh now (no sooner than its floor), not at the next tick.
        const { poller } = clusters(info.cluster);
        poller.jobs.get(0).catch(() => undefined); // a failed squeue reaches the log through 'jobs-failed'
      },
      this.options.startCheckMs ?? 500,
      message => {
        // Unsafe server: stop the job rather than leave it open on the node.
        record.stopRequested = true;
        info.message = message;
        logger.warn(`session ${info.id}: cancelling job ${info.jobId}: ${message}`);
        const jobId = info.jobId;
        if (jobId)
          clusters(info.cluster)
            .scheduler.cancel(jobId)
            .catch(err =>
              logger.error(
                `session ${info.id}: cannot cancel job ${jobId}, whose server is unsafe: cancel it with scancel ${jobId}`,
                err
              )
            );
        registry.commit(record).catch(() => undefined); // registry.save() logged a failed write; the state stays in memory for the next one
      }
    );
    this.watchers.set(info.id, watcher);
    watcher.start();
  }

  scheduleWarnings(record: SessionRecord): void {
    const { info } = record;
    if (!info.endsAt) return;
    let warnings = this.warnings.get(info.id);
    if (!warnings) {
      warnings = new WalltimeWarnings(this.options.warnMinutes ?? [10, 2], minutesLeft =>
        this.options.registry.emit({
          type: 'walltime-warning',
          sessionId: info.id,
          minutesLeft,
          endsAt: info.endsAt ?? ''
        })
      );
      this.warnings.set(info.id, warnings);
    }
    warnings.schedule(new Date(info.endsAt));
  }

  /**
   * A running Lab's idle stop, when its profile has an idle limit: asks its server about its
   * activity through the session's own stream, with its token. Kernel allocations are the kernel
   * service's to watch (their kernels' iopub, kernels/kernel-idle.ts).
   */
  watchIdle(record: SessionRecord): void {
    const { info } = record;
    const { logger } = this.options;
    if (info.kind !== 'lab' || this.idle.has(info.id)) return;
    const idleMinutes = this.options.idleMinutes(record);
    if (idleMinutes <= 0) return;
    const watch = new LabIdle({
      sessionId: info.id,
      idleMinutes,
      minuteMs: this.options.idleMinuteMs,
      logger,
      get: async path => {
        const { target, token } = record;
        if (info.state !== 'running' || !target || !token) throw new Error(`the session is ${info.state}`);
        return getOverStream(await this.options.open(record, target), `${info.baseUrl}${path}`, token);
      },
      warn: (minutesLeft, stopsAt) => this.options.warnIdle(info.id, minutesLeft, stopsAt, idleMinutes),
      release: () => this.options.stopIdle(info.id, idleMinutes)
    });
    this.idle.set(info.id, watch);
    watch.start();
  }

  /** A Lab being stopped (by the user, or for idleness): nothing left to decide about its idleness. */
  unwatchIdle(id: string): void {
    this.idle.get(id)?.stop();
    this.idle.delete(id);
  }

  /** A session that ended: no server left to wait for, no walltime left to warn about, nothing to watch. */
  forget(id: string): void {
    this.watchers.get(id)?.stop();
    this.watchers.delete(id);
    this.warnings.get(id)?.cancel();
    this.warnings.delete(id);
    this.unwatchIdle(id);
  }

  close(): void {
    this.watchers.forEach(w => w.stop());
    this.warnings.forEach(w => w.cancel());
    this.idle.forEach(w => w.stop());
  }
}
