import { el, hms, pendingText, secondsLeft } from '../format';
import type { Session, SessionState } from '../contract';
import { CommandIDs } from '../tokens';
import { Section, type SectionContext } from './section';
import { backUpWorkspace, extendSession } from './session-actions';
import { workspaceLine } from './workspace-line';

/** States a session never leaves (the companion's state machine ends in one of these). */
const FINAL: ReadonlySet<SessionState> = new Set<SessionState>(['ended', 'failed']);

/**
 * My sessions: pending with reason, place and estimated start; running with a countdown that
 * ticks every second; Open (the proxied Lab, in a new tab), Extend, Stop and Log. A running
 * session with a workspace shows its state and last backup, with "Back up now". A held node
 * (`alloc`) has no server, so nothing to open. Ended and failed ones wait under an "N ended"
 * toggle, each with Dismiss, so a day of sessions does not bury the live ones.
 */
export class SessionsSection extends Section {
  private ticker: number | undefined;
  /** Sessions whose "Back up now" has not answered yet: the companion's state may not say so yet. */
  private readonly backingUp = new Set<string>();
  /** Collapsed at first: what ended is history, what runs is what the user came for. */
  private showEnded = false;

  constructor(ctx: SectionContext) {
    super(ctx, ctx.trans.__('Sessions'), 'sessions');
  }

  protected onAfterAttach(): void {
    super.onAfterAttach();
    this.ticker = window.setInterval(() => this.tick(), 1000);
  }

  protected onBeforeDetach(): void {
    window.clearInterval(this.ticker);
  }

  protected render(): Node[] {
    const { model, trans } = this.ctx;
    const live = model.sessions.filter(s => !FINAL.has(s.state));
    const ended = model.sessions.filter(s => FINAL.has(s.state) && !model.dismissed.has(s.id));
    if (live.length + ended.length === 0)
      return [this.note(model.loaded ? trans.__('No sessions. Request one above.') : trans.__('Loading…'))];
    const out: Node[] = live.map(s => this.row(s));
    if (ended.length > 0) {
      const toggle = el(
        'button',
        {
          class: 'jp-hpclab-ended-toggle',
          'aria-expanded': String(this.showEnded),
          dataset: { hpclabAction: 'toggle-ended' },
          onclick: () => this.toggleEnded()
        },
        trans._n('%1 ended', '%1 ended', ended.length)
      );
      out.push(
        el(
          'div',
          { class: 'jp-hpclab-ended', dataset: { ended: String(ended.length) } },
          toggle,
          ...(this.showEnded ? ended.map(s => this.row(s)) : [])
        )
      );
    }
    return out;
  }

  private toggleEnded(): void {
    this.showEnded = !this.showEnded;
    this.update();
  }

  private row(s: Session): HTMLElement {
    const { trans, commands, model } = this.ctx;
    const button = (action: string, label: string, onclick: () => void) =>
      el('button', { class: 'jp-mod-styled jp-hpclab-action', dataset: { action }, onclick }, label);
    const run = (command: string, args: Record<string, string>) => () => void commands.execute(command, args);
    const final = FINAL.has(s.state);
    const actions: HTMLElement[] = [];
    const running = s.state === 'running';
    if (s.kind === 'lab' && running)
      actions.push(button('open', trans.__('Open'), run(CommandIDs.openSession, { id: s.id })));
    if (running && s.workspace) {
      const backup = button('backup', trans.__('Back up now'), () => this.backUp(s));
      // One backup at a time, and none while a restore writes the workspace (the companion says busy).
      backup.disabled = this.backingUp.has(s.id) || s.workspace.state !== 'idle';
      actions.push(backup);
    }
    if (running) actions.push(button('extend', trans.__('Extend'), () => void extendSession(model, s, trans)));
    if (!final) actions.push(button('stop', trans.__('Stop'), run(CommandIDs.stopSession, { id: s.id })));
    actions.push(button('log', trans.__('Log'), run(CommandIDs.showLog, { sessionId: s.id })));
    if (final) actions.push(button('dismiss', trans.__('Dismiss'), () => model.dismiss(s.id)));
    const kind =
      s.kind === 'lab'
        ? trans.__('Lab')
        : s.kind === 'alloc'
          ? trans.__('Held node')
          : s.kernels !== undefined && !final
            ? trans._n('Allocation, %1 kernel', 'Allocation, %1 kernels', s.kernels)
            : trans.__('Kernel');
    return el(
      'div',
      { class: `jp-hpclab-session jp-hpclab-state-${s.state}`, dataset: { session: s.id, state: s.state } },
      el(
        'div',
        { class: 'jp-hpclab-session-head' },
        el('span', { class: 'jp-hpclab-session-title' }, trans.__('%1 · %2', kind, s.profile)),
        el('span', { class: 'jp-hpclab-badge' }, this.stateWord(s.state))
      ),
      el('div', { class: 'jp-hpclab-muted' }, this.detail(s)),
      ...this.access(s),
      ...(running && s.workspace ? workspaceLine(s.workspace, trans, this.backingUp.has(s.id)) : []),
      el('div', { class: 'jp-hpclab-actions' }, ...actions)
    );
  }

  private backUp(s: Session): void {
    this.backingUp.add(s.id);
    this.update();
    // backUpWorkspace never rejects: its notification says how it went.
    void backUpWorkspace(this.ctx.model, s, this.ctx.trans).finally(() => {
      this.backingUp.delete(s.id);
      this.update();
    });
  }

  /** How the node is reached, in a few words; the whole summary (paths, job) on hover. */
  private access(s: Session): HTMLElement[] {
    const { trans } = this.ctx;
    if (!s.access || FINAL.has(s.state)) return [];
    const words =
      s.access.kind === 'unix-socket'
        ? trans.__('Private: unix socket, no TCP port (relay %1)', s.access.relay ?? '-')
        : trans.__('Open: TCP port any cluster user can connect to');
    return [
      el(
        'div',
        {
          class: `jp-hpclab-muted jp-hpclab-access jp-hpclab-access-${s.access.kind}`,
          title: s.access.summary,
          dataset: { access: s.access.kind }
        },
        words
      )
    ];
  }

  private detail(s: Session): string {
    const { trans } = this.ctx;
    const line = (...parts: (string | null | undefined)[]) => parts.filter(Boolean).join(' · ');
    const job = s.jobId ? trans.__('job %1', s.jobId) : '';
    if (s.state === 'pending') return line(job, pendingText(s, trans));
    if (s.state === 'running') {
      const left = secondsLeft(s);
      // The end time comes with the next poll after the start; say nothing until it is known.
      return line(job, s.node, left === null ? '' : trans.__('%1 left', hms(left)));
    }
    if (FINAL.has(s.state)) return line(job, s.endReason ?? this.stateWord(s.state), s.message?.split('\n')[0]);
    return line(job, s.node ? trans.__('%1 on %2', this.stateWord(s.state), s.node) : this.stateWord(s.state));
  }

  private stateWord(state: SessionState): string {
    const { trans } = this.ctx;
    const words: Record<SessionState, string> = {
      pending: trans.__('pending'),
      starting: trans.__('starting'),
      running: trans.__('running'),
      ending: trans.__('ending'),
      ended: trans.__('ended'),
      failed: trans.__('failed')
    };
    return words[state];
  }

  /** Only the countdown text changes each second; the rest waits for a real model change. */
  private tick(): void {
    for (const node of this.body.querySelectorAll<HTMLElement>('.jp-hpclab-state-running')) {
      const s = this.ctx.model.session(node.dataset.session ?? '');
      const line = node.querySelector('.jp-hpclab-muted');
      if (s && line) line.textContent = this.detail(s);
    }
  }
}
