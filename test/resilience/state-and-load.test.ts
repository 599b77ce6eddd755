import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { SessionInfo } from '../../server/sessions/types';
import { CompanionProcess } from '../support/companion';
import { cancelAllJobs, slurmRpcCounts, testbed, waitFor } from '../support/testbed';
import { fillNode, record, squeueIds } from './faults';

/** The companion's own disk failing under it, and a burst of requests at once. */
describe('state on disk and load', () => {
  const env = testbed();
  beforeEach(() => cancelAllJobs());
  afterAll(() => cancelAllJobs());

  it('a state directory that turns read-only: a clear error, nothing submitted, the previous state intact', async () => {
    // A small filesystem of its own under the state home, so it can be made read-only while in use.
    const companion = await CompanionProcess.create(env.config);
    const stateDir = path.join(companion.stateHome, 'hpclab');
    await fs.mkdir(stateDir, { recursive: true, mode: 0o700 });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'hpclab-state', stateDir]);
    try {
      await companion.start();
      const create = (body: object) =>
        companion.fetch('/hpclab/api/sessions', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(body)
        });
      const first = (await (
        await create({ kind: 'lab', profile: 'cpu', overrides: { time: '5' } })
      ).json()) as SessionInfo;
      expect(first.jobId).toMatch(/^\d+$/);
      const file = path.join(stateDir, 'sessions.json');
      // Settled first (running, its end time known), so the file would not change on its own meanwhile.
      await waitFor(
        'the first session to settle',
        async () => {
          const s = await companion.json<SessionInfo>(`/hpclab/api/sessions/${first.id}`);
          return s.state === 'running' && s.endsAt ? s : undefined;
        },
        90_000
      );
      const saved = await waitFor('the first session saved', async () => {
        const text = await fs.readFile(file, 'utf8');
        return text.includes('"running"') ? text : undefined;
      });
      const jobsBefore = squeueIds();

      execFileSync('mount', ['-o', 'remount,ro', stateDir]);
      const t0 = Date.now();
      const refused = await create({ kind: 'lab', profile: 'cpu' });
      expect(refused.status).toBe(503);
      const body = (await refused.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('state-not-saved');
      expect(body.error.message).toContain(file);
      expect(body.error.message).toMatch(/read-only file system/i);
      expect(body.error.message).toMatch(/writable|free some space/);
      expect(squeueIds()).toEqual(jobsBefore); // nothing was submitted
      // The previous state is whole on disk, and the companion still serves it.
      expect(await fs.readFile(file, 'utf8')).toBe(saved);
      expect((await companion.json<SessionInfo>(`/hpclab/api/sessions/${first.id}`)).jobId).toBe(first.jobId);

      execFileSync('mount', ['-o', 'remount,rw', stateDir]);
      const again = await create({ kind: 'lab', profile: 'cpu', overrides: { time: '5' } });
      expect(again.status).toBe(201);
      record(
        'state dir read-only',
        `503 state-not-saved: "${body.error.message.slice(0, 70)}…"; nothing submitted; sessions.json unchanged`,
        Date.now() - t0
      );
    } finally {
      await companion.stop();
      execFileSync('umount', ['-l', stateDir]);
    }
  });

  it('20 requests at once, and one sent twice with the same key: every one tracked, no duplicate job, sbatch spaced', async () => {
    const companion = await CompanionProcess.create(env.config);
    await companion.start();
    await fillNode(); // all of them wait in the queue: the burst is about submitting, not 20 Labs starting
    try {
      const before = slurmRpcCounts().REQUEST_SUBMIT_BATCH_JOB ?? 0;
      const post = (key: string) =>
        companion.json<SessionInfo>('/hpclab/api/sessions', {
          method: 'POST',
          headers: { 'Idempotency-Key': key },
          body: JSON.stringify({ kind: 'lab', profile: 'cpu', overrides: { cpus: 1, time: '5' } })
        });
      const t0 = Date.now();
      // 20 different requests, plus key-07 sent a second time while the first is still in flight.
      const replies = await Promise.all([
        ...Array.from({ length: 20 }, (_, i) => post(`burst-${String(i).padStart(2, '0')}`)),
        post('burst-07')
      ]);
      const answered = Date.now() - t0;
      const ids = new Set(replies.map(r => r.id));
      expect(ids.size).toBe(20);
      expect(replies[20].id).toBe(replies[7].id);
      expect(new Set(replies.map(r => r.jobId)).size).toBe(20);
      expect((slurmRpcCounts().REQUEST_SUBMIT_BATCH_JOB ?? 0) - before).toBe(20);
      // Every one is tracked: listed by the companion, in Slurm's queue, each with its own job.
      const listed = await companion.json<SessionInfo[]>('/hpclab/api/sessions');
      for (const id of ids) expect(listed.map(s => s.id)).toContain(id);
      const queue = squeueIds();
      for (const r of replies) expect(queue).toContain(r.jobId);
      // Spaced: 20 submissions at least 250 ms apart span at least 4.75 s of Slurm's submit times.
      const submitTimes = execFileSync(
        'squeue',
        ['-h', '-o', '%V', '-j', [...new Set(replies.map(r => r.jobId))].join(',')],
        { encoding: 'utf8' }
      )
        .split('\n')
        .filter(Boolean)
        .map(t => Date.parse(t));
      expect(Math.max(...submitTimes) - Math.min(...submitTimes)).toBeGreaterThanOrEqual(4000);
      // And the same key after the fact still answers with the first session.
      expect((await post('burst-03')).id).toBe(replies[3].id);
      record(
        '20 requests at once + a duplicate key',
        `20 sessions, 20 jobs (sdiag: 20 submits), duplicate answered with the first; spaced over ${(answered / 1000).toFixed(1)} s`,
        null
      );
    } finally {
      await companion.stop();
    }
  }, 180_000);
});
