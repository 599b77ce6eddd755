import { Widget } from '@lumino/widgets';
import type { TranslationBundle } from '@jupyterlab/translation';
import { hms, secondsLeft } from '../format';
import type { HpclabModel } from '../model';

/** The nearest-ending session's time left; warning style under the first threshold; click opens the sidebar. */
export class TimeLeftItem extends Widget {
  private ticker: number | undefined;

  constructor(
    private readonly model: HpclabModel,
    trans: TranslationBundle,
    private readonly warnMinutes: () => number[],
    onClick: () => void
  ) {
    super();
    this.addClass('jp-hpclab-timeleft');
    this.node.title = trans.__('Time left in your hpclab session (click for the sidebar)');
    this.node.addEventListener('click', onClick);
    model.changed.connect(() => this.tick(), this);
  }

  protected onAfterAttach(): void {
    this.tick();
    this.ticker = window.setInterval(() => this.tick(), 1000);
  }

  protected onBeforeDetach(): void {
    window.clearInterval(this.ticker);
  }

  private tick(): void {
    const session = this.model.nearestEnding();
    const left = session ? secondsLeft(session) : null;
    this.node.textContent = session && left !== null ? `HPC ${session.profile} ${hms(left)}` : '';
    const first = Math.max(0, ...this.warnMinutes());
    this.node.classList.toggle('jp-hpclab-warn', left !== null && left <= first * 60);
  }
}
