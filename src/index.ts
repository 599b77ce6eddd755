import { ILabShell, ILayoutRestorer, type JupyterFrontEnd, type JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { ILauncher } from '@jupyterlab/launcher';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { HpclabApi } from './api';
import checkpointPlugin from './checkpoint/plugin';
import { registerCommands } from './commands';
import { locateCompanion } from './locate';
import { LauncherTiles } from './launcher/tiles';
import { registerLogCommand } from './log/commands';
import { HpclabModel } from './model';
import { SessionNotifier } from './notifications';
import { LoginPrompts } from './prompts';
import { HpclabSidebar } from './sidebar/panel';
import submitPlugin from './submit/plugin';
import { TimeLeftItem } from './statusbar/time-left';
import { CommandIDs, DEFAULT_SETTINGS, IHpclabModel, PLUGIN_ID, SIDEBAR_ID, type HpclabSettings } from './tokens';

/*
 * The hpclab extension: small plugins around one model. Nothing here awaits the network in
 * `activate`: the model starts polling in the background once the settings are read.
 */

const modelPlugin: JupyterFrontEndPlugin<IHpclabModel> = {
  id: PLUGIN_ID,
  description: 'Cluster and session state from the hpclab companion.',
  autoStart: true,
  provides: IHpclabModel,
  optional: [ISettingRegistry, ITranslator],
  activate: (_app: JupyterFrontEnd, registry: ISettingRegistry | null, translator: ITranslator | null) => {
    const trans = (translator ?? nullTranslator).load('hpclab');
    // The class stays here: every other plugin gets the read-only IHpclabModel.
    const model = new HpclabModel(new HpclabApi('', undefined, trans), DEFAULT_SETTINGS.pollIntervalSec, trans);
    const locate = () => locateCompanion({ trans });
    const apply = (s: ISettingRegistry.ISettings) => model.applySettings(s.composite as Partial<HpclabSettings>);
    if (registry) {
      registry.load(PLUGIN_ID).then(
        settings => {
          apply(settings);
          settings.changed.connect(apply);
          if (model.settings.companionUrl) model.repoint(new HpclabApi(model.settings.companionUrl, undefined, trans));
          else model.useLocator(locate);
          model.start();
        },
        (err: unknown) => {
          // No settings (a broken schema or registry): find the companion without them.
          console.warn(`hpclab: cannot load the settings of ${PLUGIN_ID}; using the defaults`, err);
          model.useLocator(locate);
          model.start();
        }
      );
    } else {
      model.useLocator(locate);
      model.start();
    }
    // Like JupyterLab's own `window.jupyterapp`: only when the page asks, for tests and benchmarks.
    if (PageConfig.getOption('exposeAppInBrowser').toLowerCase() === 'true')
      (window as unknown as { hpclab: unknown }).hpclab = { model };
    return model;
  }
};

const sidebarPlugin: JupyterFrontEndPlugin<void> = {
  id: 'hpclab:sidebar',
  description: 'The HPC sidebar, its commands and notifications.',
  autoStart: true,
  requires: [IHpclabModel],
  optional: [ILabShell, ICommandPalette, ITranslator, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    model: IHpclabModel,
    labShell: ILabShell | null,
    palette: ICommandPalette | null,
    translator: ITranslator | null,
    restorer: ILayoutRestorer | null
  ) => {
    const trans = (translator ?? nullTranslator).load('hpclab');
    const sidebar = new HpclabSidebar({ model, commands: app.commands, trans }, translator ?? undefined);
    app.shell.add(sidebar, 'left', { rank: 250 });
    // Lab reopens the sidebar if it was open when the page was left (and a workspace can name it).
    restorer?.add(sidebar, SIDEBAR_ID);
    registerCommands(app, model, sidebar, trans, palette ?? undefined);
    new SessionNotifier(model, app.commands, trans);
    new LoginPrompts(model, trans);
    app.started.then(() => document.body.setAttribute('data-hpclab', 'loaded'));
  }
};

const logPlugin: JupyterFrontEndPlugin<void> = {
  id: 'hpclab:log',
  description: 'Session logs in main-area tabs, reopened after a reload.',
  autoStart: true,
  requires: [IHpclabModel],
  optional: [ITranslator, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    model: IHpclabModel,
    translator: ITranslator | null,
    restorer: ILayoutRestorer | null
  ) => {
    registerLogCommand(app, model, (translator ?? nullTranslator).load('hpclab'), restorer);
  }
};

const launcherPlugin: JupyterFrontEndPlugin<void> = {
  id: 'hpclab:launcher',
  description: 'Launcher tiles: a notebook per profile, and JupyterLab on a node.',
  autoStart: true,
  requires: [IHpclabModel, ILauncher],
  optional: [ITranslator],
  activate: (_app: JupyterFrontEnd, model: IHpclabModel, launcher: ILauncher, translator: ITranslator | null) => {
    new LauncherTiles(launcher, model, (translator ?? nullTranslator).load('hpclab'));
  }
};

const statusPlugin: JupyterFrontEndPlugin<void> = {
  id: 'hpclab:statusbar',
  description: 'Time left in the nearest-ending session, in the status bar.',
  autoStart: true,
  requires: [IHpclabModel, IStatusBar],
  optional: [ITranslator],
  activate: (app: JupyterFrontEnd, model: IHpclabModel, statusBar: IStatusBar, translator: ITranslator | null) => {
    const trans = (translator ?? nullTranslator).load('hpclab');
    const item = new TimeLeftItem(model, trans, () => void app.commands.execute(CommandIDs.openSidebar));
    statusBar.registerStatusItem('hpclab:time-left', {
      item,
      align: 'left',
      rank: 50,
      isActive: () => model.nearestEnding() !== undefined,
      activeStateChanged: model.changed
    });
  }
};

export default [modelPlugin, sidebarPlugin, logPlugin, launcherPlugin, statusPlugin, submitPlugin, checkpointPlugin];
