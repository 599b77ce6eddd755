import type { Transport, ExecOptions } from '../../transport/types';
import { SchedulerError } from '../errors';
import type { HistoryJob, Job, NodeSummary, PartitionSummary, Scheduler, SubmitRequest } from '../types';
import { checkJobId, checkSubmitOptions, submitOptionsSchema } from '../validate';
import {
  cancelArgv,
  holdArgv,
  jobDetailArgv,
  myJobsArgv,
  partitionsArgv,
  pendingQueueArgv,
  releaseArgv,
  extendTimeLimitArgv,
  submitArgv
} from './argv';
import { slurmError } from './errors';
import { parseNodes, parsePartitions } from './parse-sinfo';
import { parseJobs } from './parse-squeue';
import { parseJobDetail, parseJobDetails } from './parse-scontrol';
import { historyArgv, parseHistory } from './parse-sacct';

/** The least time between two sbatch calls of one companion: a burst of requests reaches slurmctld as a trickle. */
export const SUBMIT_GAP_MS = 250;
/** One pending-queue listing per partition serves every position asked for within this time. */
const QUEUE_FRESH_MS = 5_000;

/**
 * Slurm through a transport: argv builders in, parsers out. Every user-facing value is checked
 * against Slurm's grammar before anything runs; Slurm's complaints become SchedulerErrors.
 */
export class SlurmScheduler implements Scheduler {
  private submitting: Promise<unknown> = Promise.resolve();
  private lastSubmitAt = 0;
  private readonly queues = new Map<string, { at: number; ids: Promise<string[]> }>();

  constructor(private readonly transport: Transport) {}

  async partitions(): Promise<PartitionSummary[]> {
    return parsePartitions(await this.run(partitionsArgv()));
  }

  async nodes(): Promise<NodeSummary[]> {
    return parseNodes(await this.run(partitionsArgv()));
  }

  async extendTimeLimit(jobId: string, minutes: number): Promise<void> {
    await this.run(extendTimeLimitArgv(checkJobId(jobId), minutes));
  }

  async myJobs(): Promise<Job[]> {
    return parseJobs(await this.run(myJobsArgv()));
  }

  async submit(request: SubmitRequest): Promise<string> {
    const options = checkSubmitOptions(request.options);
    checkScript(request.script);
    // One sbatch at a time, spaced: slurmctld serves hundreds of users, and admins ban floods.
    const turn = this.submitting.then(async () => {
      const wait = this.lastSubmitAt + SUBMIT_GAP_MS - Date.now();
      if (wait > 0) await new Promise(r => setTimeout(r, wait));
      this.lastSubmitAt = Date.now();
      return this.run(submitArgv(options), { stdin: request.script });
    });
    this.submitting = turn.catch(() => undefined); // the next submit waits its turn either way; this one's failure goes to its caller
    const out = await turn;
    // --parsable prints "jobid" or "jobid;cluster".
    const id = out.trim().split(';')[0];
    if (!/^\d+$/.test(id)) throw new SchedulerError('parse', `sbatch answered "${out.trim()}" instead of a job id`);
    return id;
  }

  async cancel(jobId: string): Promise<void> {
    await this.run(cancelArgv(checkJobId(jobId)));
  }

  async hold(jobId: string): Promise<void> {
    await this.run(holdArgv(checkJobId(jobId)));
  }

  async release(jobId: string): Promise<void> {
    await this.run(releaseArgv(checkJobId(jobId)));
  }

  async jobDetail(jobId: string): Promise<Record<string, string>> {
    const out = await this.run(jobDetailArgv(checkJobId(jobId)));
    const line = out.split('\n').find(l => l.trim());
    if (!line) throw new SchedulerError('not-found', `Slurm has no job ${jobId}`);
    return parseJobDetail(line);
  }

  async jobDetails(jobId: string): Promise<Record<string, string>[]> {
    const details = parseJobDetails(await this.run(jobDetailArgv(checkJobId(jobId))));
    if (details.length === 0) throw new SchedulerError('not-found', `Slurm has no job ${jobId}`);
    return details;
  }

  async history(query: { since: string }): Promise<HistoryJob[]> {
    return parseHistory(await this.run(historyArgv({ since: query.since })));
  }

  async queuePosition(jobId: string, partition: string): Promise<number | null> {
    const checked = submitOptionsSchema.shape.partition.safeParse(partition);
    if (!checked.success)
      throw new SchedulerError('invalid-request', checked.error.issues[0]?.message ?? 'partition: invalid');
    const ids = await this.pendingQueue(partition);
    const at = ids.indexOf(checkJobId(jobId));
    return at < 0 ? null : at + 1;
  }

  /** The partition's pending job ids in priority order, shared by every session that asks meanwhile. */
  private pendingQueue(partition: string): Promise<string[]> {
    const cached = this.queues.get(partition);
    if (cached && Date.now() - cached.at < QUEUE_FRESH_MS) return cached.ids;
    const ids = this.run(pendingQueueArgv(partition)).then(out => out.split('\n').map(l => l.trim()));
    this.queues.set(partition, { at: Date.now(), ids });
    ids.catch(() => this.queues.delete(partition)); // a failed answer is not kept; the callers get the error
    return ids;
  }

  private async run(argv: string[], options?: ExecOptions): Promise<string> {
    const r = await this.transport.exec(argv, options);
    if (r.code !== 0) throw slurmError(argv, r.code, r.stderr);
    return r.stdout;
  }
}

/** sbatch wants `#!` on the first line; CRLF scripts fail on the node in confusing ways. */
function checkScript(script: string): void {
  if (!script.startsWith('#!'))
    throw new SchedulerError(
      'invalid-request',
      'script: the first line must start with #! and an interpreter, e.g. #!/bin/bash'
    );
  if (script.includes('\0')) throw new SchedulerError('invalid-request', 'script: contains a NUL byte');
  if (script.includes('\r\n'))
    throw new SchedulerError('invalid-request', 'script: has Windows (CRLF) line endings; save it with LF endings');
}
