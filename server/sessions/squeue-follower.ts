import type { Logger, RepeatedFailures } from '../log';
import type { Snapshot } from '../scheduler/poller';
import type { Job } from '../scheduler/types';
import { StateSaveError } from './errors';
import type { ClusterHomes } from './homes';
import { jobLogTailForEnd, readJobLogTail } from './job-log';
import { isFinal, observe, type Observed } from './reconcile';
import type { SessionRegistry } from './registry';
import type { SessionWatches } from './session-watches';
import type { SessionRecord } from './store';
import type { ClusterAccess } from './types';

export interface SqueueFollowerOptions {
  clusters: ClusterAccess;
  registry: SessionRegistry;
  homes: ClusterHomes;
  watches: SessionWatches;
  logger: Logger;
  /** Shared with the state writes: each repeating failure is logged when it starts or changes, and its end. */
  failures: RepeatedFailures;
}

const JOB_NAME = /^hpclab-([a-z0-9]{6,32})$/;

/**
 * The reconcile loop: every answer of a cluster's one poller moves that cluster's sessions on
 * (queued, started, ended, with the log tail when a job failed) and adopts jobs of ours that the
 * store lost. Slurm is the source of truth; this is the only place its answers change sessions.
 */
export class SqueueFollower {
  /** Clusters whose poller we listen to, each with how to stop listening. */
  private readonly watched = new Map<string, () => void>();

  constructor(private readonly options: SqueueFollowerOptions) {}

  watchCluster(cluster: string): void {
    if (this.watched.has(cluster)) return;
    const { failures } = this.options;
    const { poller } = this.options.clusters(cluster);
    // A session that stops moving must say why in the log: squeue failing, or its answer not applying.
    const failed = (err: unknown) =>
      failures.failed(
        `squeue ${cluster}`,
        `squeue on ${cluster} failed; its sessions do not move until it answers`,
        err
      );
    const listener = (snapshot: Snapshot<Job[]>) => {
      if (snapshot.error) return; // the failure itself came as 'jobs-failed'
      failures.recovered(`squeue ${cluster}`, `squeue on ${cluster} answers again`);
      this.onJobs(cluster, snapshot.data).then(
        () => failures.recovered(`apply ${cluster}`, `sessions on ${cluster} follow squeue again`),
        err => {
          // A state write that failed is logged by SessionRegistry.save().
          if (!(err instanceof StateSaveError))
            failures.failed(
              `apply ${cluster}`,
              `cannot apply squeue's answer on ${cluster}; its sessions do not move`,
              err
            );
        }
      );
    };
    poller.on('jobs', listener);
    poller.on('jobs-failed', failed);
    poller.start();
    this.watched.set(cluster, () => {
      poller.off('jobs', listener);
      poller.off('jobs-failed', failed);
    });
  }

  close(): void {
    this.watched.forEach(unsubscribe => unsubscribe());
    this.watched.clear();
  }

  /** One squeue answer: move every session of this cluster on, and adopt sessions we lost. */
  private async onJobs(cluster: string, jobs: Job[]): Promise<void> {
    const { records } = this.options.registry;
    for (const job of jobs) {
      const id = JOB_NAME.exec(job.name)?.[1];
      if (id && !records.has(id) && !isFinalJob(job)) await this.adopt(cluster, id, job);
    }
    for (const record of records.values()) {
      if (record.info.cluster !== cluster || isFinal(record.info.state) || !record.info.jobId) continue;
      const job = jobs.find(j => j.id === record.info.jobId || j.arrayJobId === record.info.jobId);
      await this.apply(record, observe(record.info, job, record.stopRequested), job);
    }
  }

  private async apply(record: SessionRecord, seen: Observed, job: Job | undefined): Promise<void> {
    const info = record.info;
    const before = JSON.stringify(info);
    if (seen.state === 'pending') {
      // The queue position is a nicety: unknown when Slurm does not say.
      const position = job
        ? await this.options
            .clusters(info.cluster)
            .scheduler.queuePosition(job.id, job.partition)
            .catch(err => {
              this.options.logger.debug(`session ${info.id}: no queue position for job ${job.id}`, err);
              return null;
            })
        : null;
      info.state = 'pending';
      info.pending = { reason: seen.pendingReason ?? null, position, estimatedStart: seen.estimatedStart ?? null };
    } else if (seen.state === 'starting') {
      if (info.state !== 'running') info.state = record.stopRequested ? 'ending' : 'starting';
      info.pending = null;
      info.node = seen.node ?? info.node;
      info.startedAt = seen.startedAt ?? info.startedAt;
      if (seen.endsAt && seen.endsAt !== info.endsAt) {
        info.endsAt = seen.endsAt;
        if (info.state === 'running') this.options.watches.scheduleWarnings(record);
      }
    } else if (seen.state === 'ending') {
      info.state = 'ending';
    } else {
      await this.finish(record, seen);
    }
    if (JSON.stringify(info) !== before) await this.options.registry.commit(record);
  }

  private async finish(record: SessionRecord, seen: Observed): Promise<void> {
    const info = record.info;
    const { clusters, registry, logger } = this.options;
    // The session's log as the API reads it (SessionManager.readLog): looked up at each attempt.
    const readTail = async () => {
      const { sessionDir } = registry.require(info.id);
      return readJobLogTail(clusters(info.cluster).transport, sessionDir, 4000);
    };
    // The log first: readers see the live record, so it must turn failed and explain why at once.
    const tail = seen.state === 'failed' ? await jobLogTailForEnd(readTail, logger, info.id) : '';
    if (isFinal(info.state)) return; // ended meanwhile by another squeue answer
    info.state = seen.state;
    info.endReason = seen.endReason ?? 'failed';
    info.endedAt = new Date().toISOString();
    info.pending = null;
    info.message = seen.message ?? null;
    if (tail.trim())
      info.message = `${info.message ?? 'The session failed.'}\n--- end of the job log ---\n${tail.trimEnd()}`;
    record.target = null;
    record.token = null;
    logger.info(`session ${info.id}: job ${info.jobId} ${info.state} (${info.endReason})`);
    this.options.watches.forget(info.id);
  }

  /** A job named hpclab-<id> that the store does not know (lost state): track it again. */
  private async adopt(cluster: string, id: string, job: Job): Promise<void> {
    const [, kind = 'lab', profile = ''] = (job.comment ?? '').split(':').slice(1);
    const home = await this.options.homes.get(cluster);
    const record: SessionRecord = {
      info: {
        id,
        kind: kind === 'kernel' || kind === 'alloc' ? kind : 'lab',
        cluster,
        profile,
        state: 'pending',
        jobId: job.id,
        pending: null,
        node: null,
        createdAt: (job.submitTime ?? new Date()).toISOString(),
        startedAt: null,
        endsAt: null,
        endedAt: null,
        endReason: null,
        message: null,
        baseUrl: `/hpclab/node/${id}/`
      },
      sessionDir: `${home}/.hpclab/sessions/${id}`,
      target: null,
      token: null,
      stopRequested: false,
      idempotencyKey: null
    };
    this.options.registry.records.set(id, record);
    this.options.logger.info(`session ${id}: adopted job ${job.id} on ${cluster}, which the state file did not know`);
    this.options.watches.watchStart(record);
  }
}

function isFinalJob(job: Job): boolean {
  return !['PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING', 'SUSPENDED'].includes(job.state);
}
