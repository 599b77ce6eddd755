import type { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget } from '@jupyterlab/apputils';
import type { Widget } from '@lumino/widgets';
import { hpcIcon } from '../icons';

/**
 * Opens a setup tab in the main area, or brings back the one already open (two "Add a cluster"
 * tabs would race on the same config file). Returns the tab's content.
 */
export function openSetupTab<T extends Widget>(app: JupyterFrontEnd, id: string, label: string, create: () => T): T {
  for (const widget of app.shell.widgets('main')) {
    if (widget.id === id && widget instanceof MainAreaWidget) {
      app.shell.activateById(id);
      return widget.content as T;
    }
  }
  const widget = new MainAreaWidget<T>({ content: create() });
  widget.id = id;
  widget.title.label = label;
  widget.title.icon = hpcIcon;
  widget.title.closable = true;
  app.shell.add(widget, 'main');
  app.shell.activateById(id);
  return widget.content;
}
