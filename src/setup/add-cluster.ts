import { Notification } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import { el, hms } from '../format';
import { CommandIDs } from '../tokens';
import { checkedProfiles, clearErrors, envSummary, field, showErrors, type FieldMap } from './forms';
import type { SetupContext } from './context';
import type { Discovery, ProfileConfig, SaveResult } from '../contract';

type Step = 'loading' | 'error' | 'host' | 'review' | 'done';

const text = (value: unknown): string | undefined =>
  typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;

/**
 * "Add a cluster", in a main-area tab: pick the SSH host the user already uses, connect and ask
 * Slurm (partitions, accounts, environments), review the proposed profiles, save the checked
 * ones. Nothing is written before Save; the root's `data-hpclab-step` says where the flow is.
 */
export class AddClusterPanel extends Widget {
  private readonly status = el('div', { class: 'jp-hpclab-form-status', role: 'status', 'aria-live': 'polite' });
  private readonly fields: FieldMap = new Map();
  private readonly checked = new Set<string>();
  private hosts: string[] = [];
  private configPath = '';
  /** What the user typed, kept when they come back from the review. */
  private host = '';
  private cluster = '';

  constructor(private readonly ctx: SetupContext) {
    super();
    this.addClass('jp-hpclab-setup');
    this.node.dataset.hpclabSetup = 'add-cluster';
    void this.load();
  }

  private showStep(step: Step, ...children: (Node | null)[]): void {
    this.node.dataset.hpclabStep = step;
    this.node.removeAttribute('aria-busy');
    this.status.textContent = '';
    this.node.replaceChildren(
      el('h2', {}, this.ctx.trans.__('Add a cluster')),
      ...children.filter((c): c is Node => c !== null),
      this.status
    );
  }

  private note(words: string): HTMLElement {
    return el('p', { class: 'jp-hpclab-note' }, words);
  }

  private async load(): Promise<void> {
    const { trans, setup } = this.ctx;
    this.showStep('loading', this.note(trans.__('Reading your SSH config…')));
    try {
      const info = await setup.info();
      this.hosts = info.hosts;
      this.configPath = info.configPath;
      this.showHost();
    } catch (err) {
      this.showStep(
        'error',
        el(
          'button',
          { class: 'jp-mod-styled', dataset: { hpclabAction: 'retry' }, onclick: () => void this.load() },
          trans.__('Try again')
        )
      );
      this.status.textContent = (err as Error).message;
    }
  }

  private showHost(): void {
    const { trans } = this.ctx;
    const hosts = this.hosts;
    const hostInput =
      hosts.length > 0
        ? el('select', {}, ...hosts.map(h => el('option', { value: h }, h)))
        : el('input', { type: 'text', autocomplete: 'off', placeholder: trans.__('mycluster') });
    hostInput.value = hosts.length === 0 || hosts.includes(this.host) ? this.host : hosts[0];
    const clusterInput = el('input', {
      type: 'text',
      autocomplete: 'off',
      placeholder: trans.__('same as the host'),
      value: this.cluster
    });
    const host = field(
      'host',
      hosts.length > 0 ? trans.__('SSH host (from ~/.ssh/config)') : trans.__('SSH host alias or name'),
      hostInput
    );
    const cluster = field('cluster', trans.__('Cluster name (optional)'), clusterInput);
    this.fields.clear();
    this.fields.set('host', { input: hostInput, error: host.error });
    this.fields.set('cluster', { input: clusterInput, error: cluster.error });
    const connect = el(
      'button',
      { type: 'submit', class: 'jp-mod-styled jp-mod-accept', dataset: { hpclabAction: 'connect' } },
      trans.__('Connect')
    );
    const fieldset = el(
      'fieldset',
      { class: 'jp-hpclab-setup-fields' },
      host.row,
      cluster.row,
      el('div', { class: 'jp-hpclab-setup-buttons' }, connect)
    );
    const submit = (e: Event) => {
      e.preventDefault();
      void this.connect(hostInput, clusterInput, fieldset, connect);
    };
    this.showStep(
      'host',
      el(
        'p',
        {},
        trans.__(
          'hpclab connects to the login node over SSH, the way you do with ssh, asks Slurm what the cluster offers and proposes profiles. Nothing is written until you save.'
        )
      ),
      hosts.length === 0
        ? el(
            'p',
            { class: 'jp-hpclab-note jp-hpclab-setup-hint' },
            trans.__(
              "No hosts in your ~/.ssh/config: add a Host entry for your cluster's login node to ~/.ssh/config, the one you use with ssh. You can also type an alias or host name below."
            )
          )
        : null,
      el('form', { class: 'jp-hpclab-setup-form', novalidate: true, onsubmit: submit }, fieldset),
      el('p', { class: 'jp-hpclab-muted' }, trans.__('Config file: %1', this.configPath))
    );
  }

  private async connect(
    hostInput: HTMLInputElement | HTMLSelectElement,
    clusterInput: HTMLInputElement,
    fieldset: HTMLFieldSetElement,
    button: HTMLButtonElement
  ): Promise<void> {
    const { trans, setup } = this.ctx;
    this.host = hostInput.value.trim();
    this.cluster = clusterInput.value.trim();
    clearErrors(this.fields, this.status);
    if (!this.host) {
      this.fields.get('host')!.error.textContent = trans.__('Pick or type the host you use with ssh.');
      return;
    }
    const pending = trans.__('Connecting to %1 and asking Slurm…', this.host);
    fieldset.disabled = true;
    button.textContent = trans.__('Connecting…');
    this.node.setAttribute('aria-busy', 'true');
    this.status.textContent = `${pending} ${trans.__('If the host asks for a code or a passphrase, a login prompt opens.')}`;
    // One notification updated in place: the user may switch tabs during the tens of seconds this takes.
    const note = Notification.emit(pending, 'in-progress', { autoClose: false });
    try {
      const d = await setup.discover(this.host, this.cluster || undefined);
      Notification.update({
        id: note,
        type: 'success',
        autoClose: 5000,
        message: trans.__(
          '%1 answered: %2 partitions, %3 profiles proposed.',
          d.cluster,
          d.partitions.length,
          Object.keys(d.profiles).length
        )
      });
      if (this.isDisposed) return;
      this.checked.clear();
      for (const name of Object.keys(d.profiles)) this.checked.add(name);
      this.showReview(d);
    } catch (err) {
      Notification.update({
        id: note,
        type: 'error',
        autoClose: false,
        message: trans.__('Cannot connect to %1: %2', this.host, (err as Error).message)
      });
      if (this.isDisposed) return;
      fieldset.disabled = false;
      button.textContent = trans.__('Connect');
      this.node.removeAttribute('aria-busy');
      showErrors(err, this.fields, this.status);
    }
  }

  private showReview(d: Discovery): void {
    const { trans } = this.ctx;
    const names = Object.keys(d.profiles);
    const back = el(
      'button',
      { class: 'jp-mod-styled jp-mod-reject', dataset: { hpclabAction: 'back' }, onclick: () => this.showHost() },
      trans.__('Back')
    );
    const save: HTMLButtonElement = el(
      'button',
      {
        class: 'jp-mod-styled jp-mod-accept',
        dataset: { hpclabAction: 'save' },
        onclick: () => void this.save(d, save, back)
      },
      trans.__('Save')
    );
    const list = (items: Node[], empty: string) =>
      items.length > 0
        ? el('ul', { class: 'jp-hpclab-setup-list' }, ...items.map(i => el('li', {}, i)))
        : this.note(empty);
    this.showStep(
      'review',
      el(
        'p',
        {},
        trans.__(
          'Cluster %1 through %2: Slurm answered in %3 s (%4 calls).',
          d.cluster,
          d.host,
          d.seconds.toFixed(1),
          d.slurmCalls
        )
      ),
      el('h3', {}, trans.__('Partitions')),
      this.partitions(d),
      el('h3', {}, trans.__('Accounts and QOS')),
      d.associations === null
        ? this.note(trans.__('Slurm accounting is off here: no accounts to choose.'))
        : list(
            d.associations.map(a =>
              el('span', {}, el('code', {}, a.account), a.qos.length > 0 ? ` · QOS ${a.qos.join(', ')}` : '')
            ),
            trans.__('No accounts found for you.')
          ),
      el('h3', {}, trans.__('Environments with ipykernel')),
      list(
        d.envs.map(e => el('code', {}, e)),
        trans.__('None found.')
      ),
      el('h3', {}, trans.__('Profiles to add')),
      names.length > 0
        ? el('div', { class: 'jp-hpclab-proposals' }, ...names.map(n => this.proposal(n, d.profiles[n])))
        : this.note(trans.__('No new profiles to propose; Save adds the cluster alone.')),
      d.existingProfiles.length > 0
        ? el(
            'p',
            { class: 'jp-hpclab-muted' },
            trans.__('Already in your config, kept as they are: %1', d.existingProfiles.join(', '))
          )
        : null,
      el('div', { class: 'jp-hpclab-setup-buttons' }, back, save)
    );
  }

  private partitions(d: Discovery): HTMLElement {
    const { trans } = this.ctx;
    if (d.partitions.length === 0) return this.note(trans.__('Slurm listed no partitions.'));
    const head = el(
      'tr',
      {},
      ...[trans.__('Partition'), trans.__('GPUs'), trans.__('Time limit')].map(h => el('th', {}, h))
    );
    const row = (p: Discovery['partitions'][number]) =>
      el(
        'tr',
        { dataset: { partition: p.name } },
        el('td', {}, `${p.name} `, p.default ? el('span', { class: 'jp-hpclab-badge' }, trans.__('default')) : null),
        el('td', {}, p.gpus.join(', ') || '—'),
        el('td', {}, p.timeLimitSec === null ? trans.__('no limit') : hms(p.timeLimitSec))
      );
    return el(
      'table',
      { class: 'jp-hpclab-setup-table' },
      el('thead', {}, head),
      el('tbody', {}, ...d.partitions.map(row))
    );
  }

  private proposal(name: string, p: ProfileConfig): HTMLElement {
    const { trans } = this.ctx;
    const box: HTMLInputElement = el('input', {
      type: 'checkbox',
      checked: this.checked.has(name),
      dataset: { hpclabProfile: name },
      onchange: () => (box.checked ? this.checked.add(name) : this.checked.delete(name))
    });
    const cpus = text(p.cpus);
    const account = text(p.account);
    const parts = [
      text(p.partition),
      text(p.time),
      cpus && trans.__('%1 CPUs', cpus),
      text(p.gres),
      account && trans.__('account %1', account),
      envSummary(p.env)
    ];
    return el(
      'label',
      { class: 'jp-hpclab-proposal', dataset: { profile: name } },
      box,
      el('span', { class: 'jp-hpclab-proposal-name' }, name),
      el('span', { class: 'jp-hpclab-muted' }, parts.filter(Boolean).join(' · '))
    );
  }

  private async save(d: Discovery, save: HTMLButtonElement, back: HTMLButtonElement): Promise<void> {
    const { trans, setup, model } = this.ctx;
    save.disabled = back.disabled = true;
    this.node.setAttribute('aria-busy', 'true');
    this.status.textContent = trans.__('Saving…');
    try {
      const r = await setup.save(d.host, d.cluster, checkedProfiles(d.profiles, this.checked));
      Notification.success(
        trans.__(
          'Added cluster %1 to %2 with profiles: %3.',
          r.cluster,
          r.configPath,
          r.added.join(', ') || trans.__('none')
        ),
        { autoClose: 8000 }
      );
      // The sidebar, launcher and request form read the model: ask now, not at the next poll.
      // A failed refresh needs no word here: model.error carries it and the sidebar shows it.
      void model.refresh().catch(() => undefined);
      if (!this.isDisposed) this.showDone(r);
    } catch (err) {
      if (this.isDisposed) return void Notification.error((err as Error).message);
      save.disabled = back.disabled = false;
      this.node.removeAttribute('aria-busy');
      // Paths here name the request (`profiles.cpu.time`), not a field on this page: all in the status line.
      showErrors(err, new Map(), this.status);
    }
  }

  private showDone(r: SaveResult): void {
    const { trans, commands } = this.ctx;
    const another = () => {
      this.host = this.cluster = '';
      this.showHost();
    };
    this.showStep(
      'done',
      el('p', { dataset: { hpclabSaved: r.cluster } }, trans.__('Saved cluster %1 to %2.', r.cluster, r.configPath)),
      el(
        'p',
        {},
        r.added.length > 0 ? trans.__('Profiles added: %1', r.added.join(', ')) : trans.__('No profiles added.')
      ),
      el(
        'div',
        { class: 'jp-hpclab-setup-buttons' },
        el(
          'button',
          {
            class: 'jp-mod-styled jp-mod-accept',
            dataset: { hpclabAction: 'edit-profiles' },
            onclick: () => void commands.execute(CommandIDs.editProfiles)
          },
          trans.__('Edit profiles…')
        ),
        el(
          'button',
          { class: 'jp-mod-styled', dataset: { hpclabAction: 'add-another' }, onclick: another },
          trans.__('Add another cluster')
        )
      )
    );
  }
}
