import { randomBytes } from 'node:crypto';
import { getProfile } from '../config/load';
import type { HpclabConfig } from '../config/schema';
import type { Logger } from '../log';
import { SchedulerError } from '../scheduler/errors';
import { submitArgv } from '../scheduler/slurm/argv';
import type { ClusterHomes } from './homes';
import { planSubmission } from './plan';
import { isFinal } from './reconcile';
import type { SessionRegistry } from './registry';
import type { SessionWatches } from './session-watches';
import type { SqueueFollower } from './squeue-follower';
import type { SessionRecord } from './store';
import type { ClusterAccess, CreateSessionRequest, SessionInfo } from './types';

export interface SessionCreatorOptions {
  config: HpclabConfig;
  clusters: ClusterAccess;
  registry: SessionRegistry;
  homes: ClusterHomes;
  /** A submitted session is followed from then on: its cluster's squeue answers, its start. */
  follower: SqueueFollower;
  watches: SessionWatches;
  logger: Logger;
}

const SESSION_ID = /^[a-z0-9]{6,32}$/;

/**
 * New sessions: plans the job, saves the session before anything runs on the cluster, submits,
 * and hands the session to the squeue loop and the start watch. Never leaves a job submitted that
 * the companion does not remember.
 */
export class SessionCreator {
  /** Creations under way, by idempotency key. */
  private readonly creating = new Map<string, Promise<SessionInfo>>();

  constructor(private readonly options: SessionCreatorOptions) {}

  async create(request: CreateSessionRequest): Promise<SessionInfo> {
    const key = request.idempotencyKey;
    if (!key) return this.createNew(request);
    const same = [...this.options.registry.records.values()].find(r => r.idempotencyKey === key);
    if (same) return same.info;
    // The same key twice at once (a double click, a retry racing the first try): one job, one answer.
    const inflight = this.creating.get(key);
    if (inflight) return inflight;
    const made = this.createNew(request).finally(() => this.creating.delete(key));
    this.creating.set(key, made);
    return made;
  }

  /** The job script and sbatch command a request would submit, without submitting anything. */
  async preview(request: CreateSessionRequest): Promise<{ script: string; argv: string[] }> {
    const { script, options } = await this.plan(request, 'preview0');
    return { script, argv: submitArgv(options) };
  }

  private async createNew(request: CreateSessionRequest): Promise<SessionInfo> {
    const { registry, logger } = this.options;
    const { records } = registry;
    if (request.id !== undefined) {
      if (!SESSION_ID.test(request.id))
        throw new TypeError(`session id must be 6-32 lower-case letters and digits: ${JSON.stringify(request.id)}`);
      const live = records.get(request.id);
      if (live && !isFinal(live.info.state)) {
        if (live.info.state !== 'ending' && !live.stopRequested) return live.info;
        // Its job is going (a kernel restarted right after an idle release): handing back the
        // ending session would leave the new kernel waiting on a job about to end. Wait for it.
        await this.untilFinal(live);
      }
    }
    const id = request.id ?? randomBytes(8).toString('hex').slice(0, 12);
    const { cluster, sessionDir, baseUrl, options, script } = await this.plan(request, id);
    const { transport, scheduler, poller } = this.options.clusters(cluster);

    const now = new Date().toISOString();
    const record: SessionRecord = {
      info: {
        id,
        kind: request.kind,
        cluster,
        profile: request.profile,
        state: 'pending',
        jobId: null,
        pending: { reason: 'Submitting', position: null, estimatedStart: null },
        node: null,
        createdAt: now,
        startedAt: null,
        endsAt: null,
        endedAt: null,
        endReason: null,
        message: null,
        baseUrl
      },
      sessionDir,
      target: null,
      token: null,
      stopRequested: false,
      idempotencyKey: request.idempotencyKey ?? null
    };
    // The disk must take the state before anything runs: a session the companion cannot
    // remember would be a job nobody tracks. The write keeps the previous state whole if it fails.
    await registry.save();
    records.set(id, record);
    try {
      const made = await transport.exec(['sh', '-c', 'umask 077 && mkdir -p "$1"', 'sh', sessionDir]);
      if (made.code !== 0)
        throw new SchedulerError('failed', `cannot create ${sessionDir} on ${cluster}: ${made.stderr.trim()}`);
      record.info.jobId = await scheduler.submit({ script, options });
    } catch (err) {
      records.delete(id);
      throw err;
    }
    const jobId = record.info.jobId;
    try {
      await registry.commit(record);
    } catch (err) {
      // Submitted but not saved: cancel rather than leave a job only this process knows about.
      records.delete(id);
      await scheduler.cancel(jobId).then(
        () => logger.warn(`session ${id}: cancelled job ${jobId} on ${cluster}, submitted but not saved`),
        cancelErr =>
          logger.error(
            `session ${id}: job ${jobId} on ${cluster} runs untracked (submitted, not saved, and not cancelled): cancel it with scancel ${jobId}`,
            cancelErr
          )
      );
      throw err;
    }
    logger.info(`session ${id}: submitted ${request.kind} job ${jobId} on ${cluster} (profile ${request.profile})`);
    poller.jobs.invalidate();
    this.options.follower.watchCluster(cluster);
    this.options.watches.watchStart(record);
    return record.info;
  }

  /** Resolves once `record` has ended (squeue says so); rejects after `timeoutMs`. */
  private untilFinal(record: SessionRecord, timeoutMs = 120_000): Promise<void> {
    const { registry, logger } = this.options;
    const id = record.info.id;
    if (isFinal(record.info.state)) return Promise.resolve();
    logger.info(`session ${id}: waiting for its ending job ${record.info.jobId ?? ''} before submitting again`);
    this.options.clusters(record.info.cluster).poller.jobs.invalidate();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        unsubscribe();
        reject(
          new Error(
            `session ${id}'s previous job ${record.info.jobId ?? ''} has not ended after ${timeoutMs / 1000} s; try again`
          )
        );
      }, timeoutMs);
      const unsubscribe = registry.subscribe(event => {
        if (event.type !== 'session' || event.session.id !== id || !isFinal(event.session.state)) return;
        clearTimeout(timer);
        unsubscribe();
        resolve();
      });
    });
  }

  /** What a request submits: checked sbatch options and the rendered job script. Runs nothing. */
  private async plan(request: CreateSessionRequest, id: string) {
    const profile = getProfile(this.options.config, request.profile);
    const cluster = request.cluster ?? profile.cluster;
    const nodeChannels = this.options.config.clusters[cluster]?.nodeChannels;
    return { cluster, ...planSubmission(request, id, profile, await this.options.homes.get(cluster), nodeChannels) };
  }
}
