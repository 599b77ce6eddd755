import { z } from 'zod';
import { SchedulerError } from '../scheduler/errors';
import type { Scheduler } from '../scheduler/types';
import type { Transport } from '../transport/types';
import type { RunManifest } from './plan';
import { expandOutputPattern } from './submit';
import { RUN_MANIFEST_FILE } from './task-runner';

/*
 * The runs on a cluster, read back from their directories: each run directory holds the
 * manifest `hpclab submit` wrote, so `hpclab runs` needs no state on the laptop and works from
 * any machine. What Slurm still knows about a run's tasks comes from scontrol.
 */

/** `train-20261205-143000-1a2b`: a file stem, the submit time and 4 hex digits. */
export const RUN_ID = /^[A-Za-z0-9_-]{1,40}-\d{8}-\d{6}-[0-9a-f]{4}$/;

/** `RUN` or `RUN_TASK`: the run id cannot end in `_digits`, so the task index is unambiguous. */
export function parseRunRef(ref: string): { runId: string; task: string | null } {
  const m = /^(.+?)(?:_(\d{1,7}))?$/.exec(ref);
  if (!m || !RUN_ID.test(m[1]))
    throw new RangeError(
      `RUN: expected a run id as hpclab runs lists it (e.g. train-20261205-143000-1a2b), optionally with _TASK, got ${JSON.stringify(ref)}`
    );
  return { runId: m[1], task: m[2] ?? null };
}

const paramValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const manifestSchema = z.object({
  version: z.literal(1),
  runId: z.string().regex(RUN_ID),
  cluster: z.string(),
  profile: z.string(),
  file: z.string(),
  kind: z.enum(['python', 'shell', 'executable', 'notebook']),
  args: z.array(z.string()),
  params: z.array(z.record(z.string(), paramValue)).nullable(),
  array: z.string().nullable(),
  jobName: z.string(),
  output: z.string().nullable().optional(),
  createdAt: z.string(),
  jobId: z.string().optional()
});

/** No such run, or no such output of a run: the API's 404. */
export class RunNotFoundError extends Error {
  name = 'RunNotFoundError';
}

export interface StoredRun {
  manifest: RunManifest;
  runDir: string;
}

/** Separates manifests in one listing: JSON never holds a raw control character. */
const RS = '\x1e';

/**
 * Every run under `root`, newest first, from ONE remote command; unreadable manifests are
 * returned apart with the reason, so a damaged run is shown rather than hidden.
 */
export async function listRuns(transport: Transport, root: string): Promise<{ runs: StoredRun[]; problems: string[] }> {
  // A fixed script; the root arrives as a positional argument. No runs dir yet: no runs.
  const script = `cd -- "$1" 2>/dev/null || exit 0; for f in */${RUN_MANIFEST_FILE}; do [ -f "$f" ] || continue; printf '%s\\n' "$f"; head -c 1048576 -- "$f"; printf '\\n\\036\\n'; done`;
  const r = await transport.exec(['sh', '-c', script, 'sh', root], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`cannot list the runs in ${root}: ${r.stderr.trim() || `exit ${r.code}`}`);
  const runs: StoredRun[] = [];
  const problems: string[] = [];
  for (const record of r.stdout.split(`\n${RS}\n`)) {
    const at = record.indexOf('\n');
    if (at < 0) continue;
    const file = record.slice(0, at);
    const dir = `${root}/${file.slice(0, -RUN_MANIFEST_FILE.length - 1)}`;
    try {
      runs.push({ manifest: parseManifest(record.slice(at + 1)), runDir: dir });
    } catch (err) {
      problems.push(`${dir}: ${(err as Error).message}`);
    }
  }
  runs.sort((a, b) => b.manifest.createdAt.localeCompare(a.manifest.createdAt));
  return { runs, problems };
}

export function parseManifest(text: string): RunManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${RUN_MANIFEST_FILE} is not JSON (${(err as Error).message})`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(`${RUN_MANIFEST_FILE} is not a run manifest hpclab knows: ${parsed.error.issues[0].message}`);
  return parsed.data as RunManifest;
}

export async function readRun(transport: Transport, root: string, runId: string): Promise<StoredRun> {
  const runDir = `${root}/${runId}`;
  let text: Buffer;
  try {
    text = await transport.readFile(`${runDir}/${RUN_MANIFEST_FILE}`, { maxBytes: 1 << 20 });
  } catch (err) {
    throw new RunNotFoundError(
      `no run ${runId} in ${root} (${(err as Error).message}); hpclab runs lists the runs there`
    );
  }
  return { manifest: parseManifest(text.toString('utf8')), runDir };
}

/** One task (or the one job) as Slurm still reports it. */
export interface TaskState {
  /** `123_4` for a task, `123` for a plain job, `123_[5-8%2]` for tasks not yet started. */
  jobId: string;
  taskId: string | null;
  state: string;
  exitCode: string | null;
  node: string | null;
  runTime: string | null;
  reason: string | null;
}

/** The run's tasks from scontrol, or null once Slurm has forgotten the job (MinJobAge). */
export async function taskStates(scheduler: Scheduler, jobId: string): Promise<TaskState[] | null> {
  let details: Record<string, string>[];
  try {
    details = await scheduler.jobDetails(jobId);
  } catch (err) {
    // Slurm forgets finished jobs after MinJobAge: the run has ended; its files remain.
    if (err instanceof SchedulerError && err.kind === 'not-found') return null;
    throw err;
  }
  return details.map(d => {
    const taskId = d.ArrayTaskId ?? null;
    const pending = taskId !== null && taskId.startsWith('[');
    return {
      jobId: taskId === null ? (d.JobId ?? jobId) : `${d.ArrayJobId ?? jobId}_${taskId}`,
      taskId,
      state: (d.JobState ?? 'UNKNOWN').split(' ')[0],
      exitCode: pending ? null : (d.ExitCode ?? null),
      node: d.NodeList && d.NodeList !== '(null)' ? d.NodeList : null,
      runTime: d.RunTime ?? null,
      reason: d.Reason && d.Reason !== 'None' ? d.Reason : null
    };
  });
}

/** Where a task's (or the job's) output is, absolute; null when the pattern is not one we can expand. */
export function logPath(run: StoredRun, task: string | null): string | null {
  const { manifest } = run;
  if (!manifest.jobId) return null;
  const pattern = manifest.output ?? `${run.runDir}/%x.${manifest.array ? '%A_%a' : '%j'}.out`;
  const expanded = expandOutputPattern(pattern, {
    name: manifest.jobName,
    jobId: task !== null ? `${manifest.jobId}_${task}` : manifest.jobId,
    arrayJobId: manifest.jobId,
    taskId: task ?? undefined
  });
  if (expanded.includes('%')) return null;
  return expanded.startsWith('/') ? expanded : `${run.runDir}/${expanded}`;
}

/** The files a run made that `fetch` brings back: everything under out/ and the job logs. */
export async function runOutputs(transport: Transport, runDir: string): Promise<{ path: string; size: number }[]> {
  // find's -path takes a pattern: the directory's own glob characters are escaped.
  const dir = runDir.replace(/[[\]*?\\]/g, '\\$&');
  const r = await transport.exec([
    'find',
    runDir,
    '-type',
    'f',
    '(',
    '-path',
    `${dir}/out/*`,
    '-o',
    '-path',
    `${dir}/*.out`,
    '!',
    '-path',
    `${dir}/*/*`,
    ')',
    '-printf',
    '%s\\t%P\\0'
  ]);
  if (r.code !== 0) throw new Error(`cannot list the outputs in ${runDir}: ${r.stderr.trim()}`);
  return r.stdout
    .split('\0')
    .filter(Boolean)
    .map(entry => {
      const tab = entry.indexOf('\t');
      return { size: Number(entry.slice(0, tab)), path: entry.slice(tab + 1) };
    })
    .sort((a, b) => a.path.localeCompare(b.path));
}
