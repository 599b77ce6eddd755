import type { ClusterPoller } from '../scheduler/poller';
import type { SessionManager } from '../sessions/manager';
import { isFinal } from '../sessions/reconcile';
import type { SessionInfo } from '../sessions/types';
import type { KernelLease } from './kernel-lease';
import type { KernelWhere } from './kernel-step';

/*
 * A kernel's allocation as its launcher sees it: waiting for it to run (with its place in the
 * queue), and why it ended when the kernel in it died.
 */

/**
 * Resolves with where the allocation's kernels bind; tells the lease where the job is while it
 * waits. Rejects when the allocation ends first or the companion stops (`stopping()`).
 */
export function waitUntilRunning(
  sessions: SessionManager,
  id: string,
  lease: KernelLease,
  stopping: () => boolean
): Promise<KernelWhere> {
  return new Promise((resolve, reject) => {
    let said = '';
    const check = () => {
      const info = sessions.get(id);
      const where = sessions.allocationTarget(id);
      if (where) return done(() => resolve(where));
      if (stopping()) return done(() => reject(new Error('the companion is stopping')));
      if (!info || isFinal(info.state))
        return done(() =>
          reject(
            new Error(`the allocation ended before the kernel started: ${info?.message ?? info?.endReason ?? 'gone'}`)
          )
        );
      const words = describeWait(info);
      if (words !== said) lease.send({ type: 'progress', message: (said = words), session: info });
    };
    const unsubscribe = sessions.subscribe(e => {
      if (e.type === 'session' && e.session.id === id) check();
    });
    const timer = setInterval(check, 1000);
    const done = (settle: () => void) => {
      unsubscribe();
      clearInterval(timer);
      settle();
    };
    check();
  });
}

/**
 * Why the allocation ended, if it did: a kernel killed at walltime or by a node failure dies
 * a moment before Slurm says so, so ask the poller for a few seconds before answering.
 */
export async function endOf(sessions: SessionManager, id: string, poller: ClusterPoller): Promise<string | undefined> {
  // Still running and inside its time: the kernel died on its own, the allocation is fine.
  const { jobId, endsAt } = sessions.get(id) ?? {};
  // No squeue answer at all yet (the session manager logs why): then ask below until the session says.
  const job = (await poller.jobs.get(0).catch(() => undefined))?.data.find(j => j.id === jobId);
  if (job?.state === 'RUNNING' && !(endsAt && Date.now() >= Date.parse(endsAt))) return undefined;
  for (let i = 0; i < 10; i++) {
    const info = sessions.get(id);
    if (info && isFinal(info.state)) return info.message ?? info.endReason ?? undefined;
    // Slurm may list the job as completing for a while after killing it at its time limit.
    if (info?.endsAt && Date.now() >= Date.parse(info.endsAt)) return 'The job reached its time limit.';
    poller.jobs.invalidate();
    await new Promise(r => setTimeout(r, 1000));
  }
  return undefined;
}

function describeWait(info: SessionInfo): string {
  if (info.state === 'pending') {
    const p = info.pending;
    const where = p?.position ? `, position ${p.position} in the queue` : '';
    const when = p?.estimatedStart ? `, estimated start ${p.estimatedStart}` : '';
    return `allocation ${info.jobId ?? ''} pending (${p?.reason ?? 'waiting'}${where}${when})`;
  }
  return `allocation ${info.jobId ?? ''} ${info.state}${info.node ? ` on ${info.node}` : ''}`;
}
