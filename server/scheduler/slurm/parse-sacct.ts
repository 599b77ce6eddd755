import { SchedulerError } from '../errors';
import type { HistoryJob, JobState } from '../types';
import { durationSeconds, parseTimestamp } from './time';
import { checkSince, sinceSpan } from '../validate';

/*
 * Job history from Slurm accounting (`sacct`, needs slurmdbd). sacct prints one row per job
 * (allocation) and one per step (`123.batch`, `123.extern`, `123.0`, …). Only steps carry
 * MaxRSS, so the query keeps them (no -X) and the parser folds each into its job: one
 * HistoryJob per job or array task, with the largest step's peak memory.
 * Checked against Slurm 22.05.8 (`sacct --helpformat`, test/fixtures/slurm/sacct-history.txt).
 */

/**
 * sacct has a field delimiter option but no record separator: fields end with ASCII unit
 * separator (0x1F), as in squeue (argv.ts), and a record broken by a newline in a job name is
 * put back together by its field count (see splitRecords).
 */
export const SACCT_FIELD_SEPARATOR = '\x1f';

export const SACCT_FIELDS = [
  'JobID', // 123, 123_4 (array task), 123+0 (het job component), then .batch, .extern, .0 for steps
  'JobName', // free text; steps are named batch, extern or after the command
  'Partition', // empty on steps
  'State', // COMPLETED, FAILED, TIMEOUT, "CANCELLED by 1001" …
  'ExitCode', // code:signal
  'ElapsedRaw', // seconds
  'Submit',
  'Start', // Unknown while pending
  'End', // Unknown while running
  'AllocCPUS', // requested CPUs while pending
  'TotalCPU', // user+system, [D-][HH:]MM:SS.mmm; summed over steps on the job row
  'ReqMem', // job row only: 1024M (22.05: the job's total), 4000Mn / 2000Mc before 21.08
  'MaxRSS', // steps only: bytes with --noconvert, empty when never sampled
  'NNodes',
  'NodeList', // "None assigned" while pending
  'AllocTRES', // billing=2,cpu=2,gres/gpu=1,node=1 (gres/gpu when AccountingStorageTRES has it)
  'Comment' // free text; recorded only with AccountingStoreFlags=job_comment
] as const;

/** As in argv.ts: a site or a bashrc may set SLURM_TIME_FORMAT=relative, and times are parsed. */
const STANDARD_TIME = ['env', 'SLURM_TIME_FORMAT=standard'];

const SINCE_UNITS: Record<string, string> = { s: 'seconds', m: 'minutes', h: 'hours', d: 'days', w: 'weeks' };

/**
 * sacct's --starttime for what a user typed after `--since` (checked by validate.ts): a span
 * becomes sacct's own `now-7days`, so the cluster's clock and zone decide, not this one's;
 * a date stays as typed, the cluster's local time, as sacct prints them.
 */
export function sacctStartTime(since: string): string {
  const checked = checkSince(since);
  const span = sinceSpan(checked);
  return span ? `now-${span.count}${SINCE_UNITS[span.unit]}` : checked;
}

export interface HistoryQuery {
  /** See sacctStartTime. */
  since: string;
  /** Whose jobs; sacct's default is the user it runs as. */
  user?: string;
}

/**
 * Jobs that ran (or were eligible) since `since`, with their steps. `--noconvert` prints MaxRSS
 * as plain bytes and ReqMem in its own unit, so no value comes rounded (`1.50G`).
 */
export function historyArgv(query: HistoryQuery): string[] {
  const who = query.user === undefined ? [] : [`--user=${query.user}`];
  return [
    ...STANDARD_TIME,
    'sacct',
    ...who,
    '--parsable2',
    '--noheader',
    '--noconvert',
    `--delimiter=${SACCT_FIELD_SEPARATOR}`,
    `--starttime=${sacctStartTime(query.since)}`,
    `--format=${SACCT_FIELDS.join(',')}`
  ];
}

type Row = Record<(typeof SACCT_FIELDS)[number], string>;

/** States in which sacct's numbers are still moving (TotalCPU and MaxRSS land at step end). */
const UNFINISHED = new Set(['PENDING', 'RUNNING', 'SUSPENDED', 'REQUEUED', 'RESIZING', 'COMPLETING']);

function show(text: string): string {
  const printable = JSON.stringify(text);
  return printable.length > 300 ? `${printable.slice(0, 300)}…` : printable;
}

function int(name: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new SchedulerError('parse', `${name}: expected a whole number, got "${text}"`);
  return Number(text);
}

function optional(text: string): string | null {
  return text === '' || text === 'None assigned' || text === '(null)' ? null : text;
}

/** `COMPLETED`, or `CANCELLED by 1001` → CANCELLED and the uid. */
function stateOf(text: string): { state: JobState; cancelledBy: number | null } {
  const m = /^(\S+)(?: by (\d+))?$/.exec(text.trim());
  if (!m) throw new SchedulerError('parse', `State: unexpected "${text}"`);
  return { state: m[1], cancelledBy: m[2] === undefined ? null : Number(m[2]) };
}

/** `code:signal` → the status a shell would show: the code, or 128+signal. Empty → null. */
export function exitStatus(text: string): number | null {
  if (text === '') return null;
  const m = /^(\d+):(\d+)$/.exec(text);
  if (!m) throw new SchedulerError('parse', `ExitCode: expected code:signal, got "${text}"`);
  return Number(m[2]) > 0 ? 128 + Number(m[2]) : Number(m[1]);
}

/** TotalCPU: Slurm's duration with milliseconds (`00:02.217`, `1-02:03:04`); empty → null. */
export function cpuTimeSeconds(text: string): number | null {
  if (text === '') return null;
  const m = /^(.*?)(?:\.(\d+))?$/.exec(text);
  const whole = m ? durationSeconds(m[1]) : undefined;
  if (m === null || whole === undefined) throw new SchedulerError('parse', `TotalCPU: unrecognized "${text}"`);
  return whole + (m[2] === undefined ? 0 : Number(`0.${m[2]}`));
}

const UNIT: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50 };

/**
 * A Slurm memory size in bytes: `219844608` (bytes, as --noconvert prints MaxRSS), `214448K`,
 * `1024M`, `1.50G`; and the `n` (per node) / `c` (per CPU) suffix ReqMem had before 21.08.
 * Empty → null. Units are binary, as everywhere in Slurm.
 */
export function parseMemory(name: string, text: string): { bytes: number; per: 'node' | 'cpu' | null } | null {
  if (text === '') return null;
  const m = /^(\d+(?:\.\d+)?)([KMGTP]?)([nc]?)$/.exec(text);
  if (!m) throw new SchedulerError('parse', `${name}: expected a size such as 512M or 4Gn, got "${text}"`);
  const per = m[3] === 'n' ? 'node' : m[3] === 'c' ? 'cpu' : null;
  return { bytes: Math.round(Number(m[1]) * UNIT[m[2]]), per };
}

/** GPUs in a TRES list: `gres/gpu=2`, or the sum of typed `gres/gpu:a100=2` when only those appear. */
function gpusOf(tres: string): number {
  let total: number | null = null;
  let typed = 0;
  for (const item of tres.split(',')) {
    const m = /^gres\/gpu(:[^=]+)?=(\d+)$/.exec(item);
    if (!m) continue;
    if (m[1] === undefined) total = Number(m[2]);
    else typed += Number(m[2]);
  }
  return total ?? typed;
}

const ratio = (used: number, available: number) => Math.min(1, used / available);

/**
 * The job's own key and, for steps, the step: `123_4.batch` → ['123_4', 'batch']. Job ids
 * never hold a dot (array ranges use '-' ',' ':' '%'), so the first dot starts the step.
 */
function splitId(jobId: string): [string, string | null] {
  const dot = jobId.indexOf('.');
  return dot < 0 ? [jobId, null] : [jobId.slice(0, dot), jobId.slice(dot + 1)];
}

/**
 * Records from sacct's lines. A job name or comment may hold a newline (sbatch takes one), so a
 * record that has too few fields continues on the next line; the separator itself is refused
 * by validate.ts in what hpclab submits.
 */
function splitRecords(stdout: string): string[][] {
  const lines = stdout.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const records: string[][] = [];
  let pending: string | null = null;
  for (const line of lines) {
    const text: string = pending === null ? line : `${pending}\n${line}`;
    const fields = text.split(SACCT_FIELD_SEPARATOR);
    if (fields.length < SACCT_FIELDS.length) {
      pending = text;
      continue;
    }
    if (fields.length > SACCT_FIELDS.length) {
      throw new SchedulerError(
        'parse',
        `sacct record ${records.length + 1}: expected ${SACCT_FIELDS.length} fields, got ${fields.length}: ${show(text)}`,
        text
      );
    }
    records.push(fields);
    pending = null;
  }
  if (pending !== null) {
    const got = pending.split(SACCT_FIELD_SEPARATOR).length;
    throw new SchedulerError(
      'parse',
      `sacct record ${records.length + 1}: expected ${SACCT_FIELDS.length} fields, got ${got}: ${show(pending)}`,
      pending
    );
  }
  return records;
}

function toRow(fields: string[]): Row {
  return Object.fromEntries(SACCT_FIELDS.map((name, i) => [name, fields[i]])) as Row;
}

function fold(job: Row, steps: Row[]): HistoryJob {
  const { state, cancelledBy } = stateOf(job.State);
  const ended = !UNFINISHED.has(state);
  const cpus = int('AllocCPUS', job.AllocCPUS);
  const nodeCount = int('NNodes', job.NNodes);
  const elapsedSeconds = int('ElapsedRaw', job.ElapsedRaw);

  // Slurm ends a job's steps itself on TIMEOUT and scancel, and then records 0:0 on the job;
  // what the script got (SIGTERM, 143) is on the batch step. A job that never started has none.
  const start = parseTimestamp(job.Start);
  let exitCode = ended && start !== null ? exitStatus(job.ExitCode) : null;
  const batch = steps.find(s => splitId(s.JobID)[1] === 'batch');
  if (exitCode === 0 && state !== 'COMPLETED' && batch) exitCode = exitStatus(batch.ExitCode) ?? 0;

  // The job row's TotalCPU is the sum of its steps; older Slurm left it empty, so sum them then.
  let cpuSeconds = cpuTimeSeconds(job.TotalCPU);
  if (cpuSeconds === null && steps.length > 0)
    cpuSeconds = steps.reduce((sum, s) => sum + (cpuTimeSeconds(s.TotalCPU) ?? 0), 0);

  const req = parseMemory('ReqMem', job.ReqMem);
  const reqMemBytes =
    req === null ? null : req.per === 'cpu' ? req.bytes * cpus : req.per === 'node' ? req.bytes * nodeCount : req.bytes;
  let maxRssBytes: number | null = null;
  for (const step of steps) {
    const rss = parseMemory('MaxRSS', step.MaxRSS);
    if (rss !== null && (maxRssBytes === null || rss.bytes > maxRssBytes)) maxRssBytes = rss.bytes;
  }
  const perNode = reqMemBytes === null ? 0 : reqMemBytes / Math.max(1, nodeCount);

  return {
    jobId: job.JobID,
    name: job.JobName,
    partition: optional(job.Partition),
    state,
    cancelledBy,
    exitCode,
    elapsedSeconds,
    submit: parseTimestamp(job.Submit),
    start,
    end: parseTimestamp(job.End),
    cpus,
    cpuSeconds,
    // Without CPU binding (task/none) a job can use more cores than it was given; capped at 1.
    cpuEfficiency:
      ended && cpuSeconds !== null && elapsedSeconds > 0 && cpus > 0 ? ratio(cpuSeconds, elapsedSeconds * cpus) : null,
    reqMemBytes,
    maxRssBytes,
    // Likewise memory without enforcement (no cgroups): a job may exceed what it asked for.
    memEfficiency: ended && maxRssBytes !== null && perNode > 0 ? ratio(maxRssBytes, perNode) : null,
    gpus: gpusOf(job.AllocTRES),
    nodes: optional(job.NodeList),
    comment: optional(job.Comment)
  };
}

/** One HistoryJob per job or array task in `historyArgv()` output, in sacct's order. */
export function parseHistory(stdout: string): HistoryJob[] {
  const jobs = new Map<string, { job: Row; steps: Row[] }>();
  splitRecords(stdout).forEach((fields, index) => {
    const row = toRow(fields);
    const [key, step] = splitId(row.JobID);
    if (key === '') throw new SchedulerError('parse', `sacct record ${index + 1}: no JobID: ${show(fields.join('|'))}`);
    const entry = jobs.get(key);
    if (step === null) {
      if (entry) throw new SchedulerError('parse', `sacct record ${index + 1}: job ${key} appears twice`);
      jobs.set(key, { job: row, steps: [] });
    } else if (entry) {
      entry.steps.push(row);
    } else {
      // sacct prints a job's row before its steps; a lone step means output we do not understand.
      throw new SchedulerError('parse', `sacct record ${index + 1}: step ${row.JobID} comes before job ${key}`);
    }
  });
  return [...jobs.values()].map(({ job, steps }) => {
    try {
      return fold(job, steps);
    } catch (error) {
      if (error instanceof SchedulerError && error.kind === 'parse') {
        throw new SchedulerError('parse', `sacct job ${job.JobID}: ${error.message}`, job.JobID, { cause: error });
      }
      throw error;
    }
  });
}
