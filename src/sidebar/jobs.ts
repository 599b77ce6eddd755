import { CommandIDs } from '../tokens';
import { el, groupJobs, hms } from '../format';
import type { Job } from '../contract';
import { Section, type SectionContext } from './section';

/** Height of one table row in px (the CSS gives rows exactly this height). */
const ROW_HEIGHT = 22;
/** Rows drawn above and below the visible ones, so a quick scroll shows no blank. */
const OVERSCAN = 10;

type Row = { kind: 'array'; key: string; count: number } | { kind: 'job'; cluster: string; job: Job };

/**
 * My jobs from the cluster's poller, arrays grouped; cancel, hold and release ask first.
 * Windowed: a user with a 5,000-task sweep gets the rows in view drawn, not 5,000 DOM rows,
 * so a poll that changes the list costs the same whatever its length.
 */
export class JobsSection extends Section {
  private rows: Row[] = [];
  private readonly scroller: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly table: HTMLTableElement;
  private readonly tbody: HTMLTableSectionElement;
  private drawn = '';

  constructor(ctx: SectionContext) {
    super(ctx, ctx.trans.__('Jobs'), 'jobs');
    const { trans } = ctx;
    this.tbody = el('tbody');
    const head = el(
      'tr',
      {},
      ...[trans.__('Job'), trans.__('Name'), trans.__('State'), trans.__('Time'), ''].map(h => el('th', {}, h))
    );
    this.table = el('table', { class: 'jp-hpclab-jobs-table' }, el('thead', {}, head), this.tbody);
    this.spacer = el('div', { class: 'jp-hpclab-jobs-spacer' });
    this.scroller = el(
      'div',
      { class: 'jp-hpclab-jobs-scroll', onscroll: () => this.draw(false) },
      this.spacer,
      this.table
    );
  }

  protected render(): Node[] {
    const { model, trans } = this.ctx;
    this.rows = [];
    for (const cluster of model.clusters) {
      const jobs = (model.status.get(cluster)?.jobs ?? []).filter(j =>
        ['PENDING', 'RUNNING', 'SUSPENDED', 'CONFIGURING', 'COMPLETING'].includes(j.state)
      );
      for (const group of groupJobs(jobs)) {
        if (group.jobs.length > 1) this.rows.push({ kind: 'array', key: group.key, count: group.jobs.length });
        for (const job of group.jobs) this.rows.push({ kind: 'job', cluster, job });
      }
    }
    if (this.rows.length === 0)
      return [this.note(model.loaded ? trans.__('No jobs in the queue.') : trans.__('Loading…'))];
    this.scroller.dataset.rows = String(this.rows.length);
    this.spacer.style.height = `${(this.rows.length + 1) * ROW_HEIGHT}px`;
    this.draw(true);
    return [this.scroller];
  }

  /** Draws the rows in view; `force` after the list changed, else only when the window moved. */
  private draw(force: boolean): void {
    const visible = Math.ceil((this.scroller.clientHeight || 320) / ROW_HEIGHT);
    const first = Math.max(0, Math.floor(this.scroller.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this.rows.length, first + visible + 2 * OVERSCAN);
    const key = `${first}:${last}`;
    if (!force && key === this.drawn) return;
    this.drawn = key;
    this.table.style.transform = `translateY(${first * ROW_HEIGHT}px)`;
    this.tbody.replaceChildren(...this.rows.slice(first, last).map(r => this.row(r)));
  }

  private row(r: Row): HTMLElement {
    const { trans, commands } = this.ctx;
    if (r.kind === 'array')
      return el(
        'tr',
        { class: 'jp-hpclab-array' },
        el('td', { colspan: '5' }, trans.__('array %1 (%2 tasks)', r.key, r.count))
      );
    const { cluster, job } = r;
    const act = (action: string, label: string) =>
      el(
        'button',
        {
          class: 'jp-mod-styled jp-hpclab-action',
          title: trans.__('%1 job %2', label, job.id),
          dataset: { action },
          onclick: () => void commands.execute(CommandIDs.jobAction, { cluster, jobId: job.id, action })
        },
        label
      );
    const actions = [act('cancel', trans.__('Cancel'))];
    if (job.state === 'PENDING')
      actions.push(job.reason?.includes('Held') ? act('release', trans.__('Release')) : act('hold', trans.__('Hold')));
    const time =
      job.state === 'PENDING'
        ? (job.reason ?? '')
        : `${hms(job.timeUsed)}${job.timeLimit !== null ? ` / ${hms(job.timeLimit)}` : ''}`;
    return el(
      'tr',
      { dataset: { job: job.id, state: job.state } },
      el('td', {}, job.id),
      el('td', { title: job.name }, job.name),
      el('td', {}, job.state.toLowerCase()),
      el('td', {}, time),
      el('td', { class: 'jp-hpclab-actions' }, ...actions)
    );
  }
}
