import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { listRuns, logPath, parseRunRef, readRun, runOutputs, taskStates, type StoredRun } from '../../runs/registry';
import { runsRoot } from '../../runs/submit';
import type { Scheduler } from '../../scheduler/types';
import type { Transport } from '../../transport/types';
import { defineCommand } from '../args';
import { type CliContext, UsageError, openContext, pickCluster } from '../context';
import { table } from '../format';
import { didYouMean } from '../suggest';

/*
 * `hpclab runs`: the batch runs `hpclab submit` made, read from their directories on the
 * cluster, with what Slurm still knows about their tasks; their logs; their outputs fetched to
 * the laptop; whole runs or single tasks cancelled, held and released.
 */

const ACTIONS = ['list', 'show', 'log', 'fetch', 'cancel', 'hold', 'release'] as const;
type Action = (typeof ACTIONS)[number];

/** Files bigger than this are listed but not fetched: the output stream is held in memory. */
const FETCH_MAX_BYTES = 256 * 1024 * 1024;

interface Target {
  cluster: string;
  transport: Transport;
  scheduler: Scheduler;
  root: string;
}

async function target(ctx: CliContext, flag: string | undefined): Promise<Target> {
  const cluster = pickCluster(ctx, flag);
  const { transport, scheduler } = ctx.clusters.get(cluster);
  const root = await ctx.progress.during(`Connecting to ${cluster}…`, () =>
    runsRoot(transport, ctx.config.clusters[cluster]?.runsDir)
  );
  return { cluster, transport, scheduler, root };
}

function summary(run: StoredRun) {
  const m = run.manifest;
  return {
    runId: m.runId,
    file: m.file,
    profile: m.profile,
    jobId: m.jobId ?? null,
    tasks: m.params?.length ?? null,
    array: m.array,
    createdAt: m.createdAt,
    runDir: run.runDir
  };
}

/** `4 COMPLETED, 1 FAILED`: a run's tasks in a few words; `ended` once Slurm forgot them. */
function stateWords(states: { state: string }[] | null): string {
  if (states === null) return 'ended';
  const counts = new Map<string, number>();
  for (const s of states) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
  return [...counts].map(([state, n]) => (states.length === 1 ? state : `${n} ${state}`)).join(', ');
}

async function list(t: Target, json: boolean): Promise<number> {
  const { runs, problems } = await listRuns(t.transport, t.root);
  for (const problem of problems) process.stderr.write(`hpclab: skipped a run: ${problem}\n`);
  const rows = await Promise.all(
    runs.map(async run => ({
      ...summary(run),
      state: run.manifest.jobId ? stateWords(await taskStates(t.scheduler, run.manifest.jobId)) : 'not submitted'
    }))
  );
  if (json) process.stdout.write(`${JSON.stringify({ cluster: t.cluster, runs: rows })}\n`);
  else if (rows.length === 0) process.stdout.write(`No runs in ${t.root} on ${t.cluster}.\n`);
  else
    process.stdout.write(
      `${table(
        ['RUN', 'FILE', 'JOB', 'TASKS', 'STATE', 'SUBMITTED'],
        rows.map(r => [r.runId, r.file, r.jobId ?? '-', String(r.tasks ?? r.array ?? 1), r.state, r.createdAt])
      )}\n`
    );
  return 0;
}

async function show(t: Target, run: StoredRun, json: boolean): Promise<number> {
  const states = run.manifest.jobId ? await taskStates(t.scheduler, run.manifest.jobId) : null;
  const outputs = await runOutputs(t.transport, run.runDir);
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ cluster: t.cluster, ...summary(run), params: run.manifest.params, tasks: states, outputs })}\n`
    );
    return 0;
  }
  const m = run.manifest;
  process.stdout.write(
    `run ${m.runId} on ${t.cluster}: ${m.file} (${m.kind}), profile ${m.profile}, job ${m.jobId ?? '-'}\n` +
      `  run dir: ${run.runDir}\n  submitted: ${m.createdAt}\n`
  );
  if (states === null) process.stdout.write('  Slurm no longer lists its job: it has ended.\n');
  else
    process.stdout.write(
      `${table(
        ['JOB', 'STATE', 'EXIT', 'NODE', 'TIME', 'PARAMETERS'],
        states.map(s => [
          s.jobId,
          s.reason && s.state === 'PENDING' ? `${s.state} (${s.reason})` : s.state,
          s.exitCode ?? '-',
          s.node ?? '-',
          s.runTime ?? '-',
          s.taskId !== null && m.params?.[Number(s.taskId)] ? JSON.stringify(m.params[Number(s.taskId)]) : '-'
        ])
      )}\n`
    );
  if (outputs.length > 0)
    process.stdout.write(`outputs:\n${outputs.map(o => `  ${o.path} (${o.size} bytes)`).join('\n')}\n`);
  return 0;
}

async function log(t: Target, run: StoredRun, task: string | null, lines: number): Promise<number> {
  if (task === null && (run.manifest.array !== null || run.manifest.params !== null))
    throw new UsageError(
      `${run.manifest.runId} is an array: name a task, e.g. hpclab runs log ${run.manifest.runId}_0`
    );
  const file = logPath(run, task);
  if (file === null)
    throw new UsageError(
      `cannot tell where ${run.manifest.runId}'s output is (its output pattern is ${run.manifest.output ?? 'unknown'})`
    );
  const r = await t.transport.exec(['tail', '-n', String(lines), '--', file]);
  if (r.code !== 0) {
    process.stderr.write(
      `hpclab: cannot read ${file}: ${r.stderr.trim()} (a task that has not started has no log yet)\n`
    );
    return 1;
  }
  process.stdout.write(r.stdout);
  return 0;
}

/** A path from the cluster, made safe to join under the local destination. */
function localPath(dest: string, relative: string): string {
  if (relative.split('/').some(part => part === '..' || part === '') || path.isAbsolute(relative))
    throw new Error(`refusing the remote path ${JSON.stringify(relative)}: it would leave ${dest}`);
  return path.join(dest, ...relative.split('/'));
}

async function fetchRun(t: Target, run: StoredRun, to: string | undefined, json: boolean, ctx: CliContext) {
  const dest = path.resolve(to ?? run.manifest.runId);
  const outputs = await runOutputs(t.transport, run.runDir);
  const fetched: string[] = [];
  const skipped: string[] = [];
  let done = 0;
  for (const output of outputs) {
    done++;
    if (output.size > FETCH_MAX_BYTES) {
      skipped.push(`${output.path} (${output.size} bytes: over ${FETCH_MAX_BYTES}; copy it with scp or rsync)`);
      continue;
    }
    const local = localPath(dest, output.path);
    const data = await ctx.progress.during(`Fetching ${output.path} (${done}/${outputs.length})…`, () =>
      t.transport.readFile(`${run.runDir}/${output.path}`, { maxBytes: output.size + 1 })
    );
    await fs.mkdir(path.dirname(local), { recursive: true, mode: 0o700 });
    await fs.writeFile(local, data, { mode: 0o600 });
    fetched.push(path.relative(process.cwd(), local) || local);
  }
  for (const s of skipped) process.stderr.write(`hpclab: skipped ${s}\n`);
  if (json) process.stdout.write(`${JSON.stringify({ runId: run.manifest.runId, dest, fetched, skipped })}\n`);
  else
    process.stdout.write(
      fetched.length === 0 ? `Nothing to fetch: ${run.manifest.runId} has no outputs yet.\n` : `${fetched.join('\n')}\n`
    );
  return skipped.length > 0 ? 1 : 0;
}

export const runsCommand = defineCommand({
  name: 'runs',
  summary: 'See batch runs, their logs and outputs; cancel, hold or release them',
  usage: [
    'hpclab runs [list] [--cluster C] [--json] [--config FILE]',
    'hpclab runs show RUN [--json]',
    'hpclab runs log RUN[_TASK] [--lines N]',
    'hpclab runs fetch RUN [--to DIR] [--json]',
    'hpclab runs cancel|hold|release RUN[_TASK]'
  ],
  description:
    "The runs hpclab submit made, read from their directories on the cluster (its runsDir), with their tasks' states as Slurm still knows them. fetch copies a run's outputs (everything under out/, executed notebooks included, and the job logs) into ./RUN/ (or --to DIR). cancel, hold and release act on the whole run, or on one task of an array as RUN_TASK.",
  flags: {
    cluster: { type: 'string', value: 'C', description: 'the cluster (default: defaults.cluster, else the only one)' },
    to: { type: 'string', value: 'DIR', description: 'fetch into DIR (default: ./RUN)' },
    lines: { type: 'string', value: 'N', description: 'log: how many lines from the end (default 100)' },
    json: { type: 'boolean', description: 'print the result as JSON' }
  },
  arguments: [
    { name: 'ACTION', description: `one of ${ACTIONS.join(', ')} (default: list)` },
    { name: 'RUN[_TASK]', description: 'a run id as hpclab runs lists it; _TASK names one task of an array' }
  ],
  examples: [
    { description: 'My runs and their states', command: 'hpclab runs' },
    { description: "Task 3's output so far", command: 'hpclab runs log analysis-20261205-143000-1a2b_3' },
    { description: 'Bring the executed notebooks home', command: 'hpclab runs fetch analysis-20261205-143000-1a2b' },
    {
      description: 'Cancel one task, leaving the others',
      command: 'hpclab runs cancel analysis-20261205-143000-1a2b_2'
    }
  ],
  env: ['HPCLAB_CONFIG', 'XDG_CONFIG_HOME', 'SSH_AUTH_SOCK', 'SHELL', 'CI'],
  async run({ values, positionals }) {
    const [action = 'list', ref, ...extra] = positionals;
    if (!(ACTIONS as readonly string[]).includes(action))
      throw new UsageError(
        `unknown runs action "${action}"${didYouMean(action, [...ACTIONS])}: use ${ACTIONS.join(', ')}`
      );
    if (extra.length > 0) throw new UsageError(`unexpected ${JSON.stringify(extra[0])}: give one run`);
    const lines = values.lines === undefined ? 100 : Number(values.lines);
    if (!Number.isInteger(lines) || lines < 1 || lines > 1_000_000)
      throw new UsageError(`--lines: expected a whole number of lines from 1, got ${JSON.stringify(values.lines)}`);
    let parsed: { runId: string; task: string | null } | undefined;
    if (action !== 'list') {
      if (ref === undefined)
        throw new UsageError(`give the run, e.g. hpclab runs ${action} RUN (hpclab runs lists them)`);
      try {
        parsed = parseRunRef(ref);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      if (parsed.task !== null && (action === 'show' || action === 'fetch'))
        throw new UsageError(`${action} takes a whole run: drop the _${parsed.task}`);
    }
    const ctx = await openContext(values.config);
    try {
      const t = await target(ctx, values.cluster);
      if (action === 'list' || parsed === undefined) return await list(t, values.json === true);
      const run = await readRun(t.transport, t.root, parsed.runId);
      const act = action as Exclude<Action, 'list'>;
      if (act === 'show') return await show(t, run, values.json === true);
      if (act === 'log') return await log(t, run, parsed.task, lines);
      if (act === 'fetch') return await fetchRun(t, run, values.to, values.json === true, ctx);
      if (!run.manifest.jobId) throw new UsageError(`${parsed.runId} was never submitted: nothing to ${act}`);
      const jobId = parsed.task !== null ? `${run.manifest.jobId}_${parsed.task}` : run.manifest.jobId;
      await t.scheduler[act](jobId);
      const done = { cancel: 'cancelled', hold: 'held', release: 'released' }[act];
      process.stdout.write(
        values.json ? `${JSON.stringify({ runId: parsed.runId, jobId, action: act })}\n` : `${done} job ${jobId}\n`
      );
      return 0;
    } finally {
      await ctx.clusters.close();
    }
  }
});
