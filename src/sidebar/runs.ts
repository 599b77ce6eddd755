import { HpclabError } from '../api';
import { el } from '../format';
import type { Run } from '../contract';
import { CommandIDs } from '../tokens';
import { Section, type SectionContext } from './section';

/** Runs shown per cluster; older ones stay on the cluster (`hpclab runs list`). */
const SHOWN = 10;
const ACTIVE = new Set(['PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING', 'SUSPENDED']);

/**
 * Batch runs (Submit as batch job, `hpclab submit`): each with its tasks' states, cancel while
 * any task is queued or running, and its outputs (executed notebooks under out/, job logs),
 * each opened in JupyterLab with one click (fetched from the cluster first).
 */
export class RunsSection extends Section {
  /** Outputs lists the user opened, by `cluster/runId`, kept across redraws. */
  private readonly outputs = new Map<string, HTMLElement>();

  constructor(ctx: SectionContext) {
    super(ctx, ctx.trans.__('Runs'), 'runs');
  }

  protected render(): Node[] {
    const { model, trans } = this.ctx;
    const nodes: Node[] = [];
    for (const [cluster, list] of model.runs) {
      for (const problem of list.problems) nodes.push(this.note(`${cluster}: ${problem}`, 'error'));
      for (const run of list.runs.slice(0, SHOWN)) nodes.push(this.runNode(run));
    }
    if (nodes.length === 0)
      return [
        this.note(
          model.loaded
            ? trans.__('No runs yet: "Submit as batch job" on a notebook or script starts one.')
            : trans.__('Loading…')
        )
      ];
    return nodes;
  }

  private runNode(run: Run): HTMLElement {
    const { trans, commands } = this.ctx;
    const key = `${run.cluster}/${run.runId}`;
    const tasks = run.tasks ?? [];
    const active = tasks.some(t => ACTIVE.has(t.state));
    const buttons: HTMLElement[] = [
      el(
        'button',
        {
          class: 'jp-mod-styled jp-hpclab-action',
          dataset: { action: 'outputs' },
          title: trans.__('Outputs of run %1', run.runId),
          onclick: () => void this.toggleOutputs(run)
        },
        trans.__('Outputs')
      )
    ];
    if (active && run.jobId)
      buttons.push(
        el(
          'button',
          {
            class: 'jp-mod-styled jp-hpclab-action',
            dataset: { action: 'cancel' },
            title: trans.__('Cancel job %1 (every task)', run.jobId),
            onclick: () =>
              void commands.execute(CommandIDs.jobAction, { cluster: run.cluster, jobId: run.jobId, action: 'cancel' })
          },
          trans.__('Cancel')
        )
      );
    const state =
      run.tasks === null
        ? el('span', { class: 'jp-hpclab-run-ended' }, trans.__('ended (no longer in the queue)'))
        : el(
            'span',
            { class: 'jp-hpclab-run-tasks' },
            ...tasks.map(t =>
              el(
                'span',
                {
                  class: 'jp-hpclab-task',
                  dataset: { task: t.taskId ?? '', state: t.state },
                  title: [t.jobId, t.state, t.reason, t.node, t.exitCode && `exit ${t.exitCode}`]
                    .filter(Boolean)
                    .join(' · ')
                },
                `${t.taskId !== null ? `${t.taskId}: ` : ''}${t.state.toLowerCase()}`
              )
            )
          );
    const list = this.outputs.get(key);
    return el(
      'div',
      { class: 'jp-hpclab-run', dataset: { run: run.runId, cluster: run.cluster } },
      el(
        'div',
        { class: 'jp-hpclab-run-head' },
        el('strong', { title: run.runId }, run.file),
        ' ',
        el(
          'span',
          { class: 'jp-hpclab-run-meta' },
          [run.jobId && trans.__('job %1', run.jobId), run.taskCount !== null && trans.__('%1 tasks', run.taskCount)]
            .filter(Boolean)
            .join(' · ')
        ),
        el('span', { class: 'jp-hpclab-actions' }, ...buttons)
      ),
      state,
      list ?? null
    );
  }

  /** Lists the run's outputs under it (asked of the cluster each time), or hides them. */
  private async toggleOutputs(run: Run): Promise<void> {
    const { trans, commands, model } = this.ctx;
    const key = `${run.cluster}/${run.runId}`;
    if (this.outputs.delete(key)) return this.update();
    const box = el('ul', { class: 'jp-hpclab-run-outputs' }, el('li', {}, trans.__('Asking the cluster…')));
    this.outputs.set(key, box);
    this.update();
    try {
      const { outputs } = await model.api.runOutputs(run.cluster, run.runId);
      box.replaceChildren(
        ...(outputs.length === 0
          ? [el('li', {}, trans.__('No outputs yet.'))]
          : outputs.map(o =>
              el(
                'li',
                {},
                el(
                  'button',
                  {
                    class: 'jp-hpclab-link',
                    dataset: { output: o.path },
                    title: trans.__('Fetch %1 and open it in JupyterLab', o.path),
                    onclick: () =>
                      void commands.execute(CommandIDs.openRunOutput, {
                        cluster: run.cluster,
                        runId: run.runId,
                        path: o.path
                      })
                  },
                  o.path
                ),
                ` ${(o.size / 1024).toFixed(1)} KiB`
              )
            ))
      );
    } catch (err) {
      const why = err instanceof HpclabError ? err.message : String(err);
      box.replaceChildren(el('li', { class: 'jp-hpclab-note-error' }, why));
    }
  }
}
