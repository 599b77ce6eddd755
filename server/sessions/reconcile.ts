import type { Job } from '../scheduler/types';
import type { EndReason, SessionInfo, SessionState } from './types';

export const FINAL_STATES: readonly SessionState[] = ['ended', 'failed'];
export const isFinal = (state: SessionState): boolean => FINAL_STATES.includes(state);

/** What Slurm's word for a finished job means for a session. */
const ENDINGS: Record<string, { state: SessionState; reason: EndReason; words: string }> = {
  COMPLETED: { state: 'ended', reason: 'completed', words: 'The server exited.' },
  CANCELLED: { state: 'ended', reason: 'cancelled', words: 'The job was cancelled.' },
  TIMEOUT: { state: 'ended', reason: 'timeout', words: 'The job reached its time limit.' },
  DEADLINE: { state: 'ended', reason: 'timeout', words: 'The job reached its deadline.' },
  NODE_FAIL: { state: 'failed', reason: 'node-failure', words: 'The compute node failed.' },
  BOOT_FAIL: { state: 'failed', reason: 'node-failure', words: 'The compute node failed to boot.' },
  PREEMPTED: { state: 'ended', reason: 'preempted', words: 'The job was preempted by a higher-priority job.' },
  OUT_OF_MEMORY: { state: 'failed', reason: 'out-of-memory', words: 'The job ran out of memory.' },
  FAILED: { state: 'failed', reason: 'failed', words: 'The server failed to start or exited with an error.' }
};

/** The part of a session the scheduler decides; `running` needs the server to answer too. */
export interface Observed {
  state: SessionState;
  pendingReason?: string | null;
  estimatedStart?: string | null;
  node?: string | null;
  startedAt?: string | null;
  endsAt?: string | null;
  endReason?: EndReason;
  message?: string;
}

/**
 * Maps the job as squeue lists it (or its absence) to a session state. A job that is RUNNING is
 * only 'starting' here: the manager promotes it once the node's server answers.
 */
export function observe(info: SessionInfo, job: Job | undefined, stopRequested: boolean): Observed {
  if (!job) {
    // Gone from squeue (older than MinJobAge, or purged): we can only say it is over.
    if (stopRequested) return { state: 'ended', endReason: 'cancelled', message: 'The session was stopped.' };
    return info.state === 'pending'
      ? { state: 'failed', endReason: 'failed', message: 'The job left the queue without starting.' }
      : { state: 'ended', endReason: 'completed', message: 'The job is no longer in the queue.' };
  }
  const base = job.state.replace(/\+$/, '').split(' ')[0];
  if (base === 'PENDING' || base === 'REQUEUED' || base === 'RESV_DEL_HOLD' || base === 'REQUEUE_HOLD') {
    return { state: 'pending', pendingReason: job.reason, estimatedStart: job.startTime?.toISOString() ?? null };
  }
  if (
    base === 'RUNNING' ||
    base === 'CONFIGURING' ||
    base === 'SUSPENDED' ||
    base === 'RESIZING' ||
    base === 'SIGNALING'
  ) {
    return {
      state: 'starting',
      node: job.nodes,
      startedAt: job.startTime?.toISOString() ?? null,
      endsAt:
        job.startTime && job.timeLimit !== null
          ? new Date(job.startTime.getTime() + job.timeLimit * 1000).toISOString()
          : null
    };
  }
  if (base === 'COMPLETING' || base === 'STAGE_OUT' || base === 'STOPPED') return { state: 'ending', node: job.nodes };
  const ending = ENDINGS[base];
  if (stopRequested && (base === 'CANCELLED' || base === 'COMPLETED'))
    return { state: 'ended', endReason: 'cancelled', message: 'The session was stopped.' };
  if (ending) return { state: ending.state, endReason: ending.reason, message: ending.words };
  return { state: 'failed', endReason: 'failed', message: `Slurm reports the job as ${job.state}.` };
}
