import { TransportError } from '../transport/errors';

/** Slurm said no. `message` is plain; `detail` keeps Slurm's own words for logs. */
export type SchedulerErrorKind =
  | 'invalid-request' // Slurm rejected what we asked (bad partition, too many GPUs…)
  | 'not-found' // no such job
  | 'permission' // not your job / not allowed
  | 'unavailable' // slurmctld not answering
  | 'parse' // output we could not read
  | 'no-accounting' // the cluster keeps no job accounting (sacct has nothing to say)
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

/**
 * What a failure tells the user (poller snapshots, API errors, the proxy page): which side is
 * down comes first, because the two need different patience (the login node or network, versus
 * Slurm's controller).
 */
export function describeFailure(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof TransportError && (err.kind === 'unreachable' || err.kind === 'timeout'))
    return `cluster unreachable: ${message}`;
  if (err instanceof SchedulerError && err.kind === 'unavailable') return `scheduler unreachable: ${message}`;
  return message;
}
