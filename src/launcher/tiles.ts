import type { ILauncher } from '@jupyterlab/launcher';
import type { IDisposable } from '@lumino/disposable';
import type { Words } from '../translate';
import { CommandIDs, type IHpclabModel } from '../tokens';

/**
 * The launcher's "HPC" category: a notebook tile per profile (its remote kernel) and a
 * "JupyterLab on a node" tile. Profiles come from the companion, so tiles follow the model.
 */
export class LauncherTiles {
  private readonly items = new Map<string, IDisposable>();

  /** The launcher groups tiles by this name, translated like JupyterLab's own categories. */
  private readonly category: string;

  constructor(
    private readonly launcher: ILauncher,
    model: IHpclabModel,
    trans: Words
  ) {
    this.category = trans.__('HPC');
    model.changed.connect(() => this.sync(model), this);
    // The model may have loaded before this plugin activated: start from what it has now.
    this.sync(model);
  }

  private sync(model: IHpclabModel): void {
    const wanted = new Map<string, () => IDisposable>();
    wanted.set('lab', () => this.launcher.add({ command: CommandIDs.requestLab, category: this.category, rank: 0 }));
    model.profiles.forEach((p, i) =>
      wanted.set(`nb:${p.name}`, () =>
        this.launcher.add({
          command: CommandIDs.openNotebook,
          args: { profile: p.name },
          category: this.category,
          rank: i + 1
        })
      )
    );
    for (const [key, item] of this.items) {
      if (!wanted.has(key)) {
        item.dispose();
        this.items.delete(key);
      }
    }
    for (const [key, add] of wanted) if (!this.items.has(key)) this.items.set(key, add());
  }
}
