import type { ILayoutRestorer, JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { hpcIcon } from '../icons';
import type { Words } from '../translate';
import { CommandIDs, type IHpclabModel } from '../tokens';
import { LogView } from './view';

/**
 * The "show log" command: one tab per session, brought back if already open. The tracker
 * records each tab's session id, so the layout restorer reopens them after a reload.
 */
export function registerLogCommand(
  app: JupyterFrontEnd,
  model: IHpclabModel,
  trans: Words,
  restorer: ILayoutRestorer | null
): void {
  const tracker = new WidgetTracker<MainAreaWidget<LogView>>({ namespace: 'hpclab-log' });
  app.commands.addCommand(CommandIDs.showLog, {
    label: trans.__('Show the session log'),
    describedBy: {
      args: {
        type: 'object',
        properties: { sessionId: { type: 'string', description: 'the session whose job log to show' } },
        required: ['sessionId']
      }
    },
    execute: args => {
      const sessionId = String(args.sessionId ?? '');
      if (!sessionId) return;
      let widget = tracker.find(w => w.content.sessionId === sessionId);
      if (!widget) {
        widget = new MainAreaWidget({ content: new LogView(sessionId, model, trans) });
        widget.id = `hpclab-log-${sessionId}`;
        widget.title.icon = hpcIcon;
        void tracker.add(widget);
        app.shell.add(widget, 'main');
      }
      app.shell.activateById(widget.id);
      return widget;
    }
  });
  void restorer?.restore(tracker, {
    command: CommandIDs.showLog,
    args: w => ({ sessionId: w.content.sessionId }),
    name: w => w.content.sessionId
  });
}
