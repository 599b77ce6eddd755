import type { Words } from '../translate';
import type { RestoreReport } from './run';
import type { ContinuedNotebook } from './words';

/**
 * The steps of "Continue in a new session" for the notebooks of one kernel allocation, given by
 * the caller so that the order can be tested without a kernel or a cluster.
 */
export interface ContinueSteps<N> {
  /** Saves the notebook's variables unless this warning's checkpoint is still current; throws when it cannot. */
  save(nb: N): Promise<void>;
  /** Stops the old allocation (DELETE /api/sessions/:id). */
  stop(): Promise<void>;
  /** Restarts the notebook's kernel: its launcher asks for an allocation again. */
  restart(nb: N): Promise<void>;
  /** Waits for the restarted kernel to take requests (the new allocation may queue). */
  ready(nb: N): Promise<void>;
  /** The job the kernel now runs in, as the kernel sees it. */
  job(nb: N): Promise<string | null>;
  restore(nb: N): Promise<RestoreReport>;
  /** The notification, in place: what is happening now. */
  progress(message: string): void;
}

/** Why continuing stopped, and whether the old allocation (and the kernels in it) still runs. */
export class ContinueError extends Error {
  constructor(
    message: string,
    readonly stopped: boolean
  ) {
    super(message);
    this.name = 'ContinueError';
  }
}

const reason = (err: unknown) => (err as Error).message;

/**
 * Save every notebook first (a notebook that cannot be saved keeps its allocation: nothing is
 * stopped), then stop the allocation, restart the kernels (each asks the companion for a new
 * allocation, which waits for the old job to end), and once each kernel answers in its new job,
 * put its variables back. Resolves with what each notebook got back.
 */
export async function continueKernels<N extends { name: string }>(
  notebooks: readonly N[],
  oldJob: string | null,
  steps: ContinueSteps<N>,
  trans: Words
): Promise<ContinuedNotebook[]> {
  const names = notebooks.map(nb => nb.name).join(', ');
  steps.progress(trans.__('Saving the variables of %1…', names));
  for (const nb of notebooks) {
    try {
      await steps.save(nb);
    } catch (err) {
      throw new ContinueError(
        trans.__('Could not save the variables of %1 (%2); job %3 keeps running.', nb.name, reason(err), oldJob ?? ''),
        false
      );
    }
  }
  steps.progress(trans.__('Stopping job %1…', oldJob ?? ''));
  try {
    await steps.stop();
  } catch (err) {
    throw new ContinueError(trans.__('Could not stop job %1: %2', oldJob ?? '', reason(err)), false);
  }
  steps.progress(trans.__('Waiting for a new allocation…'));
  const restarted = await Promise.allSettled(notebooks.map(nb => steps.restart(nb).then(() => steps.ready(nb))));
  const continued: ContinuedNotebook[] = [];
  for (const [i, nb] of notebooks.entries()) {
    const outcome = restarted[i];
    if (outcome.status === 'rejected') {
      continued.push({ name: nb.name, job: null, error: reason(outcome.reason) });
      continue;
    }
    let job: string | null = null;
    try {
      job = await steps.job(nb);
      if (job !== null && job === oldJob)
        throw new Error(trans.__('its kernel is still in job %1, which was to stop', job));
      steps.progress(trans.__('Restoring the variables of %1 in job %2…', nb.name, job ?? ''));
      continued.push({ name: nb.name, job, report: await steps.restore(nb) });
    } catch (err) {
      continued.push({ name: nb.name, job, error: reason(err) });
    }
  }
  if (continued.every(c => c.error !== undefined))
    throw new ContinueError(
      trans.__(
        'Stopped job %1, but no kernel came back (%2). The variables stay saved on the cluster, in ~/.hpclab/checkpoints.',
        oldJob ?? '',
        continued.map(c => c.error).join('; ')
      ),
      true
    );
  return continued;
}
