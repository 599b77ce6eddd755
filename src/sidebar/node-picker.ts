import type { HpclabApi } from '../api';
import type { ClusterNode } from '../contract';
import { el } from '../format';
import type { Words } from '../translate';

/** A node as the picker offers it: its words, and whether a request may name it. */
export interface NodeChoice {
  name: string;
  state: string;
  label: string;
  selectable: boolean;
}

/**
 * The picker's options. Idle nodes come first, then mixed ones with CPUs free: a shared cluster
 * is mostly mixed nodes, and a job that does not ask for the whole node still fits on one. An
 * exclusive request needs the whole node, so then only idle ones may be picked. Every other node
 * follows, disabled, with its state, so the user sees why it is not offered. Names sort
 * naturally (c2 before c10) within each group.
 */
export function nodeChoices(nodes: readonly ClusterNode[], exclusive: boolean, trans: Words): NodeChoice[] {
  const rank = (n: ClusterNode) => (n.state === 'idle' ? 0 : usable(n, exclusive) ? 1 : 2);
  return [...nodes]
    .sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name, undefined, { numeric: true }))
    .map(n => {
      const selectable = rank(n) < 2;
      return {
        name: n.name,
        state: n.state,
        selectable,
        label: selectable ? freeWords(n, trans) : `${n.name} · ${n.state}`
      };
    });
}

function usable(n: ClusterNode, exclusive: boolean): boolean {
  if (n.state === 'idle') return true;
  return !exclusive && n.state === 'mixed' && n.cpus.total > n.cpus.allocated;
}

/** `c1 · idle · 8 CPUs free · fake 2/2 GPUs free`. */
function freeWords(n: ClusterNode, trans: Words): string {
  const cpus = n.cpus.total - n.cpus.allocated;
  return [
    n.name,
    n.state,
    trans._n('%1 CPU free', '%1 CPUs free', cpus),
    ...n.gpus.map(g => trans.__('%1 %2/%3 GPUs free', g.type || 'gpu', g.total - g.used, g.total))
  ].join(' · ');
}

/**
 * The Request form's "Node" choice: "Any node", then the partition's nodes as nodeChoices orders
 * them. It sets `overrides.nodelist`; loading problems show in its note, never thrown.
 */
export class NodePicker {
  readonly select: HTMLSelectElement;
  /** What the picker has to say: loading, why the list is empty, why a pick was let go. */
  readonly note: HTMLElement;
  private nodes: ClusterNode[] = [];
  private exclusive = false;
  private ticket = 0;

  constructor(private readonly trans: Words) {
    this.select = el('select', {}, this.anyNode());
    this.note = el('div', { class: 'jp-hpclab-node-note jp-hpclab-muted', role: 'status' });
  }

  /** Asks for the partition's nodes; a pick still free stays picked. A newer load wins over an older one. */
  async load(api: HpclabApi, cluster: string, partition: string): Promise<void> {
    const ticket = ++this.ticket;
    this.say(this.trans.__('Asking %1 for its nodes…', cluster));
    let nodes: ClusterNode[];
    try {
      nodes = await api.nodes(cluster, partition || undefined);
    } catch (err) {
      if (ticket !== this.ticket) return;
      // Shown here, not thrown: the form still works with "Any node".
      this.nodes = [];
      this.render();
      this.say(this.trans.__('Cannot list the nodes: %1', (err as Error).message), true);
      return;
    }
    if (ticket !== this.ticket) return;
    this.nodes = nodes;
    this.say(nodes.length ? '' : this.trans.__('No nodes in this partition.'));
    this.render();
  }

  /** An exclusive request needs a whole node: mixed ones stop being offered. */
  setExclusive(exclusive: boolean): void {
    if (exclusive === this.exclusive) return;
    this.exclusive = exclusive;
    this.render();
  }

  private render(): void {
    const picked = this.select.value;
    const choices = nodeChoices(this.nodes, this.exclusive, this.trans);
    this.select.replaceChildren(
      this.anyNode(),
      ...choices.map(c =>
        el('option', { value: c.name, disabled: !c.selectable, dataset: { state: c.state } }, c.label)
      )
    );
    const kept = choices.some(c => c.name === picked && c.selectable);
    this.select.value = kept ? picked : '';
    if (picked && !kept) {
      this.say(this.trans.__('%1 cannot be picked now: any node instead.', picked));
      // The form checks itself on `change`; setting the value in code fires none.
      this.select.dispatchEvent(new Event('change', { bubbles: true }));
    }
  }

  private anyNode(): HTMLOptionElement {
    return el('option', { value: '' }, this.trans.__('Any node'));
  }

  private say(text: string, error = false): void {
    this.note.textContent = text;
    this.note.classList.toggle('jp-hpclab-field-error', error);
  }
}
