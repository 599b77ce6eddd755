import type { Words } from '../translate';
import type { CheckpointReport, RestoreReport } from './run';

/** JupyterLab cuts a notification's text at 140 characters (apputils-extension, MAX_MESSAGE_LENGTH). */
export const NOTE_LIMIT = 140;

/** One notebook's checkpoint: what it saved, or why it could not. */
export interface SavedNotebook {
  name: string;
  report?: CheckpointReport;
  error?: string;
}

/** One notebook after "Continue in a new session". */
export interface ContinuedNotebook {
  name: string;
  job: string | null;
  /** What restore() said; absent when it could not run, `error` says why. */
  report?: RestoreReport;
  error?: string;
}

/**
 * `a (why), b (why)` when it fits in `room` characters, else the names alone, else as many names
 * as fit and "and N more": a name is never dropped without saying how many were (Details lists all).
 */
export function namesWithReasons(items: Record<string, string>, room: number, trans: Words): string {
  const names = Object.keys(items);
  const withReasons = names.map(n => `${n} (${items[n]})`).join(', ');
  if (withReasons.length <= room) return withReasons;
  const plain = names.join(', ');
  if (plain.length <= room) return plain;
  for (let shown = names.length - 1; shown > 0; shown--) {
    const text = trans.__('%1 and %2 more', names.slice(0, shown).join(', '), names.length - shown);
    if (text.length <= room) return text;
  }
  return trans._n('%1 variable', '%1 variables', names.length);
}

/** The sentence for one notebook's checkpoint, with what was not saved fitted into `room`. */
function savedSentence(nb: SavedNotebook, room: number, trans: Words): string {
  if (!nb.report) return trans.__('Could not save the variables of %1: %2', nb.name, nb.error ?? '');
  const { saved, skipped, pickler } = nb.report;
  const skippedNames = Object.keys(skipped);
  if (saved.length === 0 && skippedNames.length === 0)
    return trans.__('Nothing to save yet in %1: its variables are saved after its next run.', nb.name);
  let head = trans._n(
    'Saved %1 variable of %2 to continue later',
    'Saved %1 variables of %2 to continue later',
    saved.length,
    nb.name
  );
  if (pickler === 'pickle') head += trans.__(' (without dill: pickle)');
  if (skippedNames.length === 0) return `${head}.`;
  const lead = trans.__('%1; not saved: ', head);
  return lead + namesWithReasons(skipped, Math.max(20, room - lead.length), trans);
}

/** What the checkpoint notification says: one line per notebook, within JupyterLab's limit. */
export function savedMessage(notebooks: SavedNotebook[], trans: Words, limit = NOTE_LIMIT): string {
  const room = Math.floor((limit - (notebooks.length - 1)) / Math.max(1, notebooks.length));
  return notebooks.map(nb => savedSentence(nb, room, trans)).join('\n');
}

/** Whether anything is worth the user's attention: a name not saved, or a notebook not saved. */
export function savedWithLoss(notebooks: SavedNotebook[]): boolean {
  return notebooks.some(nb => !nb.report || Object.keys(nb.report.skipped).length > 0);
}

/** "Continued in job 46: restored x, y; could not restore: z", one line per notebook when several. */
export function continuedMessage(notebooks: ContinuedNotebook[], trans: Words, limit = NOTE_LIMIT): string {
  const room = Math.floor((limit - (notebooks.length - 1)) / Math.max(1, notebooks.length));
  return notebooks
    .map(nb => {
      const head =
        notebooks.length > 1
          ? trans.__('%1 continued in job %2', nb.name, nb.job ?? '?')
          : trans.__('Continued in job %1', nb.job ?? '?');
      if (!nb.report)
        return nb.job === null
          ? trans.__('%1 did not come back in a new allocation: %2', nb.name, nb.error ?? '')
          : trans.__('%1, but its variables were not restored: %2', head, nb.error ?? '');
      const { restored = [], failed = {}, missing } = nb.report;
      if (missing) return trans.__('%1: no checkpoint to restore.', head);
      const failedNames = Object.keys(failed);
      const restoredText = restored.length ? restored.join(', ') : trans.__('nothing');
      if (failedNames.length === 0) {
        const text = trans.__('%1: restored %2.', head, restoredText);
        return text.length <= room
          ? text
          : trans._n('%2: restored %1 variable.', '%2: restored %1 variables.', restored.length, head);
      }
      const lead = trans.__('%1: restored %2; could not restore: ', head, restoredText);
      if (lead.length + 20 <= room) return lead + namesWithReasons(failed, room - lead.length, trans);
      const short = trans._n(
        '%2: restored %1 variable; could not restore: ',
        '%2: restored %1 variables; could not restore: ',
        restored.length,
        head
      );
      return short + namesWithReasons(failed, Math.max(20, room - short.length), trans);
    })
    .join('\n');
}

/** Everything, unshortened, for the Details dialog and the console. */
export function savedDetails(notebooks: SavedNotebook[], trans: Words): string {
  return notebooks
    .map(nb => {
      if (!nb.report) return trans.__('%1: not saved (%2).', nb.name, nb.error ?? '');
      const { saved, skipped, bytes, seconds, path, pickler } = nb.report;
      const lines = [
        trans.__('%1: saved to %2 with %3 (%4 bytes, %5 s).', nb.name, path, pickler, bytes, seconds),
        trans.__('Saved: %1', saved.join(', ') || trans.__('nothing'))
      ];
      for (const [name, why] of Object.entries(skipped)) lines.push(trans.__('Not saved: %1 (%2)', name, why));
      return lines.join('\n');
    })
    .join('\n\n');
}
