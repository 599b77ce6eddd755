import { SchedulerError } from '../errors';

/*
 * Reads one line of `scontrol --oneliner show job ID`: `Key=Value` pairs separated by single
 * spaces. Most values have no spaces, but a few hold what users typed (JobName=, Comment=,
 * Command=, WorkDir=, StdOut=…) or prose (Reason=), and nothing is quoted. A pair therefore
 * starts at " Key=" where Key looks like a Slurm key (`Socks/Node`, `NtasksPerN:B:S:C`,
 * `AllocNode:Sid`). Inside a free-text value, a " word=" whose word is not a key scontrol prints
 * (e.g. `Comment=lr=0.1 seed=3`) stays part of the value.
 */

/** Keys whose values may contain spaces. */
const FREE_TEXT = new Set([
  'JobName',
  'Comment',
  'AdminComment',
  'SystemComment',
  'Command',
  'WorkDir',
  'StdOut',
  'StdErr',
  'StdIn',
  'Reason',
  'Features',
  'Prefer',
  'Dependency',
  'Container',
  'MailUser'
]);

/** Keys scontrol 22.05 prints for a job (src/api/job_info.c), so they always start a pair. */
const KNOWN_KEYS = new Set(
  (
    'Account AccrueTime AdminComment AllocNode:Sid ArrayJobId ArrayTaskId ArrayTaskThrottle BatchFeatures ' +
    'BatchFlag BatchHost BurstBuffer BurstBufferState CPU_IDs CPUs/Task ClusterFeatures Command Comment ' +
    'Container Contiguous CoreSpec CpusPerTres CronJob CrontabSpec Deadline DelayBoot Dependency ' +
    'DerivedExitCode EligibleTime EndTime ExcNodeList ExitCode Features FedActiveSiblings FedOrigin ' +
    'FedViableSiblings GRES GresEnforceBind GroupId HetJobId HetJobIdSet HetJobOffset JOB_GRES JobId ' +
    'JobName JobState KillOInInvalidDependent LastSchedEval Licenses MCS_label MailType MailUser Mem ' +
    'MemPerTres MinCPUsNode MinMemoryCPU MinMemoryNode MinTmpDiskNode Network Nice NodeList Nodes ' +
    'NtasksPerN:B:S:C NtasksPerTRES NumCPUs NumNodes NumTasks OverSubscribe Partition Power ' +
    'PreemptEligibleTime PreemptTime Prefer Priority QOS Reason Reboot ReqB:S:C:T ReqNodeList Requeue ' +
    'Reservation ResizeTime Restarts RunTime SELinuxContext Scheduler SecsPreSuspend Socks/Node ' +
    'SpreadJob StartTime StdErr StdIn StdOut SubmitTime SuspendTime Switches SystemComment TRES ' +
    'ThreadSpec TimeLimit TimeMin TresBind TresFreq TresPerJob TresPerNode TresPerSocket TresPerTask ' +
    'UserId WCKey WorkDir'
  ).split(' ')
);

const PAIR_START = /(?:^| )([A-Za-z][A-Za-z0-9:/_]*)=/g;

/** Key/value pairs of one `scontrol -o show job` line; throws when the line has none. */
export function parseJobDetail(line: string): Record<string, string> {
  const text = line.replace(/\r?\n$/, '');
  const starts: { key: string; at: number; valueAt: number }[] = [];
  for (const m of text.matchAll(PAIR_START)) {
    const at = m.index + (m[0].startsWith(' ') ? 1 : 0);
    const previous = starts[starts.length - 1];
    // A free-text value keeps " word=" unless word is a key scontrol really prints.
    if (previous && FREE_TEXT.has(previous.key) && !KNOWN_KEYS.has(m[1])) continue;
    starts.push({ key: m[1], at, valueAt: m.index + m[0].length });
  }
  if (starts.length === 0 || starts[0].at !== 0) {
    throw new SchedulerError(
      'parse',
      `scontrol line is not Key=Value pairs: ${JSON.stringify(text.slice(0, 200))}`,
      text
    );
  }
  const pairs: Record<string, string> = {};
  starts.forEach((start, i) => {
    const end = i + 1 < starts.length ? starts[i + 1].at - 1 : text.length;
    // The first of a repeated key wins; scontrol does not repeat keys for one job.
    // scontrol pads some values (Comment) with an extra space before the next key.
    if (!(start.key in pairs)) pairs[start.key] = text.slice(start.valueAt, end).replace(/ +$/, '');
  });
  return pairs;
}

/** Every job in `scontrol -o show job` output (an array id prints one line per task). */
export function parseJobDetails(stdout: string): Record<string, string>[] {
  return stdout
    .split('\n')
    .filter(line => line.trim() !== '')
    .map(line => parseJobDetail(line));
}
