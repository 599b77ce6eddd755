import type { Session } from '../contract';
import { LiveNotification } from '../notifications';
import type { IHpclabModel } from '../tokens';
import type { Words } from '../translate';

/** How long the old Lab may take to back its workspace up and end before the new one is asked for. */
const END_WAIT_MS = 10 * 60_000;
const POLL_MS = 3000;

const ended = (s: Session | undefined) => !s || s.state === 'ended' || s.state === 'failed';

/**
 * "Continue in a new session" for a Lab on a node: stop it (the companion backs its workspace up
 * before the job ends), wait until it has ended so that the new session restores that backup and
 * not an older one, then request a Lab session of the same profile. Resolves false when it failed
 * (the notification says why), so the user may try again.
 */
export async function continueLab(
  model: IHpclabModel,
  s: Session,
  note: LiveNotification,
  trans: Words,
  now: () => number = Date.now
): Promise<boolean> {
  const clicked = now();
  try {
    note.show(trans.__('Stopping job %1; its workspace is backed up first…', s.jobId ?? ''), 'in-progress');
    await model.api.stopSession(s.id);
    while (!ended(model.session(s.id))) {
      if (now() - clicked > END_WAIT_MS)
        throw new Error(trans.__('job %1 has not ended after %2 min', s.jobId ?? '', END_WAIT_MS / 60_000));
      await new Promise(resolve => setTimeout(resolve, POLL_MS));
      // A failed refresh shows in the sidebar; the loop asks again at the next turn.
      await model.refresh().catch((err: unknown) => console.warn('hpclab: refresh while a Lab stops failed', err));
    }
    note.show(trans.__('Requesting a new Lab session of %1…', s.profile), 'in-progress');
    const next = await model.api.createSession(
      { kind: 'lab', profile: s.profile, cluster: s.cluster },
      `continue-${s.id}-${clicked}`
    );
    const text = trans.__(
      'Stopped job %1 (workspace backed up) and requested a new Lab session of %2: job %3. It opens from its notification.',
      s.jobId ?? '',
      s.profile,
      next.jobId ?? '?'
    );
    note.show(text, 'success', { autoClose: 15_000 });
    console.info(`hpclab: ${text} [${((now() - clicked) / 1000).toFixed(1)} s from "Continue in a new session"]`);
    // The sidebar shows the new session at once rather than at the next poll; a failure shows there.
    await model.refresh().catch((err: unknown) => console.warn('hpclab: refresh after continuing failed', err));
    return true;
  } catch (err) {
    console.warn(`hpclab: continuing Lab session ${s.id} (job ${s.jobId}) failed`, err);
    note.show(
      trans.__('Could not continue Lab session %1 (job %2): %3', s.profile, s.jobId ?? '', (err as Error).message),
      'error'
    );
    return false;
  }
}

/** A Lab on a node whose profile keeps a workspace, at its first walltime warning: offer to go on in a new one. */
export function offerLabContinue(model: IHpclabModel, s: Session, trans: Words, now: () => number = Date.now): void {
  const note = new LiveNotification();
  let continuing = false;
  note.show(
    trans.__(
      'Lab session %1 (job %2) can continue in a new session; its workspace is backed up when it stops.',
      s.profile,
      s.jobId ?? ''
    ),
    'info',
    {
      actions: [
        {
          label: trans.__('Continue in a new session'),
          keepOpen: true,
          callback: () => {
            if (continuing) return;
            continuing = true;
            void continueLab(model, s, note, trans, now).then(done => {
              // Failed: the button may be used again.
              continuing = done;
            });
          }
        }
      ]
    }
  );
}
