import { EventEmitter } from 'node:events';
import { RepeatedFailures, type Logger } from '../log';
import { describeFailure } from './errors';
import type { Job, PartitionSummary, Scheduler } from './types';

export interface Snapshot<T> {
  data: T;
  fetchedAt: Date;
  /** The last refresh failed; `data` is the last good answer. */
  error?: string;
}

export interface PollerOptions {
  /** How often jobs are refreshed while someone watches (default 15 s). */
  intervalMs?: number;
  /** Partitions change slowly (default 60 s). */
  partitionsIntervalMs?: number;
  /** No squeue/sinfo more often than this, whoever asks (default and minimum 5 s). */
  floorMs?: number;
  /** Backoff cap after errors (default 1 min: a cluster back from an outage is seen within it). */
  maxBackoffMs?: number;
  /** Where failing polls (and their backoff) are said: once when they start or change, once when they heal. */
  logger?: Logger;
}

/**
 * Keeps one cluster's view (my jobs, partitions) fresh with as few Slurm calls as possible:
 * every reader reads the cache; readers that find it stale share one refresh; nothing calls
 * Slurm more often than the floor. Slurm admins ban tools that hammer slurmctld.
 *
 * Events: 'jobs' and 'partitions' with each new snapshot (an error snapshot keeps the last good
 * data), and 'jobs-failed' with the error of every failed squeue, also when there was never an
 * answer to keep, so a watcher (the session manager) can say why nothing moves.
 */
export class ClusterPoller extends EventEmitter {
  readonly jobs: CachedQuery<Job[]>;
  readonly partitions: CachedQuery<PartitionSummary[]>;
  private timers: NodeJS.Timeout[] = [];

  constructor(scheduler: Scheduler, options: PollerOptions = {}) {
    super();
    const floorMs = Math.max(5_000, options.floorMs ?? 5_000);
    const maxBackoffMs = options.maxBackoffMs ?? 60_000;
    this.jobs = new CachedQuery(
      () => scheduler.myJobs(),
      Math.max(floorMs, options.intervalMs ?? 15_000),
      floorMs,
      maxBackoffMs
    );
    this.partitions = new CachedQuery(
      () => scheduler.partitions(),
      Math.max(floorMs, options.partitionsIntervalMs ?? 60_000),
      floorMs,
      maxBackoffMs
    );
    let jobsSeen: string | undefined;
    this.jobs.onChange = s => {
      this.emit('jobs', s);
      // A job of mine started or ended: the partitions' free CPUs and GPUs changed with it, and
      // the sidebar should not show them up to a minute late. One sinfo per change (no sooner
      // than the floor), only while the background loop runs: the CLI reads on demand.
      if (s.error) return;
      const seen = s.data
        .map(j => `${j.id}:${j.state}`)
        .sort()
        .join(',');
      const changed = jobsSeen !== undefined && seen !== jobsSeen;
      jobsSeen = seen;
      if (changed && this.timers.length > 0) {
        this.partitions.invalidate();
        // Rejects only when sinfo never answered: onFailure has seen it, and the loop retries.
        this.partitions.get(0).catch(() => undefined);
      }
    };
    this.jobs.onFailure = err => this.emit('jobs-failed', err);
    this.partitions.onChange = s => this.emit('partitions', s);
    if (options.logger) {
      const failures = new RepeatedFailures(options.logger);
      logPolls(this.jobs, 'squeue', failures);
      logPolls(this.partitions, 'sinfo', failures);
    }
  }

  /** Refresh in the background while someone watches (the companion); the CLI reads on demand. */
  start(): void {
    if (this.timers.length) return;
    const loop = (query: CachedQuery<unknown>, index: number) => {
      const tick = () => {
        // Refresh on every tick: asking for "fresh within the interval" here would skip
        // every other tick (the last answer is always slightly younger than the interval). It
        // rejects only when there never was an answer: onFailure has seen it, and the next tick retries.
        query.get(0).catch(() => undefined);
        this.timers[index] = setTimeout(tick, jittered(query.currentIntervalMs()));
        this.timers[index].unref();
      };
      tick();
    };
    loop(this.jobs as CachedQuery<unknown>, 0);
    loop(this.partitions as CachedQuery<unknown>, 1);
  }

  stop(): void {
    this.timers.forEach(clearTimeout);
    this.timers = [];
  }
}

/**
 * Says when a query starts failing (with the backoff it now waits), when the failure changes,
 * and when it answers again; a failure repeating every poll is said once. Wraps the query's
 * hooks, keeping what was set before.
 */
export function logPolls<T>(query: CachedQuery<T>, what: string, failures: RepeatedFailures): void {
  const { onChange, onFailure } = query;
  query.onFailure = err => {
    failures.failed(
      what,
      `${what} failed; the last answer is kept and the next poll is in ${Math.round(query.currentIntervalMs() / 1000)} s`,
      err
    );
    onFailure?.(err);
  };
  query.onChange = snapshot => {
    if (!snapshot.error) failures.recovered(what, `${what} answers again`);
    onChange?.(snapshot);
  };
}

/** ±10 % so many companions started together do not poll in step. */
function jittered(ms: number): number {
  return Math.round(ms * (0.9 + Math.random() * 0.2));
}

/** One Slurm query behind a cache with a freshness interval, a hard floor and error backoff. */
export class CachedQuery<T> {
  private snapshot: Snapshot<T> | undefined;
  private inflight: Promise<Snapshot<T>> | undefined;
  private lastCallAt = 0;
  private failures = 0;
  private invalid = false;
  /** Calls made to Slurm, for tests and benchmarks. */
  calls = 0;
  onChange?: (snapshot: Snapshot<T>) => void;
  /** Every failed fetch, with its error (before the snapshot, if any, says so too). */
  onFailure?: (err: unknown) => void;

  constructor(
    private readonly fetch: () => Promise<T>,
    private readonly intervalMs: number,
    private readonly floorMs: number,
    private readonly maxBackoffMs: number
  ) {}

  /** Interval now: longer after consecutive errors. */
  currentIntervalMs(): number {
    return Math.min(this.maxBackoffMs, this.intervalMs * 2 ** this.failures);
  }

  peek(): Snapshot<T> | undefined {
    return this.snapshot;
  }

  /** Next read refreshes (after our own submit/cancel), still no sooner than the floor. */
  invalidate(): void {
    this.invalid = true;
  }

  /** The cached answer if fresh, else the shared refresh. Rejects only if there never was an answer. */
  async get(maxAgeMs = this.currentIntervalMs()): Promise<Snapshot<T>> {
    const s = this.snapshot;
    if (s && !this.invalid && Date.now() - s.fetchedAt.getTime() < maxAgeMs) return s;
    if (!this.inflight) {
      this.inflight = this.refresh().finally(() => {
        this.inflight = undefined;
      });
    }
    return this.inflight;
  }

  private async refresh(): Promise<Snapshot<T>> {
    const wait = this.lastCallAt + this.floorMs - Date.now();
    if (wait > 0) await new Promise(r => setTimeout(r, wait));
    this.lastCallAt = Date.now();
    this.calls++;
    this.invalid = false;
    try {
      const data = await this.fetch();
      this.failures = 0;
      this.snapshot = { data, fetchedAt: new Date() };
      this.onChange?.(this.snapshot);
      return this.snapshot;
    } catch (err) {
      this.failures++;
      this.onFailure?.(err);
      if (!this.snapshot) throw err;
      this.snapshot = { ...this.snapshot, error: describeFailure(err) };
      this.onChange?.(this.snapshot);
      return this.snapshot;
    }
  }
}
