import { HpclabError, type SessionRequest } from '../api';
import type { SessionOverrides } from '../contract';
import { el } from '../format';
import { checkedMail, mailFieldset } from '../mail-field';
import type { Profile } from '../contract';
import { NodePicker } from './node-picker';
import { Section, type SectionContext } from './section';

/** Form fields that map to a session's overrides (the companion checks each one). */
const TEXT_FIELDS = ['time', 'mem', 'account', 'qos', 'constraint'] as const;

/**
 * Request a Lab session: a profile preset, then partition, GPUs, time, CPUs, memory, account,
 * qos and constraint, a node of the partition and whether to hold it whole, mail events and
 * address, and more sbatch options. Every change is checked by the companion as you type (the
 * same checks as a submit, nothing submitted), errors show under their field, and the job script
 * it would submit is previewed. Submit is refused while a field is wrong.
 */
export class RequestSection extends Section {
  private readonly form: HTMLFormElement;
  private readonly inputs = new Map<string, HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>();
  private readonly errors = new Map<string, HTMLElement>();
  private readonly preview: HTMLElement;
  private readonly submit: HTMLButtonElement;
  private readonly status: HTMLElement;
  private profileName = '';
  private timer: number | undefined;
  private checked = 0;
  private valid = false;

  constructor(ctx: SectionContext) {
    super(ctx, ctx.trans.__('Request'), 'request');
    const { trans } = ctx;
    this.preview = el('pre', { class: 'jp-hpclab-preview', 'aria-label': trans.__('Job script preview') });
    this.submit = el('button', { class: 'jp-mod-styled jp-mod-accept', type: 'submit' }, trans.__('Request session'));
    this.status = el('div', { class: 'jp-hpclab-form-status', role: 'status' });
    this.form = el('form', {
      class: 'jp-hpclab-form',
      novalidate: true,
      onsubmit: (e: Event) => this.onSubmit(e),
      oninput: () => this.schedule(),
      onchange: () => this.schedule()
    });
  }

  /** The form keeps what the user typed: only the choices change with the model. */
  protected render(): Node[] {
    const { model, trans } = this.ctx;
    if (!model.loaded) return [this.note(trans.__('Asking the cluster…'))];
    if (model.profiles.length === 0)
      return [this.note(trans.__('No profiles in the hpclab config: add one to request sessions.'))];
    if (!this.profileName || !model.profiles.some(p => p.name === this.profileName))
      this.loadProfile(model.profiles[0]);
    return [this.form];
  }

  private loadProfile(profile: Profile): void {
    const { trans, model } = this.ctx;
    this.profileName = profile.name;
    const partitions = model.status.get(profile.cluster)?.partitions ?? [];
    const gpuTypes = [...new Set(partitions.flatMap(p => p.gpus.map(g => g.type)).filter(Boolean))];
    const gres = /^gpu(?::([^:,]+))?:(\d+)$/.exec(profile.gres ?? '');
    const field = (name: string, label: string, input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement) => {
      input.name = name;
      input.classList.add('jp-mod-styled');
      this.inputs.set(name, input);
      const error = el('div', { class: 'jp-hpclab-field-error', role: 'alert' });
      this.errors.set(name, error);
      return el('label', { class: 'jp-hpclab-field', dataset: { field: name } }, el('span', {}, label), input, error);
    };
    const select = (options: [string, string][], value: string) => {
      const s = el('select', {}, ...options.map(([v, text]) => el('option', { value: v }, text)));
      s.value = value;
      return s;
    };
    const text = (value: string | number | undefined, placeholder = '') =>
      el('input', { type: 'text', value: value === undefined ? '' : String(value), placeholder });
    const partitionSelect = select(
      partitions.map(p => [p.name, p.name]),
      profile.partition ?? partitions.find(p => p.isDefault)?.name ?? ''
    );
    // A new picker per profile: a late answer for the previous one lands in a detached list.
    const nodes = new NodePicker(trans);
    const loadNodes = () => void nodes.load(model.api, profile.cluster, partitionSelect.value);
    partitionSelect.addEventListener('change', loadNodes);
    const profileSelect = select(
      model.profiles.map(p => [p.name, `${p.name} (${p.cluster})`]),
      profile.name
    );
    profileSelect.addEventListener('change', () => {
      const next = model.profiles.find(p => p.name === profileSelect.value);
      if (next) {
        this.loadProfile(next);
        this.update();
      }
    });
    this.inputs.clear();
    this.errors.clear();
    this.form.replaceChildren(
      field('profile', trans.__('Profile'), profileSelect),
      field('partition', trans.__('Partition'), partitionSelect),
      field(
        'gpuType',
        trans.__('GPU type'),
        select([['', trans.__('any')], ...gpuTypes.map(t => [t, t] as [string, string])], gres?.[1] ?? '')
      ),
      field('gpus', trans.__('GPUs'), text(gres ? gres[2] : '0')),
      field('time', trans.__('Time (HH:MM:SS)'), text(profile.time, '01:00:00')),
      field('cpus', trans.__('CPUs'), text(profile.cpus)),
      field('mem', trans.__('Memory'), text(profile.mem, '4G')),
      field('account', trans.__('Account'), text(profile.account)),
      field('qos', trans.__('QOS'), text(profile.qos)),
      field('constraint', trans.__('Constraint'), text(profile.constraint)),
      field('nodelist', trans.__('Node'), nodes.select),
      this.exclusiveField(nodes),
      this.mailField(),
      field('mailUser', trans.__('Mail address'), text(undefined, trans.__('the cluster account'))),
      field(
        'sbatch',
        trans.__('More sbatch options'),
        // A syntax example, the same in every language.
        // eslint-disable-next-line jupyter/no-untranslated-string
        el('textarea', { rows: 2, placeholder: 'exclusive' })
      ),
      el('details', { class: 'jp-hpclab-preview-box' }, el('summary', {}, trans.__('Job script')), this.preview),
      this.status,
      this.submit
    );
    // The picker's note (loading, errors) sits under the list, apart from the companion's field error.
    nodes.select.after(nodes.note);
    loadNodes();
    this.schedule();
  }

  /** "Exclusive node": the whole node for this job (`--exclusive`); the picker then offers idle nodes only. */
  private exclusiveField(nodes: NodePicker): HTMLElement {
    const box = el('input', { type: 'checkbox', name: 'exclusive', onchange: () => nodes.setExclusive(box.checked) });
    this.inputs.set('exclusive', box);
    const error = el('div', { class: 'jp-hpclab-field-error', role: 'alert' });
    this.errors.set('exclusive', error);
    return el(
      'div',
      { class: 'jp-hpclab-exclusive', dataset: { field: 'exclusive' } },
      el('label', { class: 'jp-hpclab-check' }, box, this.ctx.trans.__('Exclusive node')),
      error
    );
  }

  /** Mail events as checkboxes; their errors (`overrides.mailType`) show under the group. */
  private mailField(): HTMLElement {
    const error = el('div', { class: 'jp-hpclab-field-error', role: 'alert' });
    this.errors.set('mail', error);
    return mailFieldset(this.ctx.trans, box => this.inputs.set(box.name, box), error);
  }

  /** The request the form describes; a field the user emptied falls back to the profile. */
  request(): SessionRequest {
    const v = (name: string) => (this.inputs.get(name)?.value ?? '').trim();
    const overrides: Record<string, string | number> = {};
    if (v('partition')) overrides.partition = v('partition');
    for (const name of TEXT_FIELDS) if (v(name)) overrides[name] = v(name);
    if (v('nodelist')) overrides.nodelist = v('nodelist');
    if (v('cpus')) overrides.cpus = /^\d+$/.test(v('cpus')) ? Number(v('cpus')) : v('cpus');
    if (v('gpus') && v('gpus') !== '0')
      overrides.gres = v('gpuType') ? `gpu:${v('gpuType')}:${v('gpus')}` : `gpu:${v('gpus')}`;
    const more: SessionOverrides = {};
    const mail = checkedMail(name => this.inputs.get(name));
    if (mail) more.mailType = mail;
    if (v('mailUser')) more.mailUser = v('mailUser');
    const sbatch = sbatchMap(v('sbatch'));
    const exclusive = this.inputs.get('exclusive');
    if (exclusive instanceof HTMLInputElement && exclusive.checked) sbatch.exclusive = '';
    if (Object.keys(sbatch).length) more.sbatch = sbatch;
    return { kind: 'lab', profile: this.profileName, overrides: { ...overrides, ...more } };
  }

  private schedule(): void {
    window.clearTimeout(this.timer);
    this.valid = false;
    this.submit.disabled = true;
    this.timer = window.setTimeout(() => void this.check(), 250);
  }

  /** Asks the companion whether the request is valid; shows field errors or the script. */
  private async check(): Promise<boolean> {
    const ticket = ++this.checked;
    for (const e of this.errors.values()) e.textContent = '';
    for (const i of this.inputs.values()) i.removeAttribute('aria-invalid');
    try {
      const { script, argv } = await this.ctx.model.api.previewSession(this.request());
      if (ticket !== this.checked) return false;
      this.preview.textContent = `${script}\n# sbatch ${argv.join(' ')}\n`;
      this.valid = true;
      this.submit.disabled = false;
      return true;
    } catch (err) {
      if (ticket === this.checked) this.showError(err);
      return false;
    }
  }

  private showError(err: unknown): void {
    this.preview.textContent = '';
    if (err instanceof HpclabError && err.fields.length > 0) {
      for (const f of err.fields) {
        const name = fieldOf(f.path);
        const box = this.errors.get(name);
        if (box) {
          box.textContent = f.message;
          this.inputs.get(name)?.setAttribute('aria-invalid', 'true');
        } else this.status.textContent = `${f.path}: ${f.message}`;
      }
    } else this.status.textContent = (err as Error).message;
  }

  private async onSubmit(event: Event): Promise<void> {
    event.preventDefault();
    window.clearTimeout(this.timer);
    this.status.textContent = '';
    if (!this.valid && !(await this.check())) return; // a wrong field: nothing is submitted
    this.submit.disabled = true;
    try {
      const key = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
      const session = await this.ctx.model.api.createSession(this.request(), key);
      this.status.textContent = this.ctx.trans.__('Submitted: job %1', session.jobId ?? '');
      // A failed refresh needs no word here: model.error carries it and the sidebar shows it.
      void this.ctx.model.refresh().catch(() => undefined);
    } catch (err) {
      this.showError(err);
    } finally {
      this.submit.disabled = !this.valid;
    }
  }
}

/**
 * `overrides.gres` → the GPU count field; `overrides.mailType` → the mail boxes;
 * `overrides.sbatch.exclusive` → the Exclusive box; any other `overrides.sbatch.x` → sbatch.
 */
function fieldOf(path: string): string {
  const name = path.replace(/^overrides\./, '');
  if (name === 'sbatch.exclusive') return 'exclusive';
  if (name.startsWith('sbatch')) return 'sbatch';
  return name === 'gres' ? 'gpus' : name === 'mailType' ? 'mail' : name;
}

/** `KEY=VALUE` lines (or `KEY` alone for a flag such as exclusive) → sbatch's options by name. */
export function sbatchMap(text: string): Record<string, string> {
  const options: Record<string, string> = {};
  for (const line of text
    .split('\n')
    .map(l => l.trim())
    .filter(Boolean)) {
    const at = line.indexOf('=');
    const key = (at < 0 ? line : line.slice(0, at)).trim().replace(/^--/, '');
    options[key] = at < 0 ? '' : line.slice(at + 1).trim();
  }
  return options;
}
