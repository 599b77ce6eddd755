import { Notification } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import { pendingText } from './format';
import type { Session } from './contract';
import { CommandIDs, type IHpclabModel, type LiveEvent } from './tokens';
import type { Words } from './translate';

/** JupyterLab's "Save all" (docmanager-extension): saves every writable document open in this Lab. */
const SAVE_ALL = 'docmanager:save-all';

/** What a finished task says, and how loud. */
export interface TaskOutcome {
  message: string;
  type: 'success' | 'info' | 'warning' | 'error';
}

/**
 * One notification that follows a task the user started: in progress while it runs, then its
 * outcome in place. Warnings and errors stay until closed; a success goes after a while (the
 * sidebar keeps the result). Resolves with the task's result, or undefined when it failed: the
 * notification has said why, so the caller has nothing more to report.
 */
export async function notifyTask<T>(
  running: string,
  task: Promise<T>,
  done: (result: T) => TaskOutcome,
  failed: (err: Error) => TaskOutcome
): Promise<T | undefined> {
  const id = Notification.emit(running, 'in-progress', { autoClose: false });
  let result: T | undefined;
  let outcome: TaskOutcome;
  try {
    result = await task;
    outcome = done(result);
  } catch (err) {
    outcome = failed(err as Error);
  }
  const autoClose = outcome.type === 'success' || outcome.type === 'info' ? 8000 : (false as const);
  if (!Notification.update({ id, message: outcome.message, type: outcome.type, autoClose }))
    Notification.emit(outcome.message, outcome.type, { autoClose }); // closed while it ran: say it anew
  return result;
}

/** A button of a notification; `keepOpen` stops JupyterLab from closing the toast when it is clicked. */
export interface NoteAction {
  label: string;
  callback: () => void;
  keepOpen?: boolean;
}

/**
 * One notification that follows a task through its stages, changed in place; shown anew when
 * the user closed it meanwhile, so the outcome is never lost. It stays until closed unless told.
 */
export class LiveNotification {
  private id: string | undefined;

  show(
    message: string,
    type: 'in-progress' | 'success' | 'info' | 'warning' | 'error',
    options: { actions?: NoteAction[]; autoClose?: number | false } = {}
  ): void {
    const actions = (options.actions ?? []).map(a => ({
      label: a.label,
      callback: (event: MouseEvent) => {
        if (a.keepOpen) event.preventDefault();
        a.callback();
      }
    }));
    const shown = { autoClose: options.autoClose ?? (false as const), actions };
    if (this.id !== undefined && Notification.update({ id: this.id, message, type, ...shown })) return;
    this.id = Notification.emit(message, type, shown);
  }

  /** Takes it away (another notification carries the task on). */
  dismiss(): void {
    if (this.id !== undefined) Notification.dismiss(this.id);
    this.id = undefined;
  }
}

/** What a session is, in a word or two: a Lab, a kernel allocation, or a node held with no server. */
export function sessionKindWords(s: Session, trans: Words): string {
  if (s.kind === 'lab') return trans.__('Lab session');
  return s.kind === 'alloc' ? trans.__('Held node') : trans.__('Kernel allocation');
}

/**
 * JupyterLab notifications for what happens to sessions while the user works elsewhere: one
 * notification per session that updates while it waits in the queue, then says it started
 * (Open) or failed (reason, Log); idle warnings say the session stops soon unless it is used.
 * At a session's first walltime warning the documents open in this Lab are saved (the kernels
 * of a kernel allocation die with it; a Lab on a node saves its own), and the warning says so.
 */
export class SessionNotifier {
  private readonly ids = new Map<string, string>();
  /** Sessions (and jobs) whose first walltime warning came (and saved the open documents). */
  private readonly warned = new Set<string>();

  constructor(
    model: IHpclabModel,
    private readonly commands: CommandRegistry,
    private readonly trans: TranslationBundle
  ) {
    model.events.connect((_m, event) => this.on(event), this);
  }

  private on(event: LiveEvent): void {
    if (event.type === 'walltime-warning') {
      void this.walltimeWarning(event);
      return;
    }
    if (event.type === 'idle-warning') {
      const s = event.session;
      const what = s ? this.trans.__('%1 (job %2)', s.profile, s.jobId ?? '') : '';
      const open =
        s?.kind === 'lab'
          ? [
              {
                label: this.trans.__('Open'),
                callback: () => void this.commands.execute(CommandIDs.openSession, { id: s.id })
              }
            ]
          : [];
      Notification.warning(
        this.trans.__(
          'Your hpclab session %1 has been idle and stops in %2 min to free its node (idle limit: %3 min). Use it to keep it.',
          what,
          event.minutesLeft,
          event.idleMinutes
        ),
        { autoClose: false, actions: open }
      );
      return;
    }
    if (event.type !== 'session') return;
    const { session: s, previous } = event;
    if (previous?.state === s.state && JSON.stringify(previous.pending) === JSON.stringify(s.pending)) return;
    const what = sessionKindWords(s, this.trans);
    const log = {
      label: this.trans.__('Log'),
      callback: () => void this.commands.execute(CommandIDs.showLog, { sessionId: s.id })
    };
    if (s.state === 'pending' || s.state === 'starting') {
      const message =
        s.state === 'pending'
          ? this.trans.__('%1 %2 waiting: %3', what, s.jobId ?? '', pendingText(s, this.trans))
          : this.trans.__('%1 %2 starting on %3…', what, s.jobId ?? '', s.node ?? '');
      this.progress(s, message);
    } else if (s.state === 'running' && previous?.state !== 'running') {
      const actions =
        s.kind === 'lab'
          ? [
              {
                label: this.trans.__('Open'),
                callback: () => void this.commands.execute(CommandIDs.openSession, { id: s.id })
              }
            ]
          : [];
      this.finish(s, this.trans.__('%1 %2 is running on %3.', what, s.jobId ?? '', s.node ?? ''), 'success', actions);
    } else if (s.state === 'failed') {
      this.finish(
        s,
        this.trans.__('%1 %2 failed: %3', what, s.jobId ?? '', (s.message ?? s.endReason ?? '').split('\n')[0]),
        'error',
        [log]
      );
    } else if (s.state === 'ended' && previous && previous.state !== 'ended') {
      const timeout = s.endReason === 'timeout';
      this.finish(
        s,
        this.trans.__('%1 %2 ended: %3', what, s.jobId ?? '', s.message ?? s.endReason ?? ''),
        timeout ? 'warning' : 'info',
        timeout ? [log] : []
      );
    }
  }

  /**
   * The warning stays until closed and offers "Save all". At a session's first warning the open
   * documents are saved right away, and the warning, shown at once, then says what was saved.
   * Only once: from then on the user decides, with "Save all", whether edits are worth saving.
   */
  private async walltimeWarning(event: Extract<LiveEvent, { type: 'walltime-warning' }>): Promise<void> {
    const s = event.session;
    const what = s ? this.trans.__('%1 (job %2)', s.profile, s.jobId ?? '') : '';
    const actions = [{ label: this.trans.__('Save all'), callback: () => void this.commands.execute(SAVE_ALL) }];
    const options = { autoClose: false as const, actions };
    const warn = (message: string) => Notification.warning(message, options);
    // A session the page does not list yet: its end time tells its warnings apart from another's.
    // A kernel allocation submitted again keeps its session id: its new job warns anew.
    const key = s ? `${s.id} ${s.jobId ?? ''}` : `ends ${event.endsAt}`;
    const first = !this.warned.has(key);
    this.warned.add(key);
    // Nothing to save when no document is open (the command is disabled) or Lab has no document manager.
    if (!first || !this.commands.hasCommand(SAVE_ALL) || !this.commands.isEnabled(SAVE_ALL)) {
      warn(
        this.trans.__(
          'Your hpclab session %1 reaches its time limit in %2 min: save your work.',
          what,
          event.minutesLeft
        )
      );
      return;
    }
    const id = warn(
      this.trans.__(
        'Your hpclab session %1 reaches its time limit in %2 min. Saving the documents open here…',
        what,
        event.minutesLeft
      )
    );
    let message: string;
    try {
      const saved = await this.commands.execute(SAVE_ALL);
      message = Array.isArray(saved)
        ? this.trans._n(
            'Your hpclab session %2 reaches its time limit in %3 min. Saved the document open here.',
            'Your hpclab session %2 reaches its time limit in %3 min. Saved the %1 documents open here.',
            saved.length,
            what,
            event.minutesLeft
          )
        : this.trans.__(
            'Your hpclab session %1 reaches its time limit in %2 min. Saved the documents open here.',
            what,
            event.minutesLeft
          );
    } catch (err) {
      console.warn('hpclab: saving the open documents at the walltime warning failed', err);
      message = this.trans.__(
        'Your hpclab session %1 reaches its time limit in %2 min. Saving the open documents failed (%3): save your work.',
        what,
        event.minutesLeft,
        (err as Error).message
      );
    }
    // Closed while saving: say the outcome anew.
    if (!Notification.update({ id, message, type: 'warning', ...options })) warn(message);
  }

  /** One notification per session, updated in place while it waits. */
  private progress(s: Session, message: string): void {
    const id = this.ids.get(s.id);
    if (id && Notification.update({ id, message, type: 'in-progress', autoClose: false })) return;
    this.ids.set(s.id, Notification.emit(message, 'in-progress', { autoClose: false }));
  }

  private finish(
    s: Session,
    message: string,
    type: 'success' | 'error' | 'warning' | 'info',
    actions: { label: string; callback: () => void }[]
  ): void {
    const id = this.ids.get(s.id);
    this.ids.delete(s.id);
    const options = { autoClose: type === 'error' ? (false as const) : 8000, actions };
    if (id && Notification.update({ id, message, type, ...options })) return;
    Notification.emit(message, type, options);
  }
}
