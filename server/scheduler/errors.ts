/** Slurm said no. `message` is plain; `detail` keeps Slurm's own words for logs. */
export type SchedulerErrorKind =
  | 'invalid-request' // Slurm rejected what we asked (bad partition, too many GPUs…)
  | 'not-found' // no such job
  | 'permission' // not your job / not allowed
  | 'unavailable' // slurmctld not answering
  | 'parse' // output we could not read
  | 'failed'; // anything else

export class SchedulerError extends Error {
  constructor(
    readonly kind: SchedulerErrorKind,
    message: string,
    readonly detail?: string,
    options?: { cause?: unknown }
  ) {
    super(message, options);
    this.name = 'SchedulerError';
  }
}
