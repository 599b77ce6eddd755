import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import type { HpclabModel } from '../model';
import { SetupApi } from './api';

/** What the setup tabs get. */
export interface SetupContext {
  /** Its `api` is read at each request: the model may be repointed while a tab is open. */
  model: HpclabModel;
  setup: SetupApi;
  commands: CommandRegistry;
  trans: TranslationBundle;
}

export function setupContext(model: HpclabModel, commands: CommandRegistry, trans: TranslationBundle): SetupContext {
  return { model, setup: new SetupApi(() => model.api), commands, trans };
}
