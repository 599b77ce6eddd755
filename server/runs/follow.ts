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

/** One task of an array (or the one job) as it ended. */
export interface TaskOutcome {
  jobId: string;
  /** The array index, or null for a plain job. */
  taskId: string | null;
  state: string;
  exitCode: number | null;
}

/** The whole run: its worst state, and each task's when it is an array. */
export interface RunOutcome extends JobOutcome {
  tasks: TaskOutcome[];
}

/** `3 COMPLETED, 1 RUNNING on c1` style summary of an array's tasks. */
export function describeTasks(details: readonly Record<string, string>[]): string {
  if (details.length === 1) return describeDetail(details[0]);
  const counts = new Map<string, number>();
  for (const d of details) {
    const state = (d.JobState ?? 'UNKNOWN').split(' ')[0];
    // A pending record of an array stands for every index still in its range (`[5-8%2]`).
    const pending = /^\[(.*)\]$/.exec(d.ArrayTaskId ?? '');
    counts.set(state, (counts.get(state) ?? 0) + (pending ? countIndexes(pending[1]) : 1));
  }
  return [...counts].map(([state, n]) => `${n} ${state}`).join(', ');
}

/** `5-8%2` → 4, `1,3,5` → 3, `0-15:4` → 4. */
export function countIndexes(spec: string): number {
  return spec
    .replace(/%\d+$/, '')
    .split(',')
    .reduce((n, part) => {
      const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part);
      if (!m) return n + 1;
      if (m[2] === undefined) return n + 1;
      return n + Math.floor((Number(m[2]) - Number(m[1])) / Number(m[3] ?? 1)) + 1;
    }, 0);
}

/** Which end wins the summary: the first failure, else the last task's state. */
function worst(tasks: readonly TaskOutcome[]): TaskOutcome {
  return tasks.find(t => t.state !== 'COMPLETED' || t.exitCode !== 0) ?? tasks[tasks.length - 1];
}

export async function followJob(
  scheduler: Scheduler,
  jobId: string,
  onProgress: (words: string) => void,
  options: { intervalMs?: number; signal?: AbortSignal } = {}
): Promise<RunOutcome> {
  let last = '';
  for (;;) {
    const details = await scheduler.jobDetails(jobId);
    const words = describeTasks(details);
    if (words !== last) onProgress(`job ${jobId}: ${words}`);
    last = words;
    const states = details.map(d => (d.JobState ?? 'UNKNOWN').split(' ')[0]);
    if (states.every(state => FINAL.has(state))) {
      const tasks: TaskOutcome[] = details.map((d, i) => ({
        jobId: d.JobId ?? jobId,
        taskId: d.ArrayTaskId ?? null,
        state: states[i],
        exitCode: exitCodeOf(d.ExitCode)
      }));
      const end = worst(tasks);
      const detail = details[tasks.indexOf(end)];
      return {
        state: end.state,
        exitCode: end.exitCode,
        reason: detail.Reason && detail.Reason !== 'None' ? detail.Reason : null,
        tasks
      };
    }
    if (options.signal?.aborted) throw new Error('stopped waiting');
    await new Promise(r => setTimeout(r, options.intervalMs ?? 2_000));
  }
}
