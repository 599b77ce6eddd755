import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, Notification } from '@jupyterlab/apputils';
import type { IDocumentWidget } from '@jupyterlab/docregistry';
import { IDefaultFileBrowser, type FileBrowser } from '@jupyterlab/filebrowser';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import type { SubmittedRun } from '../contract';
import { hpcIcon } from '../icons';
import type { Words } from '../translate';
import { CommandIDs, IHpclabModel } from '../tokens';
import { SubmitForm } from './form';
import { openRunOutput } from './open-output';

/**
 * A Dialog whose Submit button (and Enter) submits through the form and closes only once the
 * companion has taken the run: a refused field stays on screen with its error, nothing lost.
 */
class SubmitDialog extends Dialog<SubmittedRun | null> {
  private busy = false;

  constructor(
    private readonly form: SubmitForm,
    title: string,
    trans: Words
  ) {
    super({
      title,
      body: form,
      buttons: [Dialog.cancelButton({ label: trans.__('Close') }), Dialog.okButton({ label: trans.__('Submit') })],
      defaultButton: 1
    });
  }

  resolve(index?: number): void {
    if ((index ?? 1) !== 1) return super.resolve(index);
    if (this.busy) return;
    this.busy = true;
    void this.form.submit().then(ok => {
      this.busy = false;
      if (ok) super.resolve(1);
    });
  }
}

/** The file the command acts on: the right-clicked file browser item, else the current document. */
function targetOf(app: JupyterFrontEnd, browser: FileBrowser | null, args: { path?: unknown }): string | null {
  if (typeof args.path === 'string' && args.path) return args.path;
  const onItem = app.contextMenuHitTest(node => node.classList.contains('jp-DirListing-item'));
  if (onItem && browser) {
    const item = browser.selectedItems().next();
    return !item.done && item.value.type !== 'directory' ? item.value.path : null;
  }
  const widget = app.shell.currentWidget as Partial<IDocumentWidget> | null;
  return widget?.context?.path ?? null;
}

/** Saves the open document first, so what runs is what the user sees. */
async function saveIfOpen(app: JupyterFrontEnd, path: string): Promise<void> {
  const widget = app.shell.currentWidget as Partial<IDocumentWidget> | null;
  const context = widget?.context;
  if (context && context.path === path && context.model.dirty) await context.save();
}

const submitPlugin: JupyterFrontEndPlugin<void> = {
  id: 'hpclab:submit',
  description: 'Submit a notebook or script as a batch job (or a parameter sweep) from JupyterLab.',
  autoStart: true,
  requires: [IHpclabModel],
  optional: [IDefaultFileBrowser, ITranslator],
  // IDefaultFileBrowser is a Token<FileBrowser> (no interface of its name), which this lint,
  // parsing without types, cannot match to the `browser` argument.
  // eslint-disable-next-line jupyter/plugin-activation-args
  activate: (
    app: JupyterFrontEnd,
    model: IHpclabModel,
    browser: FileBrowser | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load('hpclab');
    app.commands.addCommand(CommandIDs.submitBatch, {
      label: trans.__('Submit as batch job…'),
      caption: trans.__('Run this notebook or script as a Slurm job, or sweep its parameters as a job array'),
      icon: hpcIcon,
      describedBy: {
        args: {
          type: 'object',
          properties: { path: { type: 'string', description: 'the file, relative to the Jupyter root' } }
        }
      },
      execute: async args => {
        const path = targetOf(app, browser, args);
        if (!path) {
          Notification.warning(trans.__('Open or select a notebook or script to submit it as a batch job.'));
          return;
        }
        await saveIfOpen(app, path);
        const file = await app.serviceManager.contents.get(path, { type: 'file', format: 'text', content: true });
        const fileName = path.split('/').pop() ?? path;
        const form = new SubmitForm({ model, trans, fileName, content: String(file.content) });
        const result = await new SubmitDialog(form, trans.__('Submit %1 as a batch job', fileName), trans).launch();
        const run = result.value;
        if (!result.button.accept || !run) return;
        const what =
          run.taskCount === null
            ? trans.__('job %1', run.jobId)
            : trans.__('array job %1 (%2 tasks)', run.jobId, run.taskCount);
        Notification.success(trans.__('Submitted %1 as %2 on %3', fileName, what, run.cluster), {
          autoClose: 8000,
          actions: [{ label: trans.__('Show runs'), callback: () => void app.commands.execute(CommandIDs.openSidebar) }]
        });
        if (run.warning) Notification.warning(run.warning);
        // A failed refresh needs no word here: the sidebar shows model.error.
        void model.refresh().catch(() => undefined);
      }
    });
    app.commands.addCommand(CommandIDs.openRunOutput, {
      label: args => trans.__('Open %1', String(args.path ?? 'output')),
      caption: trans.__('Fetch this output of the run from the cluster into hpclab-runs/ and open it'),
      describedBy: {
        args: {
          type: 'object',
          properties: {
            cluster: { type: 'string', description: 'the cluster of the run' },
            runId: { type: 'string', description: 'the run' },
            path: { type: 'string', description: "the output, as the run's outputs list names it" }
          },
          required: ['cluster', 'runId', 'path']
        }
      },
      execute: async args => {
        try {
          await openRunOutput(app, model, String(args.cluster), String(args.runId), String(args.path));
        } catch (err) {
          Notification.error(
            trans.__('Cannot open %1 of run %2: %3', String(args.path), String(args.runId), (err as Error).message)
          );
        }
      }
    });
  }
};

export default submitPlugin;
