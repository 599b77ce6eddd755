import { SchedulerError } from '../errors';
import type { Job } from '../types';
import { SQUEUE_FIELDS, SQUEUE_FIELD_SEPARATOR, SQUEUE_RECORD_SEPARATOR } from './argv';
import { parseDuration, parseTimestamp } from './time';

/*
 * Reads `myJobsArgv()` output: records end with RS + newline, fields end with US (see argv.ts),
 * so names and comments may hold '|', spaces, quotes and even newlines.
 */

/** What squeue prints for a missing string: C's printf of NULL, or Slurm's own N/A. */
function optional(text: string): string | null {
  return text === '' || text === '(null)' || text === 'N/A' ? null : text;
}

function int(name: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new SchedulerError('parse', `${name}: expected a whole number, got "${text}"`);
  return Number(text);
}

/** `(Priority)` is how %R shows a reason; the Reason field has no parentheses, but be lenient. */
function reasonOf(text: string): string | null {
  const value = optional(text.trim());
  if (value === null) return null;
  const m = /^\((.*)\)$/.exec(value);
  return m ? m[1] : value;
}

/**
 * `id` is what to act on: `123`, `123_4` for a started array task, and squeue's own
 * `123_[5-8%2]` for the pending rest of an array (scancel accepts it; one row stands for many).
 */
function ids(jobId: string, arrayJobId: string, arrayTaskId: string) {
  if (optional(arrayTaskId) === null)
    return { id: int('JobID', jobId).toString(), arrayJobId: null, arrayTaskId: null };
  const master = int('ArrayJobID', arrayJobId).toString();
  if (/^\d+$/.test(arrayTaskId)) return { id: `${master}_${arrayTaskId}`, arrayJobId: master, arrayTaskId };
  // Pending range: Slurm prints 5-8%2, 1,3,5, 0-15:4 or a list cut short with "..." .
  if (!/^\[?[\d,\-:%.]+\]?$/.test(arrayTaskId))
    throw new SchedulerError('parse', `ArrayTaskID: unexpected "${arrayTaskId}"`);
  const range = arrayTaskId.startsWith('[') ? arrayTaskId : `[${arrayTaskId}]`;
  return { id: `${master}_${range}`, arrayJobId: master, arrayTaskId: range };
}

function parseRecord(fields: string[]): Job {
  const f = Object.fromEntries(SQUEUE_FIELDS.map((name, i) => [name, fields[i]])) as Record<
    (typeof SQUEUE_FIELDS)[number],
    string
  >;
  const state = f.State.trim();
  const running = state !== 'PENDING';
  return {
    ...ids(f.JobID.trim(), f.ArrayJobID.trim(), f.ArrayTaskID.trim()),
    name: f.Name,
    user: f.UserName.trim(),
    state,
    reason: reasonOf(f.Reason),
    partition: f.Partition.trim(),
    nodes: optional(f.NodeList.trim()),
    numNodes: int('NumNodes', f.NumNodes.trim()),
    numCpus: int('NumCPUs', f.NumCPUs.trim()),
    timeUsed: parseDuration(f.TimeUsed) ?? 0,
    timeLimit: parseDuration(f.TimeLimit),
    // Slurm prints the whole limit as time left for a pending job; it has not started counting.
    timeLeft: running ? parseDuration(f.TimeLeft) : null,
    submitTime: parseTimestamp(f.SubmitTime),
    startTime: parseTimestamp(f.StartTime),
    gres: optional(f['tres-per-node'].trim()),
    comment: optional(f.Comment),
    workDir: optional(f.WorkDir)
  };
}

function show(record: string): string {
  const printable = JSON.stringify(record);
  return printable.length > 300 ? `${printable.slice(0, 300)}…` : printable;
}

/** The user's jobs from squeue output, in squeue's order. */
export function parseJobs(stdout: string): Job[] {
  const records = stdout.split(SQUEUE_RECORD_SEPARATOR);
  const tail = records.pop() ?? '';
  if (tail.trim() !== '') {
    throw new SchedulerError('parse', `squeue output does not end with a record separator: ${show(tail)}`, stdout);
  }
  return records.map((raw, index) => {
    // squeue's own newline ends the previous record; it belongs to none.
    const record = index === 0 ? raw : raw.replace(/^\n/, '');
    const fields = record.split(SQUEUE_FIELD_SEPARATOR);
    if (fields.length !== SQUEUE_FIELDS.length) {
      throw new SchedulerError(
        'parse',
        `squeue record ${index + 1}: expected ${SQUEUE_FIELDS.length} fields, got ${fields.length}: ${show(record)}`,
        record
      );
    }
    try {
      return parseRecord(fields);
    } catch (error) {
      if (error instanceof SchedulerError && error.kind === 'parse') {
        throw new SchedulerError('parse', `squeue record ${index + 1}: ${error.message}: ${show(record)}`, record, {
          cause: error
        });
      }
      throw error;
    }
  });
}
