import { Notification } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import { pendingText } from './format';
import type { Session } from './contract';
import { CommandIDs, type IHpclabModel, type LiveEvent } from './tokens';

/**
 * JupyterLab notifications for what happens to sessions while the user works elsewhere: one
 * notification per session that updates while it waits in the queue, then says it started
 * (Open) or failed (reason, Log); walltime warnings offer to save every notebook first.
 */
export class SessionNotifier {
  private readonly ids = new Map<string, string>();

  constructor(
    model: IHpclabModel,
    private readonly commands: CommandRegistry,
    private readonly trans: TranslationBundle
  ) {
    model.events.connect((_m, event) => this.on(event), this);
  }

  private on(event: LiveEvent): void {
    if (event.type === 'walltime-warning') {
      const what = event.session ? this.trans.__('%1 (job %2)', event.session.profile, event.session.jobId ?? '') : '';
      Notification.warning(
        this.trans.__(
          'Your hpclab session %1 reaches its time limit in %2 min: save your work.',
          what,
          event.minutesLeft
        ),
        {
          autoClose: false,
          actions: [
            { label: this.trans.__('Save all'), callback: () => void this.commands.execute('docmanager:save-all') }
          ]
        }
      );
      return;
    }
    if (event.type !== 'session') return;
    const { session: s, previous } = event;
    if (previous?.state === s.state && JSON.stringify(previous.pending) === JSON.stringify(s.pending)) return;
    const what = s.kind === 'lab' ? this.trans.__('Lab session') : this.trans.__('Kernel allocation');
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
