import { CommandIDs } from '../tokens';
import { el } from '../format';
import type { DiscoveredEnv } from '../contract';
import { Section, type SectionContext } from './section';

/** Remote kernels in the picker, and the envs found on each cluster with "Add as kernel". */
export class KernelsSection extends Section {
  private readonly found = new Map<string, DiscoveredEnv[] | string>();

  constructor(ctx: SectionContext) {
    super(ctx, ctx.trans.__('Kernels'), 'kernels');
  }

  /** Called by the discover command with what the cluster answered (or why it failed). */
  showEnvs(cluster: string, envs: DiscoveredEnv[] | string): void {
    this.found.set(cluster, envs);
    this.update();
  }

  protected render(): Node[] {
    const { model, trans, commands } = this.ctx;
    const out: Node[] = [];
    out.push(
      model.kernelspecs.length === 0
        ? this.note(trans.__('No remote kernels yet: add one for a profile or an environment.'))
        : el(
            'ul',
            { class: 'jp-hpclab-kernel-list' },
            ...model.kernelspecs.map(k => el('li', { dataset: { kernel: k.name } }, k.displayName))
          )
    );
    for (const cluster of model.clusters) {
      const envs = this.found.get(cluster);
      out.push(
        el(
          'div',
          { class: 'jp-hpclab-envs', dataset: { cluster } },
          el(
            'button',
            { class: 'jp-mod-styled', onclick: () => void commands.execute(CommandIDs.discoverEnvs, { cluster }) },
            trans.__('Find environments on %1', cluster)
          ),
          el(
            'button',
            {
              class: 'jp-mod-styled',
              dataset: { action: 'new-env' },
              onclick: () => void commands.execute(CommandIDs.createEnv, { cluster })
            },
            trans.__('New environment')
          ),
          typeof envs === 'string' ? this.note(envs, 'error') : envs ? this.envList(cluster, envs) : null
        )
      );
    }
    return out;
  }

  private envList(cluster: string, envs: DiscoveredEnv[]): HTMLElement {
    const { trans, commands, model } = this.ctx;
    if (envs.length === 0) return this.note(trans.__('No conda envs, venvs or python modules found.'));
    const profile = model.profiles.find(p => p.cluster === cluster)?.name;
    return el(
      'ul',
      { class: 'jp-hpclab-env-list' },
      ...envs.map(e =>
        el(
          'li',
          { dataset: { env: e.name } },
          el('span', { title: e.prefix ?? '' }, `${e.kind} ${e.name}${e.pythonVersion ? ` (${e.pythonVersion})` : ''}`),
          e.ipykernel === false ? el('span', { class: 'jp-hpclab-muted' }, ` ${trans.__('no ipykernel')}`) : null,
          profile
            ? el(
                'button',
                {
                  class: 'jp-mod-styled jp-hpclab-action',
                  disabled: e.ipykernel === false,
                  onclick: () => void commands.execute(CommandIDs.addKernel, { cluster, profile, env: e.env as never })
                },
                trans.__('Add as kernel')
              )
            : null
        )
      )
    );
  }
}
