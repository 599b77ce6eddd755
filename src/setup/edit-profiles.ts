import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import { el } from '../format';
import type { Profile } from '../contract';
import { CommandIDs } from '../tokens';
import {
  buildProfile,
  clearErrors,
  field,
  keptKeys,
  PROFILE_FIELDS,
  profileFormValues,
  showErrors,
  type FieldMap,
  type ProfileField
} from './forms';
import type { SetupContext } from './context';
import type { ProfileConfig } from '../contract';

/** The profile in the form: its name ('' until a new one is saved) and the config as written. */
interface Editing {
  name: string;
  original: ProfileConfig;
  isNew: boolean;
}

/**
 * "Edit profiles", in a main-area tab: the profiles on the left, the chosen one in a form on
 * the right. The form edits the scalar Slurm fields and hands every other key (env, sbatch…)
 * back as written; the companion checks the result and names a bad field, shown beside it.
 */
export class EditProfilesPanel extends Widget {
  private readonly list = el('ul', { class: 'jp-hpclab-profile-list', dataset: { hpclabProfileList: '' } });
  private readonly editor = el('div', { class: 'jp-hpclab-profile-editor' });
  private readonly status = el('div', { class: 'jp-hpclab-form-status', role: 'status', 'aria-live': 'polite' });
  private readonly fields: FieldMap = new Map();
  private profiles: Profile[] = [];
  private clusters: string[] = [];
  private editing: Editing | undefined;

  constructor(private readonly ctx: SetupContext) {
    super();
    const { trans } = ctx;
    this.addClass('jp-hpclab-setup');
    this.node.dataset.hpclabSetup = 'edit-profiles';
    const add = el(
      'button',
      { class: 'jp-mod-styled', dataset: { hpclabAction: 'new-profile' }, onclick: () => this.startNew() },
      trans.__('New profile')
    );
    this.node.append(
      el('h2', {}, trans.__('Edit profiles')),
      el(
        'div',
        { class: 'jp-hpclab-profiles' },
        el('div', { class: 'jp-hpclab-profile-nav' }, this.list, add),
        this.editor
      ),
      this.status
    );
    void this.reload();
    // A cluster or profile added elsewhere (the Add a cluster tab, the CLI) shows up in the list;
    // the form being edited is left alone. Widget.dispose disconnects this.
    ctx.model.changed.connect(() => {
      const names = (p: readonly { name: string }[]) => p.map(x => x.name).join('\n');
      if (
        ctx.model.clusters.join('\n') !== this.clusters.join('\n') ||
        names(ctx.model.profiles) !== names(this.profiles)
      )
        void this.reload();
    }, this);
  }

  /** Opens a profile in the form (the command's `name` argument). */
  select(name: string): void {
    void this.open(name);
  }

  private note(words: string, ...extra: Node[]): HTMLElement {
    return el('div', { class: 'jp-hpclab-note' }, el('p', {}, words), ...extra);
  }

  private async reload(): Promise<void> {
    const { model, trans, commands } = this.ctx;
    try {
      [this.clusters, this.profiles] = await Promise.all([model.api.clusters(), model.api.profiles()]);
    } catch (err) {
      this.status.textContent = (err as Error).message;
      return;
    }
    this.renderList();
    if (this.editing) return;
    if (this.clusters.length === 0) {
      const addCluster = el(
        'button',
        {
          class: 'jp-mod-styled jp-mod-accept',
          dataset: { hpclabAction: 'add-cluster' },
          onclick: () => void commands.execute(CommandIDs.addCluster)
        },
        trans.__('Add a cluster…')
      );
      this.editor.replaceChildren(this.note(trans.__('No cluster is configured yet: profiles need one.'), addCluster));
    } else
      this.editor.replaceChildren(
        this.note(
          this.profiles.length > 0
            ? trans.__('Pick a profile to edit, or add a new one.')
            : trans.__('No profiles yet: add one.')
        )
      );
  }

  private renderList(): void {
    const item = (p: Profile) =>
      el(
        'li',
        {},
        el(
          'button',
          {
            class: 'jp-hpclab-profile-item',
            dataset: { hpclabProfile: p.name },
            'aria-current': this.editing?.name === p.name ? 'true' : undefined,
            onclick: () => void this.open(p.name)
          },
          el('span', {}, p.name),
          el('span', { class: 'jp-hpclab-muted' }, p.cluster)
        )
      );
    this.list.replaceChildren(...this.profiles.map(item));
  }

  private async open(name: string): Promise<void> {
    const { trans, setup } = this.ctx;
    clearErrors(this.fields, this.status);
    this.status.textContent = trans.__('Loading %1…', name);
    try {
      const r = await setup.profileConfig(name);
      this.status.textContent = '';
      this.edit({ name: r.name, original: r.profile, isNew: false });
    } catch (err) {
      this.status.textContent = (err as Error).message;
    }
  }

  private startNew(): void {
    clearErrors(this.fields, this.status);
    this.edit({ name: '', original: this.clusters.length > 0 ? { cluster: this.clusters[0] } : {}, isNew: true });
  }

  private edit(e: Editing): void {
    const { trans } = this.ctx;
    this.editing = e;
    this.renderList();
    this.fields.clear();
    const values = profileFormValues(e.original);
    const labels: Record<ProfileField, string> = {
      cluster: trans.__('Cluster'),
      partition: trans.__('Partition'),
      time: trans.__('Time (HH:MM:SS)'),
      cpus: trans.__('CPUs'),
      mem: trans.__('Memory'),
      gres: trans.__('GRES (e.g. gpu:1)'),
      account: trans.__('Account'),
      qos: trans.__('QOS'),
      constraint: trans.__('Constraint')
    };
    const rows: HTMLElement[] = [];
    const add = (name: string, label: string, input: HTMLInputElement | HTMLSelectElement) => {
      const f = field(name, label, input);
      this.fields.set(name, { input, error: f.error });
      rows.push(f.row);
    };
    add(
      'name',
      trans.__('Name'),
      el('input', { type: 'text', autocomplete: 'off', value: e.name, readOnly: !e.isNew })
    );
    // The profile's own cluster stays choosable even if the companion no longer lists it.
    const clusters = [...new Set([...this.clusters, values.cluster].filter(Boolean))];
    const cluster = el('select', {}, ...clusters.map(c => el('option', { value: c }, c)));
    cluster.value = values.cluster;
    add('cluster', labels.cluster, cluster);
    for (const key of PROFILE_FIELDS)
      if (key !== 'cluster')
        add(key, labels[key], el('input', { type: 'text', autocomplete: 'off', value: values[key] }));
    const kept = keptKeys(e.original);
    const save = el(
      'button',
      { type: 'submit', class: 'jp-mod-styled jp-mod-accept', dataset: { hpclabAction: 'save-profile' } },
      trans.__('Save')
    );
    const remove = e.isNew
      ? null
      : el(
          'button',
          {
            type: 'button',
            class: 'jp-mod-styled jp-mod-warn',
            dataset: { hpclabAction: 'remove-profile' },
            onclick: () => void this.remove(e.name)
          },
          trans.__('Remove')
        );
    const submit = (ev: Event) => {
      ev.preventDefault();
      void this.save(save);
    };
    const form = el(
      'form',
      {
        class: 'jp-hpclab-form jp-hpclab-profile-form',
        novalidate: true,
        dataset: { hpclabProfileForm: '', profile: e.name },
        onsubmit: submit
      },
      el('h3', {}, e.isNew ? trans.__('New profile') : trans.__('Profile %1', e.name)),
      ...rows,
      kept.length > 0
        ? el(
            'p',
            { class: 'jp-hpclab-muted jp-hpclab-kept' },
            trans.__('Kept as written in the config: %1', kept.join(', '))
          )
        : null,
      el('div', { class: 'jp-hpclab-setup-buttons' }, save, remove)
    );
    this.editor.replaceChildren(form);
  }

  private async save(button: HTMLButtonElement): Promise<void> {
    const e = this.editing;
    if (!e) return;
    const { trans, setup, model } = this.ctx;
    const value = (key: string) => (this.fields.get(key)?.input as HTMLInputElement | undefined)?.value ?? '';
    const name = e.isNew ? value('name').trim() : e.name;
    clearErrors(this.fields, this.status);
    // PUT replaces: a new profile must not silently overwrite one of the same name.
    const nameProblem = !name
      ? trans.__('A new profile needs a name.')
      : e.isNew && this.profiles.some(p => p.name === name)
        ? trans.__('%1 exists already: pick it in the list to edit it.', name)
        : '';
    if (nameProblem) {
      this.fields.get('name')!.error.textContent = nameProblem;
      return;
    }
    button.disabled = true;
    try {
      const r = await setup.putProfile(
        name,
        buildProfile(e.original, Object.fromEntries(PROFILE_FIELDS.map(k => [k, value(k)])))
      );
      Notification.success(trans.__('Saved profile %1.', r.name), { autoClose: 4000 });
      // A failed refresh needs no word here: model.error carries it and the sidebar shows it.
      void model.refresh().catch(() => undefined);
      if (this.isDisposed) return;
      const saved = { name: r.name, original: r.profile, isNew: false };
      this.editing = saved;
      await this.reload();
      this.edit(saved);
      this.status.textContent = trans.__('Saved %1.', r.name);
    } catch (err) {
      showErrors(err, this.fields, this.status);
    } finally {
      button.disabled = false;
    }
  }

  private async remove(name: string): Promise<void> {
    const { trans, setup, model } = this.ctx;
    const buttons = [Dialog.cancelButton(), Dialog.warnButton({ label: trans.__('Remove') })];
    const answer = await showDialog({
      title: trans.__('Remove profile %1?', name),
      body: trans.__('This removes %1 from the hpclab config. Sessions already running keep running.', name),
      buttons
    });
    if (!answer.button.accept) return;
    try {
      await setup.removeProfile(name);
      Notification.success(trans.__('Removed profile %1.', name), { autoClose: 4000 });
      // As after a save: the sidebar shows why a refresh failed.
      void model.refresh().catch(() => undefined);
      this.editing = undefined;
      await this.reload();
    } catch (err) {
      showErrors(err, this.fields, this.status);
    }
  }
}
