import { Widget } from '@lumino/widgets';
import { HpclabError } from '../api';
import { el } from '../format';
import type { Profile, SubmitRunBody, SubmittedRun } from '../contract';
import type { Words } from '../translate';
import type { IHpclabModel } from '../tokens';
import { checkedMail, mailFieldset } from '../mail-field';
import { notebookParameters, type NotebookParameter } from './parameters';

/** Resource fields and the sbatch option each becomes (`time=01:00:00`). */
const RESOURCES = [
  ['partition', 'partition'],
  ['time', 'time'],
  ['cpus', 'cpus-per-task'],
  ['mem', 'mem']
] as const;

export interface SubmitFormOptions {
  model: IHpclabModel;
  trans: Words;
  /** The file's own name (`analysis.ipynb`) and its text, as saved. */
  fileName: string;
  content: string;
}

type Input = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

/**
 * The Submit dialog's body: profile, resources as sbatch options, mail, parameters (a notebook's
 * `parameters` cell gives the names and defaults) or an array spec. Every change is checked by
 * the companion (POST /api/runs/preview: nothing staged) and the job script and sbatch command
 * it would run are shown; errors appear under the field the companion names.
 */
export class SubmitForm extends Widget {
  private readonly inputs = new Map<string, Input>();
  private readonly errors = new Map<string, HTMLElement>();
  private readonly preview: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly status: HTMLElement;
  private readonly parameters: NotebookParameter[];
  /** What each `sbatch[i]` and `params[i]` of the last body came from: a field's name. */
  private sbatchFrom: string[] = [];
  private paramsFrom: string[] = [];
  private timer: number | undefined;
  private checked = 0;
  private submitted: SubmittedRun | null = null;

  constructor(private readonly options: SubmitFormOptions) {
    super();
    this.addClass('jp-hpclab-submit');
    const { trans } = options;
    this.parameters = options.fileName.endsWith('.ipynb') ? (notebookParameters(options.content) ?? []) : [];
    this.preview = el('pre', { class: 'jp-hpclab-preview', 'aria-label': trans.__('Job script preview') });
    this.summary = el('div', { class: 'jp-hpclab-submit-summary' });
    this.status = el('div', { class: 'jp-hpclab-form-status', role: 'status' });
    const form = el('form', {
      class: 'jp-hpclab-form',
      novalidate: true,
      onsubmit: (e: Event) => e.preventDefault(), // the dialog's Submit button submits
      oninput: () => this.schedule(),
      onchange: () => this.schedule()
    });
    form.append(...this.fields(), this.summary, this.preview, this.status);
    const profile = options.model.profiles.find(p => p.name === this.value('profile'));
    if (profile) this.showDefaults(profile);
    this.node.append(form);
    this.schedule();
  }

  /** The run the dialog submitted, once it has. */
  getValue(): SubmittedRun | null {
    return this.submitted;
  }

  private field(name: string, label: string, input: Input, hint?: string): HTMLElement {
    input.name = name;
    input.classList.add('jp-mod-styled');
    this.inputs.set(name, input);
    const error = el('div', { class: 'jp-hpclab-field-error', role: 'alert' });
    this.errors.set(name, error);
    return el(
      'label',
      { class: 'jp-hpclab-field', dataset: { field: name } },
      el('span', {}, label),
      input,
      hint ? el('small', { class: 'jp-hpclab-hint' }, hint) : null,
      error
    );
  }

  private fields(): HTMLElement[] {
    const { model, trans } = this.options;
    const text = (placeholder = '', value = '') => el('input', { type: 'text', placeholder, value });
    const profiles = el(
      'select',
      {},
      ...model.profiles.map(p => el('option', { value: p.name }, `${p.name} (${p.cluster})`))
    );
    const first = model.profiles.find(p => p.name === model.settings.defaultProfile) ?? model.profiles[0];
    if (first) profiles.value = first.name;
    // Empty resource fields mean the profile's values: shown as placeholders, redone on a change.
    profiles.addEventListener('change', () => {
      const chosen = model.profiles.find(p => p.name === profiles.value);
      if (chosen) this.showDefaults(chosen);
    });
    const mailError = el('div', { class: 'jp-hpclab-field-error', role: 'alert' });
    this.errors.set('mail', mailError);
    const params = this.parameters.map(p =>
      this.field(`param-${p.name}`, p.name, text(trans.__('%1 (default); values to sweep: a,b,c', p.value)), undefined)
    );
    return [
      this.field('profile', trans.__('Profile'), profiles),
      this.field('name', trans.__('Job name'), text(this.options.fileName.replace(/\.[^.]+$/, ''))),
      // Their placeholders are the profile's values (showDefaults).
      this.field('partition', trans.__('Partition'), text()),
      this.field('time', trans.__('Time (HH:MM:SS)'), text()),
      this.field('cpus', trans.__('CPUs'), text()),
      this.field('mem', trans.__('Memory'), text()),
      this.field('gpus', trans.__('GPUs'), text()),
      mailFieldset(trans, box => this.inputs.set(box.name, box), mailError),
      this.field('mailUser', trans.__('Mail address'), text(trans.__('the cluster account'))),
      ...(params.length
        ? [el('fieldset', { class: 'jp-hpclab-params' }, el('legend', {}, trans.__('Parameters')), ...params)]
        : []),
      this.field(
        'moreParams',
        trans.__('More parameters'),
        // Examples of the syntax, not words: the same in every language.
        // eslint-disable-next-line jupyter/no-untranslated-string
        el('textarea', { rows: 2, placeholder: 'lr=0.1,0.01' }),
        trans.__('NAME=V1,V2,… per line: one array task per combination')
      ),
      this.field(
        'array',
        trans.__('Array'),
        text('0-9%2'),
        trans.__('indexes (0-9, %2 runs two at once); with parameters only %N')
      ),
      this.field(
        'sbatch',
        trans.__('More sbatch options'),
        // eslint-disable-next-line jupyter/no-untranslated-string
        el('textarea', { rows: 2, placeholder: 'constraint=a100' }),
        trans.__('KEY=VALUE per line, as after sbatch --')
      )
    ];
  }

  private showDefaults(profile: Profile): void {
    const set = (name: string, value: string) => {
      const input = this.inputs.get(name);
      if (input instanceof HTMLInputElement) input.placeholder = value;
    };
    set('partition', profile.partition ?? '');
    set('time', profile.time ?? '');
    set('cpus', profile.cpus !== undefined ? String(profile.cpus) : '');
    set('mem', profile.mem ?? '');
    set('gpus', /^gpu(?::[^:,]+)?:(\d+)$/.exec(profile.gres ?? '')?.[1] ?? '0');
  }

  private value(name: string): string {
    return (this.inputs.get(name)?.value ?? '').trim();
  }

  private lines(name: string): string[] {
    return this.value(name)
      .split('\n')
      .map(l => l.trim())
      .filter(Boolean);
  }

  /** The request the form describes; a field left empty falls back to the profile. */
  body(): SubmitRunBody {
    const sbatch: string[] = [];
    this.sbatchFrom = [];
    const add = (word: string, from: string) => {
      sbatch.push(word);
      this.sbatchFrom.push(from);
    };
    for (const [name, option] of RESOURCES) if (this.value(name)) add(`${option}=${this.value(name)}`, name);
    const gpus = this.value('gpus');
    if (gpus && gpus !== '0') add(/^\d+$/.test(gpus) ? `gres=gpu:${gpus}` : `gres=${gpus}`, 'gpus');
    for (const line of this.lines('sbatch')) add(line, 'sbatch');
    const params: string[] = [];
    this.paramsFrom = [];
    for (const p of this.parameters) {
      const values = this.value(`param-${p.name}`);
      if (!values) continue;
      params.push(`${p.name}=${values}`);
      this.paramsFrom.push(`param-${p.name}`);
    }
    for (const line of this.lines('moreParams')) {
      params.push(line);
      this.paramsFrom.push('moreParams');
    }
    const mail = checkedMail(name => this.inputs.get(name));
    return {
      profile: this.value('profile'),
      fileName: this.options.fileName,
      content: this.options.content,
      ...(this.value('name') ? { name: this.value('name') } : {}),
      ...(sbatch.length ? { sbatch } : {}),
      ...(mail ? { mail } : {}),
      ...(this.value('mailUser') ? { mailUser: this.value('mailUser') } : {}),
      ...(params.length ? { params } : {}),
      ...(this.value('array') ? { array: this.value('array') } : {})
    };
  }

  private schedule(): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => void this.check(), 250);
  }

  /** Asks the companion whether the run is valid; shows the script or each field's error. */
  async check(): Promise<boolean> {
    const ticket = ++this.checked;
    try {
      const preview = await this.options.model.api.previewRun(this.body());
      if (ticket !== this.checked) return false;
      this.clearErrors();
      const { trans } = this.options;
      this.summary.textContent =
        preview.taskCount === null
          ? trans.__('One job on %1, in %2', preview.cluster, preview.runDir)
          : trans.__('An array of %1 tasks on %2, in %3', preview.taskCount, preview.cluster, preview.runDir);
      this.preview.textContent = `sbatch ${preview.argv.join(' ')}\n\n${preview.script}`;
      return true;
    } catch (err) {
      if (ticket === this.checked) this.showError(err);
      return false;
    }
  }

  /** Checks, then stages and submits; resolves with whether the run was submitted. */
  async submit(): Promise<boolean> {
    window.clearTimeout(this.timer);
    if (!(await this.check())) return false; // a wrong field: nothing is staged
    this.status.textContent = this.options.trans.__('Staging and submitting…');
    try {
      this.submitted = await this.options.model.api.submitRun(this.body());
      return true;
    } catch (err) {
      this.showError(err);
      return false;
    }
  }

  private clearErrors(): void {
    this.status.textContent = '';
    for (const e of this.errors.values()) e.textContent = '';
    for (const i of this.inputs.values()) i.removeAttribute('aria-invalid');
  }

  private showError(err: unknown): void {
    this.clearErrors();
    this.summary.textContent = '';
    this.preview.textContent = '';
    if (!(err instanceof HpclabError) || err.fields.length === 0) {
      this.status.textContent = (err as Error).message;
      return;
    }
    for (const f of err.fields) {
      const name = this.fieldOf(f.path);
      const box = this.errors.get(name);
      if (!box) {
        this.status.textContent = `${f.path}: ${f.message}`;
        continue;
      }
      box.textContent = f.message;
      this.inputs.get(name)?.setAttribute('aria-invalid', 'true');
    }
  }

  /** `sbatch[2]` → the field that word came from; `params[0]` likewise; `mailUser` as is. */
  private fieldOf(path: string): string {
    const m = /^(sbatch|params)\[(\d+)\]/.exec(path);
    if (m) return (m[1] === 'sbatch' ? this.sbatchFrom : this.paramsFrom)[Number(m[2])] ?? m[1];
    return path;
  }
}
