import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, ICommandPalette, showDialog } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { IHpclabModel } from '../tokens';
import { asNotebook, openNotebooks, readyKernel, remoteKernelOf } from './notebooks';
import { probeKernel, restoreVariables, saveVariables } from './run';
import { KernelCheckpoints } from './service';
import type { CheckpointHost, KernelOps } from './types';

/** Saves the current notebook's variables, moves its kernel to a new allocation and restores them. */
export const CONTINUE_KERNEL = 'hpclab:continue-kernel';

/** Text in a dialog as it was written: one line per line, nothing wrapped away. */
function preformatted(text: string): Widget {
  const node = document.createElement('pre');
  node.textContent = text;
  return new Widget({ node });
}

const checkpointPlugin: JupyterFrontEndPlugin<void> = {
  id: 'hpclab:checkpoint',
  description:
    'Walltime without loss: remote kernels save their variables at the walltime warning and continue in a new allocation.',
  autoStart: true,
  requires: [IHpclabModel],
  optional: [ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    model: IHpclabModel,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load('hpclab');
    const host: CheckpointHost = {
      notebooks: () => openNotebooks(app.shell.widgets('main')),
      current: () => asNotebook(app.shell.currentWidget),
      specs: () => app.serviceManager.kernelspecs.specs,
      root: PageConfig.getOption('serverRoot'),
      confirm: async (title, body, ok) =>
        (
          await showDialog({
            title,
            body,
            buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: ok })]
          })
        ).button.accept,
      details: (title, body) =>
        void showDialog({ title, body: preformatted(body), buttons: [Dialog.okButton({ label: trans.__('Close') })] })
    };
    const ops: KernelOps = {
      ready: readyKernel,
      probe: probeKernel,
      save: saveVariables,
      restore: restoreVariables,
      restart: sessionContext => sessionContext.restartKernel()
    };
    const checkpoints = new KernelCheckpoints(model, host, ops, trans);
    model.events.connect((_m, event) => checkpoints.onEvent(event));

    app.commands.addCommand(CONTINUE_KERNEL, {
      label: trans.__('Continue in a new session (keep the variables)'),
      caption: trans.__(
        "Save the notebook's variables, restart its remote kernel in a new allocation and put them back"
      ),
      describedBy: { args: { type: 'object', properties: {} } },
      isEnabled: () => {
        const nb = asNotebook(app.shell.currentWidget);
        return nb !== null && remoteKernelOf(nb, host.specs(), model.kernelspecs) !== null;
      },
      execute: () => checkpoints.continueCurrent()
    });
    palette?.addItem({ command: CONTINUE_KERNEL, category: trans.__('HPC') });
  }
};

export default checkpointPlugin;
