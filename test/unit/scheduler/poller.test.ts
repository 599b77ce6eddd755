import { createLogger, RepeatedFailures } from '../../../server/log';
import { CachedQuery, ClusterPoller, logPolls } from '../../../server/scheduler/poller';
import type { Job, PartitionSummary, Scheduler } from '../../../server/scheduler/types';

/** A scheduler that counts calls and answers after a short delay, like a real squeue. */
function countingScheduler(delayMs = 30) {
  const calls = { jobs: 0, partitions: 0 };
  let fail = false;
  let jobs: Job[] = [];
  const scheduler = {
    async myJobs(): Promise<Job[]> {
      calls.jobs++;
      await new Promise(r => setTimeout(r, delayMs));
      if (fail) throw new Error('slurm_load_jobs error: Unable to contact slurm controller');
      return jobs;
    },
    async partitions(): Promise<PartitionSummary[]> {
      calls.partitions++;
      await new Promise(r => setTimeout(r, delayMs));
      return [];
    }
  } as unknown as Scheduler;
  return { scheduler, calls, setFail: (v: boolean) => (fail = v), setJobs: (j: Job[]) => (jobs = j) };
}

describe('ClusterPoller', () => {
  it('answers 50 concurrent readers with one squeue', async () => {
    const { scheduler, calls } = countingScheduler();
    const poller = new ClusterPoller(scheduler);
    const results = await Promise.all(Array.from({ length: 50 }, () => poller.jobs.get()));
    expect(calls.jobs).toBe(1);
    expect(new Set(results).size).toBe(1);
    // Readers within the interval read the cache.
    await Promise.all(Array.from({ length: 50 }, () => poller.jobs.get()));
    expect(calls.jobs).toBe(1);
  });

  it('never calls Slurm more often than the floor, even when forced', async () => {
    const { scheduler, calls } = countingScheduler(1);
    // CachedQuery takes any floor; ClusterPoller is what clamps it to 5 s (next test).
    const query = new CachedQuery(() => scheduler.myJobs(), 15_000, 300, 60_000);
    const t0 = Date.now();
    await query.get();
    query.invalidate();
    await query.get();
    expect(calls.jobs).toBe(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(295);
  });

  it('clamps a configured interval below 5 s up to the floor', () => {
    const { scheduler } = countingScheduler();
    const poller = new ClusterPoller(scheduler, { intervalMs: 100, floorMs: 1 });
    expect(poller.jobs.currentIntervalMs()).toBe(5_000);
  });

  it('keeps the last good answer and backs off after errors', async () => {
    const { scheduler, setFail } = countingScheduler(1);
    const query = new CachedQuery(() => scheduler.myJobs(), 10_000, 0, 300_000);
    const good = await query.get();
    setFail(true);
    const after = await query.get(0);
    expect(after.data).toBe(good.data);
    expect(after.error).toMatch(/Unable to contact/);
    expect(query.currentIntervalMs()).toBe(20_000);
    await query.get(0);
    expect(query.currentIntervalMs()).toBe(40_000);
    setFail(false);
    const healed = await query.get(0);
    expect(healed.error).toBeUndefined();
    expect(query.currentIntervalMs()).toBe(10_000);
  });

  it('rejects when Slurm never answered', async () => {
    const { scheduler, setFail } = countingScheduler(1);
    setFail(true);
    await expect(new ClusterPoller(scheduler).jobs.get()).rejects.toThrow(/Unable to contact/);
  });

  it('refreshes on every tick of the background loop, not every other one', async () => {
    jest.useFakeTimers();
    try {
      const { scheduler, calls } = countingScheduler(0);
      const poller = new ClusterPoller(scheduler, { intervalMs: 15_000, partitionsIntervalMs: 60_000 });
      poller.start();
      await jest.advanceTimersByTimeAsync(10);
      expect(calls.jobs).toBe(1);
      // Two intervals at most 16.5 s each (jitter): two more refreshes, whatever the jitter.
      await jest.advanceTimersByTimeAsync(2 * 16_500 + 10);
      expect(calls.jobs).toBe(3);
      poller.stop();
    } finally {
      jest.useRealTimers();
    }
  });

  it('refreshes the partitions when one of my jobs starts or ends, not on every squeue', async () => {
    jest.useFakeTimers();
    try {
      const { scheduler, calls, setJobs } = countingScheduler(0);
      const poller = new ClusterPoller(scheduler, { intervalMs: 15_000, partitionsIntervalMs: 60_000 });
      // A squeue now (waiting out the 5 s floor), and time for the sinfo it may start.
      const squeue = async () => {
        const answer = poller.jobs.get(0);
        await jest.advanceTimersByTimeAsync(5_010);
        await answer;
        await jest.advanceTimersByTimeAsync(5_010);
      };
      poller.start();
      await jest.advanceTimersByTimeAsync(10);
      expect(calls.partitions).toBe(1);
      setJobs([{ id: '7', state: 'RUNNING' } as Job]); // a kernel's allocation starts: a GPU is taken
      await squeue();
      expect(calls.partitions).toBe(2);
      await squeue(); // the same jobs: nothing to refresh
      expect(calls.partitions).toBe(2);
      setJobs([]); // it ended: the GPU is free again, and the sidebar should say so now
      await squeue();
      expect(calls.partitions).toBe(3);
      poller.stop();
    } finally {
      jest.useRealTimers();
    }
  });

  it('leaves the partitions alone when nothing runs the loop (the CLI reads on demand)', async () => {
    jest.useFakeTimers();
    try {
      const { scheduler, calls, setJobs } = countingScheduler(0);
      const poller = new ClusterPoller(scheduler);
      const first = poller.jobs.get();
      await jest.advanceTimersByTimeAsync(10);
      await first;
      setJobs([{ id: '7', state: 'PENDING' } as Job]);
      const second = poller.jobs.get(0);
      await jest.advanceTimersByTimeAsync(10_010);
      await second;
      expect(calls.jobs).toBe(2);
      expect(calls.partitions).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('logPolls', () => {
  it('says a failing poll once, with its backoff, and says when it answers again', async () => {
    const entries: string[] = [];
    const failures = new RepeatedFailures(
      createLogger({ level: 'info', write: e => entries.push(e) }).child('poll testbed')
    );
    const { scheduler, setFail } = countingScheduler(1);
    const query = new CachedQuery(() => scheduler.myJobs(), 10_000, 0, 300_000);
    const changes: unknown[] = [];
    query.onChange = s => changes.push(s); // set before: still called
    logPolls(query, 'squeue', failures);
    await query.get(0);
    setFail(true);
    await query.get(0);
    await query.get(0);
    await query.get(0);
    setFail(false);
    await query.get(0);
    expect(changes).toHaveLength(5);
    expect(
      entries.map(e =>
        e
          .replace(/^\S+ /, '')
          .trimEnd()
          .replace(/since \S+\)/, 'since T)')
      )
    ).toEqual([
      'WARN poll testbed: squeue failed; the last answer is kept and the next poll is in 20 s: slurm_load_jobs error: Unable to contact slurm controller',
      'WARN poll testbed: squeue answers again (after 3 failed attempts since T)'
    ]);
  });
});
