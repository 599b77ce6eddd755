import type { Scheduler } from '../scheduler/types';

/*
 * `hpclab submit --wait`: follows one job through the queue to its end with `scontrol show job`
 * (one call per tick, at most every 2 s), saying each change of state, and returns how it ended.
 */

const FINAL = new Set([
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TIMEOUT',
  'OUT_OF_MEMORY',
  'NODE_FAIL',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE'
]);

export interface JobOutcome {
  state: string;
  /** The script's exit status; 128+N when a signal N ended it; null when Slurm did not say. */
  exitCode: number | null;
  reason: string | null;
}

/** `ExitCode=2:0` → 2; `0:9` (killed by signal 9) → 137. */
export function exitCodeOf(text: string | undefined): number | null {
  const m = /^(\d+):(\d+)$/.exec(text ?? '');
  if (!m) return null;
  return Number(m[2]) > 0 ? 128 + Number(m[2]) : Number(m[1]);
}

/** What to show while waiting: PENDING (Resources), RUNNING on c1 for 00:00:12. */
export function describeDetail(d: Record<string, string>): string {
  const state = (d.JobState ?? 'UNKNOWN').split(' ')[0];
  if (state === 'PENDING')
    return `PENDING (${d.Reason ?? 'None'})${d.StartTime && d.StartTime !== 'Unknown' ? `, estimated start ${d.StartTime}` : ''}`;
  if (state === 'RUNNING') return `RUNNING on ${d.NodeList ?? '?'} for ${d.RunTime ?? '?'}`;
  return state;
}

export async function followJob(
  scheduler: Scheduler,
  jobId: string,
  onProgress: (words: string) => void,
  options: { intervalMs?: number; signal?: AbortSignal } = {}
): Promise<JobOutcome> {
  let last = '';
  for (;;) {
    const detail = await scheduler.jobDetail(jobId);
    const state = (detail.JobState ?? 'UNKNOWN').split(' ')[0];
    const words = describeDetail(detail);
    if (words !== last) onProgress(`job ${jobId}: ${words}`);
    last = words;
    if (FINAL.has(state))
      return {
        state,
        exitCode: exitCodeOf(detail.ExitCode),
        reason: detail.Reason && detail.Reason !== 'None' ? detail.Reason : null
      };
    if (options.signal?.aborted) throw new Error('stopped waiting');
    await new Promise(r => setTimeout(r, options.intervalMs ?? 2_000));
  }
}
