import type { Logger } from '../log';
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
}

/**
 * What each live session waits for between squeue answers: its server coming up (the
 * rendezvous file, which makes it running; squeue alone only says 'starting'), then its walltime
 * warnings. One start watcher and one set of warnings per session, until it ends.
 */
export class SessionWatches {
  private readonly watchers = new Map<string, StartWatcher>();
  private readonly warnings = new Map<string, WalltimeWarnings>();

  constructor(private readonly options: SessionWatchesOptions) {}

  watchStart(record: SessionRecord): void {
    const { info } = record;
    const { clusters, registry, logger } = this.options;
    if (this.watchers.has(info.id)) return;
    const watcher = new StartWatcher(
      {
        sessionId: info.id,
        kind: info.kind,
        sessionDir: record.sessionDir,
        baseUrl: info.baseUrl,
        transport: clusters(info.cluster).transport,
        open: target => this.options.open(record, target)
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

  /** A session that ended: no server left to wait for, no walltime left to warn about. */
  forget(id: string): void {
    this.watchers.get(id)?.stop();
    this.watchers.delete(id);
    this.warnings.get(id)?.cancel();
    this.warnings.delete(id);
  }

  close(): void {
    this.watchers.forEach(w => w.stop());
    this.warnings.forEach(w => w.cancel());
  }
}
