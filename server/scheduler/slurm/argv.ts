import type { SubmitOptions } from '../types';

/*
 * Slurm command lines as argv arrays (never shell strings) and the exact output formats the
 * parsers read. Each `-O` field is `Name:0<suffix>`: in both sinfo and squeue a size of 0
 * prints the value with plain "%s" (no padding, no truncation; checked in Slurm 22.05
 * src/{sinfo,squeue}/print.c `_print_str`, and Slurm's own default sinfo formats use
 * `nodelist:0`). Without a size Slurm pads and cuts every value to 20 characters.
 * A suffix cannot contain ',' because Slurm splits the -O list on commas.
 */

/**
 * sinfo values are node names, partition names, states, counts, gres and times: none is free
 * text and none can hold '|', so a readable '|' is safe and recorded output stays legible.
 */
export const SINFO_DELIMITER = '|';

/** One line per node and partition (`-N`); a node in two partitions prints twice. */
export const SINFO_FIELDS = [
  'NodeList', // one node name (with -N)
  'Partition', // name, '*' appended for the default partition
  'StateLong', // idle, mixed, allocated, down*, drained, idle~ …
  'CPUsState', // allocated/idle/other/total
  'Gres', // gpu:a100:4(S:0-1),mps:400 or (null)
  'GresUsed', // gpu:a100:2(IDX:0-1) or gpu:0
  'Available', // partition: up, down, drain, inactive
  'Time' // partition limit: infinite, 1-00:00:00, 4:00:00
] as const;

/**
 * squeue carries free text a user typed (job name, comment, work dir) and admin or plugin text
 * (pending reason), and any printable character, newlines included, may be in it. So fields end
 * with ASCII unit separator (0x1F) and each record with record separator (0x1E) before squeue's
 * own newline: the parser splits records on RS+LF, not on LF. validate.ts rejects control
 * characters in what hpclab submits, so our own jobs can never contain either.
 */
export const SQUEUE_FIELD_SEPARATOR = '\x1f';
export const SQUEUE_RECORD_SEPARATOR = '\x1e';

export const SQUEUE_FIELDS = [
  'JobID', // numeric job id (for array tasks, the task's own id)
  'ArrayJobID', // array master id, or the job id when not an array
  'ArrayTaskID', // 4, a pending range such as 5-8%2, or N/A
  'UserName',
  'State', // long form: PENDING, RUNNING …
  'Partition',
  'NodeList', // empty or (null) while pending
  'NumNodes',
  'NumCPUs',
  'TimeUsed',
  'TimeLimit', // UNLIMITED, NOT_SET or a duration
  'TimeLeft', // INVALID when past the limit
  'SubmitTime',
  'StartTime', // Slurm's estimate while pending, N/A when unknown
  'tres-per-node', // gres:gpu:1 (22.05) or gres/gpu:1 (later), N/A when none
  'Name',
  'Reason', // Priority, Resources, ReqNodeNotAvail, UnavailableNodes:c3, None
  'Comment', // (null) when none
  'WorkDir'
] as const;

/**
 * Timestamps are parsed as `2026-11-22T01:02:03`; a site or a user's bashrc may set
 * SLURM_TIME_FORMAT=relative ("Tomorr 01:02") and the transport has no env option, so the
 * squeue calls whose times we read run under `env`.
 */
const STANDARD_TIME = ['env', 'SLURM_TIME_FORMAT=standard'];

function formatList(fields: readonly string[], separator: string, last: string): string {
  return fields.map((field, i) => `${field}:0${i === fields.length - 1 ? last : separator}`).join(',');
}

export const SINFO_FORMAT = formatList(SINFO_FIELDS, SINFO_DELIMITER, '');
export const SQUEUE_FORMAT = formatList(SQUEUE_FIELDS, SQUEUE_FIELD_SEPARATOR, SQUEUE_RECORD_SEPARATOR);

/** Every node of every partition the user can see, one sinfo call. */
export function partitionsArgv(): string[] {
  return ['sinfo', '--noheader', '--Node', `--Format=${SINFO_FORMAT}`];
}

/**
 * The user's jobs, one squeue call. `--all` so jobs in hidden partitions are not left out
 * (with --me it still lists only the user's jobs). No `--array`: pending array tasks stay one
 * row (`123_[5-8%2]`) so a 1000-task sweep is not 1000 rows per poll; started tasks get their
 * own rows anyway.
 */
export function myJobsArgv(user?: string): string[] {
  const who = user === undefined ? ['--me'] : [`--user=${user}`];
  // --states=all: jobs that just ended stay listed (for MinJobAge, 5 min by default) with their
  // final state, so sessions learn why they ended (TIMEOUT, NODE_FAIL…) from the same one call.
  return [...STANDARD_TIME, 'squeue', ...who, '--all', '--states=all', '--noheader', `--Format=${SQUEUE_FORMAT}`];
}

/** Pending job ids of one partition in the order Slurm will consider them (priority, then id). */
export function pendingQueueArgv(partition: string): string[] {
  return ['squeue', `--partition=${partition}`, '--states=PENDING', '--noheader', '--sort=-p,i', '--format=%i'];
}

/** Option name for each SubmitOptions key, in the order they are written. */
const SBATCH_FLAGS: { [K in keyof SubmitOptions]-?: string } = {
  jobName: '--job-name',
  partition: '--partition',
  account: '--account',
  qos: '--qos',
  time: '--time',
  nodes: '--nodes',
  cpusPerTask: '--cpus-per-task',
  mem: '--mem',
  gres: '--gres',
  constraint: '--constraint',
  nodelist: '--nodelist',
  array: '--array',
  chdir: '--chdir',
  output: '--output',
  error: '--error',
  comment: '--comment',
  mailType: '--mail-type',
  mailUser: '--mail-user',
  hold: '--hold',
  noRequeue: '--no-requeue',
  sbatch: ''
};

/**
 * `sbatch --parsable` prints `JOBID` or `JOBID;CLUSTER`. No script argument: sbatch reads the
 * script from stdin. Each option is one `--flag=value` word, so a value that starts with '-'
 * or holds spaces can never become another option. Validate options first (validate.ts).
 */
export function submitArgv(options: SubmitOptions): string[] {
  const argv = ['sbatch', '--parsable'];
  for (const key of Object.keys(SBATCH_FLAGS) as (keyof SubmitOptions)[]) {
    const value = options[key];
    if (key === 'sbatch' || value === undefined || value === false) continue;
    argv.push(value === true ? SBATCH_FLAGS[key] : `${SBATCH_FLAGS[key]}=${value}`);
  }
  // The profile's own options last, in a stable order; validate.ts refused any hpclab sets.
  for (const [key, value] of Object.entries(options.sbatch ?? {}).sort(([a], [b]) => a.localeCompare(b)))
    argv.push(value === '' ? `--${key}` : `--${key}=${value}`);
  return argv;
}

/** Job ids must pass `jobIdSchema` first; they follow `--` where the tool allows it. */
export function cancelArgv(jobId: string): string[] {
  return ['scancel', '--', jobId];
}

export function holdArgv(jobId: string): string[] {
  return ['scontrol', 'hold', jobId];
}

export function releaseArgv(jobId: string): string[] {
  return ['scontrol', 'release', jobId];
}

/** Adds `minutes` to a job's time limit (scontrol's `TimeLimit+=N`: relative to the current limit). */
export function extendTimeLimitArgv(jobId: string, minutes: number): string[] {
  if (!Number.isInteger(minutes) || minutes < 1) throw new TypeError(`minutes must be a positive integer: ${minutes}`);
  return ['scontrol', 'update', `JobId=${jobId}`, `TimeLimit+=${minutes}`];
}

/** One line per job (`-o`); an array master id prints one line per task. */
export function jobDetailArgv(jobId: string): string[] {
  return ['scontrol', '--oneliner', 'show', 'job', jobId];
}

/** The Slurm tool an argv runs (skips the `env VAR=value` prefix), for error messages. */
export function commandName(argv: readonly string[]): string {
  let i = 0;
  if (argv[0] === 'env') {
    i = 1;
    while (i < argv.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(argv[i])) i++;
  }
  return argv[i] ?? '';
}
