import { randomBytes } from 'node:crypto';
import { getProfile } from '../config/load';
import type { HpclabConfig } from '../config/schema';
import { RepeatedFailures, stderrLogger, type Logger } from '../log';
import { describeFailure, SchedulerError } from '../scheduler/errors';
import type { Snapshot } from '../scheduler/poller';
import type { Job } from '../scheduler/types';
import { submitArgv } from '../scheduler/slurm/argv';
import { jobLogTailForEnd, readJobLogFrom, readJobLogTail } from './job-log';
import { planSubmission } from './plan';
import { SessionNotFoundError, StateSaveError } from './errors';
import { isFinal, observe, type Observed } from './reconcile';
import { StartWatcher } from './start-watcher';
import type { SessionRecord, SessionStore } from './store';
import type { ClusterAccess, CreateSessionRequest, ProxyLookup, SessionEvent, SessionInfo } from './types';
import { WalltimeWarnings } from './walltime';

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

const JOB_NAME = /^hpclab-([a-z0-9]{6,32})$/;
const SESSION_ID = /^[a-z0-9]{6,32}$/;

/**
 * Sessions as Slurm jobs. Slurm is the source of truth: every state change comes from the
 * cluster's one poller (or, for start-up, from the job's rendezvous file), and the job carries
 * the session id in its name and comment, so a restarted companion re-attaches from squeue.
 */
export class SessionManager {
  private readonly records = new Map<string, SessionRecord>();
  /** Creations under way, by idempotency key. */
  private readonly creating = new Map<string, Promise<SessionInfo>>();
  private readonly listeners = new Set<(e: SessionEvent) => void>();
  private readonly watchers = new Map<string, StartWatcher>();
  private readonly warnings = new Map<string, WalltimeWarnings>();
  private readonly watched = new Map<string, () => void>();
  private readonly homes = new Map<string, Promise<string>>();
  private readonly logger: Logger;
  /** The reconcile loop and state writes repeat: each failure is logged when it starts or changes, and its end. */
  private readonly failures: RepeatedFailures;

  constructor(private readonly options: SessionManagerOptions) {
    this.logger = options.logger ?? stderrLogger('sessions');
    this.failures = new RepeatedFailures(this.logger);
  }

  /** Loads the store and resumes watching every live session's cluster. */
  async start(): Promise<void> {
    for (const record of await this.options.store.load()) this.records.set(record.info.id, record);
    for (const record of this.records.values()) {
      if (isFinal(record.info.state)) continue;
      this.watchCluster(record.info.cluster);
      if (record.info.state === 'running') this.scheduleWarnings(record);
      else this.watchStart(record);
    }
  }

  list(): SessionInfo[] {
    return [...this.records.values()].map(r => r.info).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  get(id: string): SessionInfo | undefined {
    return this.records.get(id)?.info;
  }

  subscribe(listener: (e: SessionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async create(request: CreateSessionRequest): Promise<SessionInfo> {
    const key = request.idempotencyKey;
    if (!key) return this.createNew(request);
    const same = [...this.records.values()].find(r => r.idempotencyKey === key);
    if (same) return same.info;
    // The same key twice at once (a double click, a retry racing the first try): one job, one answer.
    const inflight = this.creating.get(key);
    if (inflight) return inflight;
    const made = this.createNew(request).finally(() => this.creating.delete(key));
    this.creating.set(key, made);
    return made;
  }

  private async createNew(request: CreateSessionRequest): Promise<SessionInfo> {
    if (request.id !== undefined) {
      if (!SESSION_ID.test(request.id))
        throw new TypeError(`session id must be 6-32 lower-case letters and digits: ${JSON.stringify(request.id)}`);
      const live = this.records.get(request.id);
      if (live && !isFinal(live.info.state)) return live.info;
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
    await this.save();
    this.records.set(id, record);
    try {
      const made = await transport.exec(['sh', '-c', 'umask 077 && mkdir -p "$1"', 'sh', sessionDir]);
      if (made.code !== 0)
        throw new SchedulerError('failed', `cannot create ${sessionDir} on ${cluster}: ${made.stderr.trim()}`);
      record.info.jobId = await scheduler.submit({ script, options });
    } catch (err) {
      this.records.delete(id);
      throw err;
    }
    const jobId = record.info.jobId;
    try {
      await this.commit(record);
    } catch (err) {
      // Submitted but not saved: cancel rather than leave a job only this process knows about.
      this.records.delete(id);
      await scheduler.cancel(jobId).then(
        () => this.logger.warn(`session ${id}: cancelled job ${jobId} on ${cluster}, submitted but not saved`),
        cancelErr =>
          this.logger.error(
            `session ${id}: job ${jobId} on ${cluster} runs untracked (submitted, not saved, and not cancelled): cancel it with scancel ${jobId}`,
            cancelErr
          )
      );
      throw err;
    }
    this.logger.info(
      `session ${id}: submitted ${request.kind} job ${jobId} on ${cluster} (profile ${request.profile})`
    );
    poller.jobs.invalidate();
    this.watchCluster(cluster);
    this.watchStart(record);
    return record.info;
  }

  /** The job script and sbatch command a request would submit, without submitting anything. */
  async preview(request: CreateSessionRequest): Promise<{ script: string; argv: string[] }> {
    const { script, options } = await this.plan(request, 'preview0');
    return { script, argv: submitArgv(options) };
  }

  /** What a request submits: checked sbatch options and the rendered job script. Runs nothing. */
  private async plan(request: CreateSessionRequest, id: string) {
    const profile = getProfile(this.options.config, request.profile);
    const cluster = request.cluster ?? profile.cluster;
    return { cluster, ...planSubmission(request, id, profile, await this.home(cluster)) };
  }

  async stop(id: string): Promise<SessionInfo> {
    const record = this.require(id);
    if (isFinal(record.info.state)) return record.info;
    record.stopRequested = true;
    const { scheduler, poller } = this.options.clusters(record.info.cluster);
    if (record.info.jobId) await scheduler.cancel(record.info.jobId);
    record.info.state = 'ending';
    await this.commit(record);
    poller.jobs.invalidate();
    return record.info;
  }

  async readLog(id: string, { tailBytes }: { tailBytes: number }): Promise<string> {
    const record = this.require(id);
    return readJobLogTail(this.options.clusters(record.info.cluster).transport, record.sessionDir, tailBytes);
  }

  async readLogFrom(id: string, offset: number): Promise<{ text: string; size: number }> {
    const record = this.require(id);
    return readJobLogFrom(this.options.clusters(record.info.cluster).transport, record.sessionDir, offset);
  }

  /** What the proxy may reach: only running sessions this companion created or re-attached. */
  readonly proxyLookup: ProxyLookup = id => {
    const record = this.records.get(id);
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
    const record = this.records.get(id);
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
    return this.require(id).sessionDir;
  }

  close(): void {
    this.watchers.forEach(w => w.stop());
    this.warnings.forEach(w => w.cancel());
    this.watched.forEach(unsubscribe => unsubscribe());
    this.watched.clear();
  }

  private require(id: string): SessionRecord {
    const record = this.records.get(id);
    if (!record) throw new SessionNotFoundError(id);
    return record;
  }

  /** The user's home on a cluster: session directories must be absolute for sbatch. */
  private home(cluster: string): Promise<string> {
    let home = this.homes.get(cluster);
    if (!home) {
      home = this.options
        .clusters(cluster)
        .transport.exec(['sh', '-c', 'printf %s "$HOME"'])
        .then(r => {
          if (r.code !== 0 || !r.stdout.startsWith('/'))
            throw new SchedulerError('failed', `cannot find the home directory on ${cluster}`);
          return r.stdout;
        });
      home.catch(() => this.homes.delete(cluster)); // not kept, so the next caller asks again; this one's callers get the error
      this.homes.set(cluster, home);
    }
    return home;
  }

  private watchCluster(cluster: string): void {
    if (this.watched.has(cluster)) return;
    const { poller } = this.options.clusters(cluster);
    // A session that stops moving must say why in the log: squeue failing, or its answer not applying.
    const failed = (err: unknown) =>
      this.failures.failed(
        `squeue ${cluster}`,
        `squeue on ${cluster} failed; its sessions do not move until it answers`,
        err
      );
    const listener = (snapshot: Snapshot<Job[]>) => {
      if (snapshot.error) return; // the failure itself came as 'jobs-failed'
      this.failures.recovered(`squeue ${cluster}`, `squeue on ${cluster} answers again`);
      this.onJobs(cluster, snapshot.data).then(
        () => this.failures.recovered(`apply ${cluster}`, `sessions on ${cluster} follow squeue again`),
        err => {
          // A state write that failed is logged by save().
          if (!(err instanceof StateSaveError))
            this.failures.failed(
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

  /** One squeue answer: move every session of this cluster on, and adopt sessions we lost. */
  private async onJobs(cluster: string, jobs: Job[]): Promise<void> {
    for (const job of jobs) {
      const id = JOB_NAME.exec(job.name)?.[1];
      if (id && !this.records.has(id) && !isFinalJob(job)) await this.adopt(cluster, id, job);
    }
    for (const record of this.records.values()) {
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
              this.logger.debug(`session ${info.id}: no queue position for job ${job.id}`, err);
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
        if (info.state === 'running') this.scheduleWarnings(record);
      }
    } else if (seen.state === 'ending') {
      info.state = 'ending';
    } else {
      await this.finish(record, seen);
    }
    if (JSON.stringify(info) !== before) await this.commit(record);
  }

  private async finish(record: SessionRecord, seen: Observed): Promise<void> {
    const info = record.info;
    // The log first: readers see the live record, so it must turn failed and explain why at once.
    const tail =
      seen.state === 'failed'
        ? await jobLogTailForEnd(() => this.readLog(info.id, { tailBytes: 4000 }), this.logger, info.id)
        : '';
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
    this.logger.info(`session ${info.id}: job ${info.jobId} ${info.state} (${info.endReason})`);
    this.watchers.get(info.id)?.stop();
    this.watchers.delete(info.id);
    this.warnings.get(info.id)?.cancel();
    this.warnings.delete(info.id);
  }

  /** A job named hpclab-<id> that the store does not know (lost state): track it again. */
  private async adopt(cluster: string, id: string, job: Job): Promise<void> {
    const [, kind = 'lab', profile = ''] = (job.comment ?? '').split(':').slice(1);
    const home = await this.home(cluster);
    const record: SessionRecord = {
      info: {
        id,
        kind: kind === 'kernel' ? 'kernel' : 'lab',
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
    this.records.set(id, record);
    this.logger.info(`session ${id}: adopted job ${job.id} on ${cluster}, which the state file did not know`);
    this.watchStart(record);
  }

  private watchStart(record: SessionRecord): void {
    const { info } = record;
    if (this.watchers.has(info.id)) return;
    const watcher = new StartWatcher(
      {
        sessionId: info.id,
        kind: info.kind,
        sessionDir: record.sessionDir,
        baseUrl: info.baseUrl,
        transport: this.options.clusters(info.cluster).transport
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
        this.logger.info(`session ${info.id}: running on ${info.node ?? 'its node'}`);
        this.scheduleWarnings(record);
        this.commit(record).catch(() => undefined); // save() logged a failed write; the state stays in memory for the next one
        // The poller fills in start and end times: refresh now (no sooner than its floor), not at the next tick.
        const { poller } = this.options.clusters(info.cluster);
        poller.jobs.get(0).catch(() => undefined); // a failed squeue reaches the log through 'jobs-failed'
      },
      this.options.startCheckMs ?? 500,
      message => {
        // Unsafe server: stop the job rather than leave it open on the node.
        record.stopRequested = true;
        info.message = message;
        this.logger.warn(`session ${info.id}: cancelling job ${info.jobId}: ${message}`);
        const jobId = info.jobId;
        if (jobId)
          this.options
            .clusters(info.cluster)
            .scheduler.cancel(jobId)
            .catch(err =>
              this.logger.error(
                `session ${info.id}: cannot cancel job ${jobId}, whose server is unsafe: cancel it with scancel ${jobId}`,
                err
              )
            );
        this.commit(record).catch(() => undefined); // save() logged a failed write; the state stays in memory for the next one
      }
    );
    this.watchers.set(info.id, watcher);
    watcher.start();
  }

  private scheduleWarnings(record: SessionRecord): void {
    const { info } = record;
    if (!info.endsAt) return;
    let warnings = this.warnings.get(info.id);
    if (!warnings) {
      warnings = new WalltimeWarnings(this.options.warnMinutes ?? [10, 2], minutesLeft =>
        this.emit({ type: 'walltime-warning', sessionId: info.id, minutesLeft, endsAt: info.endsAt ?? '' })
      );
      this.warnings.set(info.id, warnings);
    }
    warnings.schedule(new Date(info.endsAt));
  }

  /** Tells listeners, then saves every record. A failed write is reported, state stays in memory. */
  private async commit(record: SessionRecord): Promise<void> {
    this.emit({ type: 'session', session: record.info });
    await this.save();
  }

  /** Every record to disk; a failure is logged (once while it repeats) and rejects for the caller. */
  private async save(): Promise<void> {
    try {
      await this.options.store.save([...this.records.values()]);
    } catch (err) {
      this.failures.failed(
        'state',
        'a state write failed; sessions stay in memory and are written at the next change',
        err
      );
      throw err;
    }
    this.failures.recovered('state', 'the session state is saved again');
  }

  private emit(event: SessionEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

function isFinalJob(job: Job): boolean {
  return !['PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING', 'SUSPENDED'].includes(job.state);
}
