import type { WorkspaceStatus } from '../contract';
import { el } from '../format';
import type { Words } from '../translate';

/** `12931234` → `12.3 MiB`: binary units, one decimal from KiB up, as `du -h` counts. */
export function byteSize(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** When a backup was made: the time alone today, the date too before. */
export function backupTime(at: string, now = new Date()): string {
  const when = new Date(at);
  return when.toDateString() === now.toDateString()
    ? when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : when.toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
}

/**
 * A running session's workspace in a line: what is happening to it, and its last backup (when,
 * how big); where it lives and is backed up on hover; under it, why the last backup or restore
 * failed. `busy`: this page asked for a backup that has not answered yet.
 */
export function workspaceLine(w: WorkspaceStatus, trans: Words, busy = false): HTMLElement[] {
  const state = busy ? 'backing-up' : w.state;
  const words: Record<WorkspaceStatus['state'], string> = {
    idle: trans.__('Workspace'),
    'backing-up': trans.__('Workspace: backing up…'),
    restoring: trans.__('Workspace: restoring…')
  };
  const last = w.lastBackup
    ? trans.__('last backup %1 (%2)', backupTime(w.lastBackup.at), byteSize(w.lastBackup.bytes))
    : trans.__('no backup yet');
  const every =
    w.autoBackupMinutes > 0
      ? trans.__('backed up every %1 min, at the walltime warning and at stop', w.autoBackupMinutes)
      : trans.__('backed up on demand, at the walltime warning and at stop');
  const line = el(
    'div',
    {
      class: 'jp-hpclab-muted jp-hpclab-workspace',
      title: trans.__('%1 → %2, %3', w.dir, w.backupDir, every),
      dataset: { workspace: state }
    },
    `${words[state]} · ${last}`
  );
  if (!w.error) return [line];
  return [line, el('div', { class: 'jp-hpclab-workspace-error', role: 'alert' }, w.error)];
}
