// Starts JupyterLab with the core plugins bundled here plus the prebuilt extensions whose
// containers index.js has loaded. Imported only after the share scope is complete.
import { JupyterLab } from '@jupyterlab/application';
import { PageConfig } from '@jupyterlab/coreutils';
import { IServiceManager } from '@jupyterlab/services';
import { PluginRegistry } from '@lumino/coreutils';

import { coreModules } from './core-plugins';

// What a prebuilt extension exposes ('./extension', './mimeExtension', './style') is a factory
// returning the module, as in JupyterLab's own bootstrap.
async function fromContainer(name, exposed) {
  const factory = await window._JUPYTERLAB[name].get(exposed);
  return factory();
}

// Plugin modules are ES or CommonJS modules exporting a plugin or an array of plugins.
function pluginsOf(mod) {
  const exported = Object.prototype.hasOwnProperty.call(mod, '__esModule') ? mod.default : mod;
  return Array.isArray(exported) ? exported : [exported];
}

async function federated(extensions, key) {
  const wanted = extensions.filter(extension => extension[key]);
  const results = await Promise.allSettled(wanted.map(e => fromContainer(e.name, e[key])));
  return results.flatMap((result, i) => {
    if (result.status === 'fulfilled') return [result.value];
    console.error(`hpclab JupyterLab: ${wanted[i].name} ${key}:`, result.reason);
    return [];
  });
}

export async function start(extensions) {
  // Styles of prebuilt extensions are modules too; importing them injects the CSS.
  await federated(extensions, 'style');
  const modules = [...coreModules, ...(await federated(extensions, 'extension'))];
  const mimeExtensions = await federated(extensions, 'mimeExtension');

  // Honour `disabledExtensions` from page_config.json / labconfig as a user's Lab does.
  const disabled = [];
  const plugins = modules.flatMap(pluginsOf).filter(plugin => {
    if (!PageConfig.Extension.isDisabled(plugin.id)) return true;
    disabled.push(plugin.id);
    return false;
  });

  // Lab 4.4+: the service manager itself comes from a plugin (services-extension), so the
  // registry is filled first and the manager resolved before the app is built.
  const pluginRegistry = new PluginRegistry();
  pluginRegistry.registerPlugins(plugins);
  const serviceManager = await pluginRegistry.resolveRequiredService(IServiceManager);
  const lab = new JupyterLab({
    pluginRegistry,
    serviceManager,
    mimeExtensions,
    disabled: { matches: disabled, patterns: PageConfig.Extension.disabled.map(String) },
    deferred: { matches: [], patterns: [] }
  });
  if (PageConfig.getOption('exposeAppInBrowser').toLowerCase() === 'true') {
    // For tests: the way galata and Lab's own browser checks reach the app.
    window.jupyterapp = lab;
  }
  await lab.start({ bubblingKeydown: true });
  await lab.restored;
}
