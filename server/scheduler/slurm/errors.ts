import { SchedulerError, type SchedulerErrorKind } from '../errors';
import { commandName } from './argv';

/*
 * Turns a failed Slurm command into a SchedulerError with a plain message. Slurm's words
 * (slurm_errno.c strings, slurmctld err_msg) are stable across versions, so matching on them
 * is how every Slurm front end does it; `detail` keeps the raw text for logs.
 */

interface Rule {
  pattern: RegExp;
  kind: SchedulerErrorKind;
  message: (m: RegExpExecArray) => string;
}

const RULES: Rule[] = [
  // slurmctld names the partition before the generic "Invalid partition name specified".
  {
    pattern: /invalid partition specified: *(\S+)/i,
    kind: 'invalid-request',
    message: m => `Slurm has no partition '${m[1]}'`
  },
  {
    pattern: /Invalid partition name specified/i,
    kind: 'invalid-request',
    message: () => 'Slurm has no such partition'
  },
  {
    pattern: /Required partition not available|Requested partition configuration not available/i,
    kind: 'invalid-request',
    message: () => 'the partition is not taking jobs now (down, drained or inactive)'
  },
  {
    pattern:
      /Invalid generic resource \(gres\) specification|Invalid GRES specification|Invalid Trackable RESource \(TRES\) specification/i,
    kind: 'invalid-request',
    message: () => 'the cluster has no such GPU or generic resource (check the gres, e.g. gpu:1 or gpu:a100:1)'
  },
  {
    pattern: /Requested node configuration is not available/i,
    kind: 'invalid-request',
    message: () => 'no node in the partition has what was asked for (CPUs, memory, GPUs or features)'
  },
  {
    pattern: /Memory required by task is not available/i,
    kind: 'invalid-request',
    message: () => 'no node has that much memory'
  },
  {
    pattern: /More processors requested than permitted/i,
    kind: 'invalid-request',
    message: () => 'more CPUs than the partition allows'
  },
  {
    pattern: /Node count specification invalid/i,
    kind: 'invalid-request',
    message: () => 'the partition does not allow that many nodes'
  },
  {
    pattern: /Invalid feature specification/i,
    kind: 'invalid-request',
    message: () => 'no node has the requested feature (constraint)'
  },
  {
    pattern: /Invalid node name specified/i,
    kind: 'invalid-request',
    message: () => 'the node list names a node Slurm does not know'
  },
  {
    pattern: /Invalid account or account\/partition combination/i,
    kind: 'invalid-request',
    message: () => 'the account is unknown or may not use this partition'
  },
  {
    pattern: /Invalid qos specification/i,
    kind: 'invalid-request',
    message: () => 'the QOS is unknown or not allowed for this account'
  },
  {
    pattern: /Requested time limit is invalid/i,
    kind: 'invalid-request',
    message: () => 'the time limit is longer than the partition or QOS allows'
  },
  {
    pattern: /Job violates accounting\/QOS policy/i,
    kind: 'invalid-request',
    message: () => 'the job exceeds a limit of your account or QOS (job count, size or time)'
  },
  {
    pattern: /Invalid job array specification/i,
    kind: 'invalid-request',
    message: () => 'the array range is invalid or larger than the cluster allows'
  },
  {
    pattern: /Job is no longer pending execution/i,
    kind: 'invalid-request',
    message: () => 'the job has already started, so it cannot be held'
  },
  { pattern: /Job is not pending nor running|Job is pending execution/i, kind: 'invalid-request', message: m => m[0] },
  // scancel of a finished job exits 0 quietly; scontrol hold/release and show job say these.
  {
    pattern: /Invalid job id specified/i,
    kind: 'not-found',
    message: () => 'Slurm has no such job (it may have finished)'
  },
  {
    pattern: /Job has already finished|already completing or completed/i,
    kind: 'not-found',
    message: () => 'the job has already finished'
  },
  {
    pattern: /Access\/permission denied|User not authorized|not permitted to use this partition|Invalid user id/i,
    kind: 'permission',
    message: () => 'Slurm does not allow this (not your job, or not allowed for your account)'
  },
  {
    pattern:
      /Unable to contact slurm controller|Socket timed out on send\/recv|Zero Bytes were transmitted or received|Communication connection failure|Connection refused|Slurm backup controller in standby mode/i,
    kind: 'unavailable',
    message: () => 'the Slurm controller is not answering; try again in a minute'
  },
  {
    pattern: /accounting storage is disabled/i,
    kind: 'no-accounting',
    message: () =>
      "this cluster keeps no job accounting (Slurm's sacct has no history to give); only the jobs still in the queue can be shown"
  },
  {
    pattern: /Unable to create job record, try again|Job can not be altered now, try again later/i,
    kind: 'unavailable',
    message: () => 'Slurm is busy; try again in a minute'
  }
];

/** The first line that says what went wrong, without the "sbatch: error: " prefix. */
function firstErrorLine(stderr: string): string | undefined {
  const lines = stderr
    .split('\n')
    .map(l => l.trim())
    .filter(l => l !== '');
  const line = lines.find(l => /error/i.test(l)) ?? lines[0];
  return line?.replace(/^[\w-]+: (?:error|fatal): /i, '');
}

/**
 * A failed Slurm command (`exitCode` ≠ 0, or stderr that says it failed) as a SchedulerError.
 * Pass the whole argv (or `commandName(argv)`): argv[0] is `env` for the squeue calls.
 */
export function slurmError(
  command: string | readonly string[],
  exitCode: number | null,
  stderr: string
): SchedulerError {
  const name = (typeof command === 'string' ? command : commandName(command)).split('/').pop();
  const tool = !name || name === 'env' ? 'Slurm' : name;
  const detail = stderr.trim() || `${tool} exited with code ${exitCode ?? 'none'}`;
  for (const rule of RULES) {
    const m = rule.pattern.exec(stderr);
    if (m) return new SchedulerError(rule.kind, rule.message(m), detail);
  }
  // The remote shell's "command not found"; a local spawn fails earlier, in the transport.
  if (exitCode === 127)
    return new SchedulerError('failed', `${tool} was not found on the cluster (is Slurm on the PATH?)`, detail);
  const line = firstErrorLine(stderr);
  const message = line ? `${tool} failed: ${line}` : `${tool} failed with exit code ${exitCode ?? 'none (killed)'}`;
  return new SchedulerError('failed', message, detail);
}
