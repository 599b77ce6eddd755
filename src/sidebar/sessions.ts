import { CommandIDs } from '../tokens';
import { el, hms, pendingText, secondsLeft } from '../format';
import type { Session } from '../schemas';
import { Section, type SectionContext } from './section';

/**
 * My sessions: pending with reason, place and estimated start; running with a countdown that
 * ticks every second; Open (the proxied Lab, in a new tab), Stop and Log.
 */
export class SessionsSection extends Section {
  private ticker: number | undefined;

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
    const live = model.sessions.filter(s => s.state !== 'ended' && s.state !== 'failed');
    const recent = model.sessions.filter(s => s.state === 'ended' || s.state === 'failed').slice(0, 3);
    if (live.length + recent.length === 0) return [this.note(model.loaded ? trans.__('No sessions. Request one above.') : trans.__('Loading…'))];
    return [...live, ...recent].map(s => this.row(s));
  }

  private row(s: Session): HTMLElement {
    const { trans, commands } = this.ctx;
    const button = (label: string, command: string, extra: Record<string, string> = {}) =>
      el('button', { class: 'jp-mod-styled jp-hpclab-action', dataset: { action: label.toLowerCase() }, onclick: () => void commands.execute(command, { id: s.id, ...extra }) }, label);
    const actions: HTMLElement[] = [];
    if (s.kind === 'lab' && s.state === 'running') actions.push(button(trans.__('Open'), CommandIDs.openSession));
    if (s.state !== 'ended' && s.state !== 'failed') actions.push(button(trans.__('Stop'), CommandIDs.stopSession));
    actions.push(button(trans.__('Log'), CommandIDs.showLog));
    return el(
      'div',
      { class: `jp-hpclab-session jp-hpclab-state-${s.state}`, dataset: { session: s.id, state: s.state } },
      el('div', { class: 'jp-hpclab-session-head' }, el('span', { class: 'jp-hpclab-session-title' }, `${s.kind === 'lab' ? 'Lab' : trans.__('Kernel')} · ${s.profile}`), el('span', { class: 'jp-hpclab-badge' }, s.state)),
      el('div', { class: 'jp-hpclab-muted' }, this.detail(s)),
      el('div', { class: 'jp-hpclab-actions' }, ...actions)
    );
  }

  private detail(s: Session): string {
    const { trans } = this.ctx;
    const job = s.jobId ? `${trans.__('job')} ${s.jobId}` : '';
    if (s.state === 'pending') return `${job} · ${pendingText(s)}`;
    if (s.state === 'running') {
      const left = secondsLeft(s);
      // The end time comes with the next poll after the start; say nothing until it is known.
      return [job, s.node, left === null ? '' : trans.__('%1 left', hms(left))].filter(Boolean).join(' · ');
    }
    if (s.state === 'ended' || s.state === 'failed') return `${job} · ${s.endReason ?? s.state}${s.message ? ` · ${s.message.split('\n')[0]}` : ''}`;
    return `${job} · ${s.state}${s.node ? ` on ${s.node}` : ''}`;
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
