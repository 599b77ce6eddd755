import { el, hms } from '../format';
import type { History, HistoryJob } from '../contract';
import { Section, type SectionContext } from './section';

const SPANS = ['1d', '7d', '30d'] as const;

const percent = (ratio: number | null) => (ratio === null ? '–' : `${Math.round(ratio * 100)}%`);

/**
 * What ran, from the cluster's accounting (sacct through the companion): state, exit code,
 * elapsed, and how much of the CPUs and memory asked for were used, as seff says it. Asked
 * when the user picks a span (sacct is not free for a site), not at every poll.
 */
export class HistorySection extends Section {
  private readonly cluster: HTMLSelectElement;
  private readonly since: HTMLSelectElement;
  private readonly result: HTMLElement;
  private asked = 0;

  constructor(ctx: SectionContext) {
    super(ctx, ctx.trans.__('History'), 'history');
    const { trans } = ctx;
    this.cluster = el('select', { class: 'jp-mod-styled', 'aria-label': trans.__('Cluster') });
    this.since = el(
      'select',
      { class: 'jp-mod-styled', 'aria-label': trans.__('Since') },
      ...SPANS.map(s =>
        el(
          'option',
          { value: s },
          { '1d': trans.__('last day'), '7d': trans.__('last 7 days'), '30d': trans.__('last 30 days') }[s]
        )
      )
    );
    this.since.value = '7d';
    this.result = el('div', { class: 'jp-hpclab-history-result' });
    for (const select of [this.cluster, this.since]) select.addEventListener('change', () => void this.load());
  }

  protected render(): Node[] {
    const { model, trans } = this.ctx;
    if (model.clusters.length === 0) return [this.note(model.loaded ? trans.__('No clusters.') : trans.__('Loading…'))];
    const current = this.cluster.value;
    this.cluster.replaceChildren(...model.clusters.map(c => el('option', { value: c }, c)));
    this.cluster.value = model.clusters.includes(current) ? current : model.clusters[0];
    const show = el(
      'button',
      { class: 'jp-mod-styled jp-hpclab-action', dataset: { action: 'history' }, onclick: () => void this.load() },
      trans.__('Show')
    );
    return [el('div', { class: 'jp-hpclab-history-bar' }, this.cluster, this.since, show), this.result];
  }

  /** Asks for the history; a newer ask wins over a slower older one. */
  async load(): Promise<void> {
    const { model, trans } = this.ctx;
    const ticket = ++this.asked;
    this.result.replaceChildren(this.note(trans.__("Asking the cluster's accounting…")));
    try {
      const history = await model.api.history(this.cluster.value, this.since.value);
      if (ticket === this.asked) this.result.replaceChildren(...this.table(history));
    } catch (err) {
      if (ticket === this.asked) this.result.replaceChildren(this.note((err as Error).message, 'error'));
    }
  }

  private table(history: History): Node[] {
    const { trans } = this.ctx;
    if (!history.accounting)
      return [this.note(history.message ?? trans.__('This cluster keeps no job accounting.'), 'info')];
    if (history.jobs.length === 0) return [this.note(trans.__('No jobs in that time.'))];
    const head = [
      trans.__('Job'),
      trans.__('Name'),
      trans.__('State'),
      trans.__('Exit'),
      trans.__('Elapsed'),
      trans.__('CPU'),
      trans.__('Mem')
    ];
    // Newest first: the job just finished is the one the user looks for.
    const rows = [...history.jobs].reverse().map(j => this.row(j));
    return [
      el(
        'table',
        { class: 'jp-hpclab-history-table' },
        el('thead', {}, el('tr', {}, ...head.map(h => el('th', {}, h)))),
        el('tbody', {}, ...rows)
      )
    ];
  }

  private row(j: HistoryJob): HTMLElement {
    const { trans } = this.ctx;
    const cpu = percent(j.cpuEfficiency);
    const mem = percent(j.memEfficiency);
    return el(
      'tr',
      { dataset: { job: j.jobId, state: j.state } },
      el('td', {}, j.jobId),
      el('td', { title: j.name }, j.name),
      el('td', {}, j.state.toLowerCase()),
      el('td', {}, j.exitCode === null ? '–' : String(j.exitCode)),
      el('td', {}, hms(j.elapsed)),
      el('td', { title: trans.__('CPU time used of %1 CPUs × elapsed', j.cpus) }, cpu),
      el(
        'td',
        {
          title:
            j.memPeak !== null && j.memRequested !== null
              ? trans.__(
                  'peak %1 MiB of %2 MiB asked',
                  Math.round(j.memPeak / 2 ** 20),
                  Math.round(j.memRequested / 2 ** 20)
                )
              : trans.__('not measured')
        },
        mem
      )
    );
  }
}
