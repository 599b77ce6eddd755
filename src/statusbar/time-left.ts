import { Widget } from '@lumino/widgets';
import { hms, secondsLeft } from '../format';
import type { Words } from '../translate';
import type { IHpclabModel } from '../tokens';

/** The nearest-ending session's time left; warning style under the first threshold; click opens the sidebar. */
export class TimeLeftItem extends Widget {
  private ticker: number | undefined;

  constructor(
    private readonly model: IHpclabModel,
    private readonly trans: Words,
    onClick: () => void
  ) {
    super();
    this.addClass('jp-hpclab-timeleft');
    this.node.title = trans.__('Time left in your hpclab session (click for the sidebar)');
    this.node.addEventListener('click', onClick);
    model.changed.connect(() => this.tick(), this);
    // The warning threshold is a setting: a change shows at once, not at the next tick.
    model.settingsChanged.connect(() => this.tick(), this);
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
    this.node.textContent = session && left !== null ? this.trans.__('HPC %1 %2', session.profile, hms(left)) : '';
    const first = Math.max(0, ...this.model.settings.warnMinutes);
    this.node.classList.toggle('jp-hpclab-warn', left !== null && left <= first * 60);
  }
}
