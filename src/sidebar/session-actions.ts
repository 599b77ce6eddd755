import { InputDialog } from '@jupyterlab/apputils';
import { HpclabError } from '../api';
import type { Session } from '../contract';
import { notifyTask } from '../notifications';
import type { IHpclabModel } from '../tokens';
import type { Words } from '../translate';
import { byteSize } from './workspace-line';

/** Minutes the Extend dialog offers first. */
const EXTEND_DEFAULT_MINUTES = 60;

const named = (s: Session, trans: Words) => trans.__('%1 (job %2)', s.profile, s.jobId ?? '');

/** After an action: the sidebar's line should not wait for the next poll. */
function refreshSoon(model: IHpclabModel): void {
  // A failed refresh needs no word here: model.error carries it and the sidebar shows it.
  void model.refresh().catch(() => undefined);
}

/**
 * "Back up now": one notification while the companion backs the workspace up, then the file it
 * wrote, its size and how long it took. One already running (409) is a warning, not an error.
 * Never rejects: the notification says what went wrong.
 */
export async function backUpWorkspace(model: IHpclabModel, s: Session, trans: Words): Promise<void> {
  const what = named(s, trans);
  const backup = await notifyTask(
    trans.__('Backing up the workspace of %1…', what),
    model.api.backupWorkspace(s.id),
    b => ({
      type: 'success',
      message:
        b.seconds === undefined
          ? trans.__('Backed up the workspace of %1 to %2 (%3).', what, b.name, byteSize(b.bytes))
          : trans.__(
              'Backed up the workspace of %1 to %2 (%3 in %4 s).',
              what,
              b.name,
              byteSize(b.bytes),
              Math.round(b.seconds)
            )
    }),
    err => ({
      type: err instanceof HpclabError && err.status === 409 ? 'warning' : 'error',
      message: trans.__('Cannot back up the workspace of %1: %2', what, err.message)
    })
  );
  if (backup) refreshSoon(model);
}

/**
 * "Extend": asks how many minutes more (60 first), then asks Slurm through the companion. A site
 * that does not let users extend answers `extended: false`; its words are shown as a warning.
 */
export async function extendSession(model: IHpclabModel, s: Session, trans: Words): Promise<void> {
  const what = named(s, trans);
  const answer = await InputDialog.getNumber({
    title: trans.__('Extend %1', what),
    label: trans.__('More time for this job'),
    suffix: trans.__('min'),
    value: EXTEND_DEFAULT_MINUTES,
    okLabel: trans.__('Extend')
  });
  // An emptied field gives NaN: nothing to ask for. Other bad numbers get the companion's words.
  if (!answer.button.accept || answer.value === null || Number.isNaN(answer.value)) return;
  const minutes = answer.value;
  const reply = await notifyTask(
    trans.__('Asking for %1 more minutes for %2…', minutes, what),
    model.api.extendSession(s.id, minutes),
    r => ({ type: r.extended ? 'success' : 'warning', message: r.message }),
    err => ({ type: 'error', message: trans.__('Cannot extend %1: %2', what, err.message) })
  );
  if (reply?.extended) refreshSoon(model);
}
