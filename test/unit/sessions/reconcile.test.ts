import { observe } from '../../../server/sessions/reconcile';
import type { Job } from '../../../server/scheduler/types';
import type { SessionInfo } from '../../../server/sessions/types';

const info = (state: SessionInfo['state']): SessionInfo => ({
  id: 'abc123def456',
  kind: 'lab',
  cluster: 'c',
  profile: 'p',
  state,
  jobId: '42',
  pending: null,
  node: null,
  createdAt: '2026-01-01T00:00:00Z',
  startedAt: null,
  endsAt: null,
  endedAt: null,
  endReason: null,
  message: null,
  baseUrl: '/hpclab/node/abc123def456/'
});
const job = (over: Partial<Job>): Job => ({
  id: '42',
  arrayJobId: null,
  arrayTaskId: null,
  name: 'hpclab-abc123def456',
  user: 'u',
  state: 'PENDING',
  reason: 'Priority',
  partition: 'gpu',
  nodes: null,
  numNodes: 1,
  numCpus: 1,
  timeUsed: 0,
  timeLimit: 3600,
  timeLeft: 3600,
  submitTime: null,
  startTime: null,
  gres: null,
  comment: null,
  workDir: null,
  ...over
});

describe('observe: Slurm job state → session state', () => {
  it('pending keeps the reason and the estimated start', () => {
    const start = new Date('2026-01-01T01:00:00Z');
    expect(observe(info('pending'), job({ reason: 'Resources', startTime: start }), false)).toEqual({
      state: 'pending',
      pendingReason: 'Resources',
      estimatedStart: start.toISOString()
    });
  });

  it('a running job is only starting until the server answers, with its walltime end', () => {
    const start = new Date('2026-01-01T01:00:00Z');
    expect(
      observe(info('pending'), job({ state: 'RUNNING', nodes: 'c1', startTime: start, timeLimit: 60 }), false)
    ).toEqual({
      state: 'starting',
      node: 'c1',
      startedAt: start.toISOString(),
      endsAt: '2026-01-01T01:01:00.000Z'
    });
  });

  it.each([
    ['TIMEOUT', 'ended', 'timeout'],
    ['NODE_FAIL', 'failed', 'node-failure'],
    ['PREEMPTED', 'ended', 'preempted'],
    ['OUT_OF_MEMORY', 'failed', 'out-of-memory'],
    ['FAILED', 'failed', 'failed'],
    ['CANCELLED', 'ended', 'cancelled'],
    ['COMPLETED', 'ended', 'completed']
  ])('%s ends the session as %s (%s)', (slurm, state, reason) => {
    expect(observe(info('running'), job({ state: slurm }), false)).toMatchObject({ state, endReason: reason });
  });

  it('a job the user stopped ends as cancelled even if Slurm says COMPLETED or it is gone', () => {
    expect(observe(info('ending'), job({ state: 'COMPLETED' }), true)).toMatchObject({
      state: 'ended',
      endReason: 'cancelled'
    });
    expect(observe(info('ending'), undefined, true)).toMatchObject({ state: 'ended', endReason: 'cancelled' });
  });

  it('a pending job that vanished failed; a running one that vanished ended', () => {
    expect(observe(info('pending'), undefined, false)).toMatchObject({ state: 'failed' });
    expect(observe(info('running'), undefined, false)).toMatchObject({ state: 'ended' });
  });
});
