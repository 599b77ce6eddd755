import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { PLUGIN_ID } from './tokens';

/**
 * The hpclab extension's entry point. The sidebar, launcher tiles and kernels come with the
 * frontend issue; this plugin proves the prebuilt extension loads in a real JupyterLab.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Jupyter on HPC compute nodes.',
  autoStart: true,
  activate: (app: JupyterFrontEnd) => {
    // Never await the network here: activation must stay instant.
    app.started.then(() => document.body.setAttribute('data-hpclab', 'loaded'));
  }
};

export default [plugin];
