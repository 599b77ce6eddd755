import { Widget } from '@lumino/widgets';
import type { CommandRegistry } from '@lumino/commands';
import { el } from '../format';
import type { Words } from '../translate';
import type { IHpclabModel } from '../tokens';

/** What every sidebar section gets. */
export interface SectionContext {
  model: IHpclabModel;
  commands: CommandRegistry;
  trans: Words;
}

/**
 * One titled part of the sidebar that redraws its body when the model really changes.
 * Subclasses fill `body` in `render`; keeping each section to plain DOM keeps the extension small.
 */
export abstract class Section extends Widget {
  protected readonly body: HTMLElement;

  constructor(
    protected readonly ctx: SectionContext,
    title: string,
    name: string
  ) {
    super();
    this.addClass('jp-hpclab-section');
    this.addClass(`jp-hpclab-${name}`);
    this.body = el('div', { class: 'jp-hpclab-section-body' });
    this.node.append(el('h3', { class: 'jp-hpclab-section-title' }, title), this.body);
    ctx.model.changed.connect(() => this.update(), this);
  }

  protected onUpdateRequest(): void {
    this.body.replaceChildren(...this.render());
  }

  protected onAfterAttach(): void {
    this.update();
  }

  protected abstract render(): Node[];

  /** A message in place of the content: loading, an error, or nothing to show. */
  protected note(text: string, kind: 'info' | 'error' = 'info'): HTMLElement {
    return el('div', { class: `jp-hpclab-note jp-hpclab-note-${kind}` }, text);
  }
}
