import { Dialog, showErrorMessage } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { el } from './format';
import type { PromptEvent } from './contract';
import type { IHpclabModel } from './tokens';

/**
 * SSH login prompts (2FA codes, key passphrases) raised by the companion, answered in a
 * JupyterLab dialog. Hidden answers use password inputs; a prompt answered elsewhere (another
 * tab, the terminal) or timed out closes its dialog here.
 */
export class LoginPrompts {
  private readonly open = new Map<string, Dialog<string[]>>();

  constructor(
    private readonly model: IHpclabModel,
    private readonly trans: TranslationBundle
  ) {
    model.events.connect((_m, event) => {
      if (event.type === 'prompt') void this.ask(event.prompt);
      if (event.type === 'prompt-done') this.open.get(event.id)?.reject();
    }, this);
  }

  private async ask(prompt: PromptEvent): Promise<void> {
    if (this.open.has(prompt.id)) return;
    const inputs = prompt.prompts.map(p =>
      el('input', {
        type: p.echo ? 'text' : 'password',
        class: 'jp-mod-styled',
        autocomplete: 'one-time-code',
        'aria-label': p.prompt
      })
    );
    const body = new Widget({
      node: el(
        'div',
        { class: 'jp-hpclab-prompt' },
        prompt.instructions ? el('p', {}, prompt.instructions) : null,
        ...prompt.prompts.map((p, i) => el('label', { class: 'jp-hpclab-field' }, el('span', {}, p.prompt), inputs[i]))
      )
    });
    const dialog = new Dialog<string[]>({
      title: this.trans.__('%1 asks: %2', prompt.cluster, prompt.name || this.trans.__('login')),
      body: Object.assign(body, { getValue: () => inputs.map(i => i.value) }),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: this.trans.__('Send') })],
      focusNodeSelector: 'input'
    });
    this.open.set(prompt.id, dialog);
    try {
      const result = await dialog.launch();
      if (result.button.accept && result.value) await this.model.api.answerPrompt(prompt.id, result.value);
      else if (!result.button.accept && this.open.has(prompt.id)) {
        // A 404 here means it is gone already (answered in another tab, or timed out): nothing to cancel.
        await this.model.api.cancelPrompt(prompt.id).catch(() => undefined);
      }
    } catch (err) {
      void showErrorMessage(this.trans.__('Login prompt'), (err as Error).message);
    } finally {
      this.open.delete(prompt.id);
      dialog.dispose();
    }
  }
}
