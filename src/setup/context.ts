import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import type { IHpclabModel } from '../tokens';
import { SetupApi } from './api';

/** What the setup tabs get. */
export interface SetupContext {
  /** Its `api` is read at each request: the model may be repointed while a tab is open. */
  model: IHpclabModel;
  setup: SetupApi;
  commands: CommandRegistry;
  trans: TranslationBundle;
}

export function setupContext(model: IHpclabModel, commands: CommandRegistry, trans: TranslationBundle): SetupContext {
  return { model, setup: new SetupApi(() => model.api), commands, trans };
}
