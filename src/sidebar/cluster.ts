import { el, gpuFree } from '../format';
import type { Partition } from '../schemas';
import { Section, type SectionContext } from './section';

/** Partitions with nodes idle/allocated and GPUs free per type, as small bars. */
export class ClusterSection extends Section {
  constructor(ctx: SectionContext) {
    super(ctx, ctx.trans.__('Cluster'), 'cluster');
  }

  protected render(): Node[] {
    const { model, trans } = this.ctx;
    if (!model.loaded) return [this.note(trans.__('Asking the cluster…'))];
    if (model.error && model.status.size === 0) return [model.versionProblem, model.error].filter(t => t !== null).map(t => this.note(t, 'error'));
    const out: Node[] = [];
    if (model.versionProblem) out.push(this.note(model.versionProblem, 'error'));
    for (const cluster of model.clusters) {
      const status = model.status.get(cluster);
      out.push(
        el(
          'div',
          { class: 'jp-hpclab-cluster', dataset: { cluster } },
          el('div', { class: 'jp-hpclab-cluster-name' }, cluster),
          status?.error ? this.note(status.error, 'error') : null,
          ...(status?.partitions ?? []).map(p => this.partition(p))
        )
      );
    }
    return out;
  }

  private partition(p: Partition): HTMLElement {
    const { trans } = this.ctx;
    const busy = p.nodes.allocated + p.nodes.mixed;
    const rows = [
      bar(trans.__('nodes'), p.nodes.idle, p.nodes.total, trans.__('%1 idle of %2', p.nodes.idle, p.nodes.total), 'nodes'),
      ...gpuFree(p).map(g => bar(g.type, g.free, g.total, trans.__('%1 free of %2 GPUs (%3)', g.free, g.total, g.type), 'gpus', g.type))
    ];
    return el(
      'div',
      { class: 'jp-hpclab-partition', dataset: { partition: p.name } },
      el('div', { class: 'jp-hpclab-partition-head' }, el('span', { class: 'jp-hpclab-partition-name' }, p.name + (p.isDefault ? '*' : '')), el('span', { class: 'jp-hpclab-muted' }, `${p.available} · ${busy}/${p.nodes.total} ${trans.__('busy')}`)),
      ...rows
    );
  }
}

/** A labelled bar of `free` out of `total` (what is free is what the user wants to see). */
function bar(label: string, free: number, total: number, title: string, kind: string, type?: string): HTMLElement {
  const pct = total > 0 ? Math.round((free / total) * 100) : 0;
  return el(
    'div',
    { class: `jp-hpclab-bar-row jp-hpclab-${kind}`, title, dataset: { free: String(free), total: String(total), ...(type ? { type } : {}) } },
    el('span', { class: 'jp-hpclab-bar-label' }, label),
    el('span', { class: 'jp-hpclab-bar' }, el('span', { class: 'jp-hpclab-bar-fill', style: `width: ${pct}%` })),
    el('span', { class: 'jp-hpclab-bar-value' }, `${free}/${total}`)
  );
}
