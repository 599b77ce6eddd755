import { el, gpuFree } from '../format';
import type { Partition } from '../contract';
import { CommandIDs } from '../tokens';
import { Section, type SectionContext } from './section';

/**
 * Partitions with nodes idle/allocated and GPUs free per type, as small bars. With no cluster
 * configured it says how to add one; "Add a cluster" and "Edit profiles" stay in its footer.
 */
export class ClusterSection extends Section {
  constructor(ctx: SectionContext) {
    super(ctx, ctx.trans.__('Cluster'), 'cluster');
    const { trans, commands } = ctx;
    const action = (name: string, label: string, command: string) =>
      el(
        'button',
        {
          class: 'jp-mod-styled jp-hpclab-action',
          dataset: { hpclabAction: name },
          onclick: () => void commands.execute(command)
        },
        label
      );
    // Outside the body, so a redraw on every poll does not rebuild it.
    this.node.append(
      el(
        'div',
        { class: 'jp-hpclab-section-footer' },
        action('add-cluster', trans.__('Add a cluster'), CommandIDs.addCluster),
        action('edit-profiles', trans.__('Edit profiles'), CommandIDs.editProfiles)
      )
    );
  }

  protected render(): Node[] {
    const { model, trans, commands } = this.ctx;
    if (!model.loaded) return [this.note(trans.__('Asking the cluster…'))];
    if (model.error && model.status.size === 0)
      return [model.versionProblem, model.error].filter(t => t !== null).map(t => this.note(t, 'error'));
    if (model.clusters.length === 0) {
      const add = el(
        'button',
        {
          class: 'jp-mod-styled jp-mod-accept',
          dataset: { hpclabAction: 'add-first-cluster' },
          onclick: () => void commands.execute(CommandIDs.addCluster)
        },
        trans.__('Add a cluster')
      );
      const words = trans.__(
        "No cluster is configured yet. hpclab connects to your cluster's login node the way you do with ssh, asks Slurm what it offers and proposes profiles for you to check."
      );
      return [el('div', { class: 'jp-hpclab-empty', dataset: { hpclabEmpty: 'clusters' } }, el('p', {}, words), add)];
    }
    const out: Node[] = [];
    if (model.versionProblem) out.push(this.note(model.versionProblem, 'error'));
    for (const cluster of model.clusters) {
      const status = model.status.get(cluster);
      out.push(
        el(
          'div',
          { class: 'jp-hpclab-cluster', dataset: { cluster } },
          el('div', { class: 'jp-hpclab-cluster-name' }, cluster),
          this.link(cluster),
          status?.error ? this.note(status.error, 'error') : null,
          ...(status?.partitions ?? []).map(p => this.partition(p))
        )
      );
    }
    return out;
  }

  /** The login connection when it is not simply up: what is happening and why, in words. */
  private link(cluster: string): HTMLElement | null {
    const { model, trans } = this.ctx;
    const link = model.links.get(cluster);
    if (!link || link.state === 'up') return null;
    const why = link.message ? ` (${link.message})` : '';
    const retry =
      link.retryInMs !== null ? trans.__(', next try in %1 s', Math.max(1, Math.round(link.retryInMs / 1000))) : '';
    const words =
      link.state === 'connecting'
        ? trans.__('Connecting to %1…', cluster)
        : link.state === 'reconnecting'
          ? trans.__('Reconnecting to %1…%2%3', cluster, why, retry)
          : trans.__('Cannot reach %1%2. hpclab tries again at the next refresh.', cluster, why);
    const node = this.note(words, link.state === 'down' ? 'error' : undefined);
    node.dataset.hpclabLink = link.state;
    return node;
  }

  private partition(p: Partition): HTMLElement {
    const { trans } = this.ctx;
    const busy = p.nodes.allocated + p.nodes.mixed;
    const rows = [
      bar(
        trans.__('nodes'),
        p.nodes.idle,
        p.nodes.total,
        trans.__('%1 idle of %2', p.nodes.idle, p.nodes.total),
        'nodes'
      ),
      ...gpuFree(p).map(g =>
        bar(g.type, g.free, g.total, trans.__('%1 free of %2 GPUs (%3)', g.free, g.total, g.type), 'gpus', g.type)
      )
    ];
    return el(
      'div',
      { class: 'jp-hpclab-partition', dataset: { partition: p.name } },
      el(
        'div',
        { class: 'jp-hpclab-partition-head' },
        el('span', { class: 'jp-hpclab-partition-name' }, p.name + (p.isDefault ? '*' : '')),
        el('span', { class: 'jp-hpclab-muted' }, trans.__('%1 · %2/%3 busy', p.available, busy, p.nodes.total))
      ),
      ...rows
    );
  }
}

/** A labelled bar of `free` out of `total` (what is free is what the user wants to see). */
function bar(label: string, free: number, total: number, title: string, kind: string, type?: string): HTMLElement {
  const pct = total > 0 ? Math.round((free / total) * 100) : 0;
  return el(
    'div',
    {
      class: `jp-hpclab-bar-row jp-hpclab-${kind}`,
      title,
      dataset: { free: String(free), total: String(total), ...(type ? { type } : {}) }
    },
    el('span', { class: 'jp-hpclab-bar-label' }, label),
    el('span', { class: 'jp-hpclab-bar' }, el('span', { class: 'jp-hpclab-bar-fill', style: `width: ${pct}%` })),
    el('span', { class: 'jp-hpclab-bar-value' }, `${free}/${total}`)
  );
}
