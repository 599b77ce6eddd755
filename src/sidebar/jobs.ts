import { CommandIDs } from '../tokens';
import { el, groupJobs, hms } from '../format';
import type { Job } from '../schemas';
import { Section, type SectionContext } from './section';

/** My jobs from the cluster's poller, arrays grouped; cancel, hold and release ask first. */
export class JobsSection extends Section {
  constructor(ctx: SectionContext) {
    super(ctx, ctx.trans.__('Jobs'), 'jobs');
  }

  protected render(): Node[] {
    const { model, trans } = this.ctx;
    const rows: HTMLElement[] = [];
    for (const cluster of model.clusters) {
      const jobs = (model.status.get(cluster)?.jobs ?? []).filter(j => ['PENDING', 'RUNNING', 'SUSPENDED', 'CONFIGURING', 'COMPLETING'].includes(j.state));
      for (const group of groupJobs(jobs)) {
        if (group.jobs.length > 1) rows.push(el('tr', { class: 'jp-hpclab-array' }, el('td', { colspan: '5' }, trans.__('array %1 (%2 tasks)', group.key, group.jobs.length))));
        for (const job of group.jobs) rows.push(this.row(cluster, job));
      }
    }
    if (rows.length === 0) return [this.note(model.loaded ? trans.__('No jobs in the queue.') : trans.__('Loading…'))];
    const head = el('tr', {}, ...[trans.__('Job'), trans.__('Name'), trans.__('State'), trans.__('Time'), ''].map(h => el('th', {}, h)));
    return [el('table', { class: 'jp-hpclab-jobs-table' }, el('thead', {}, head), el('tbody', {}, ...rows))];
  }

  private row(cluster: string, job: Job): HTMLElement {
    const { trans, commands } = this.ctx;
    const act = (action: string, label: string) =>
      el('button', { class: 'jp-mod-styled jp-hpclab-action', title: `${label} ${job.id}`, dataset: { action }, onclick: () => void commands.execute(CommandIDs.jobAction, { cluster, jobId: job.id, action }) }, label);
    const actions = [act('cancel', trans.__('Cancel'))];
    if (job.state === 'PENDING') actions.push(job.reason?.includes('Held') ? act('release', trans.__('Release')) : act('hold', trans.__('Hold')));
    const time = job.state === 'PENDING' ? (job.reason ?? '') : `${hms(job.timeUsed)}${job.timeLimit !== null ? ` / ${hms(job.timeLimit)}` : ''}`;
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
