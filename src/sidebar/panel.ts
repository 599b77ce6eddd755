import type { ITranslator } from '@jupyterlab/translation';
import { CommandToolbarButton, SidePanel, refreshIcon, settingsIcon } from '@jupyterlab/ui-components';
import { Panel } from '@lumino/widgets';
import { hpcIcon } from '../icons';
import { CommandIDs, SIDEBAR_ID } from '../tokens';
import { ClusterSection } from './cluster';
import { HistorySection } from './history';
import { JobsSection } from './jobs';
import { KernelsSection } from './kernels';
import { RequestSection } from './request';
import { RunsSection } from './runs';
import type { SectionContext } from './section';
import { SessionsSection } from './sessions';

/** JupyterLab's settings editor, opened on hpclab's settings (its search matches the schema title). */
const OPEN_SETTINGS = 'settingeditor:open';

/**
 * The hpclab sidebar: a toolbar (refresh now, hpclab's settings), then cluster, request,
 * sessions, jobs, runs, history and kernels, top to bottom. A SidePanel like JupyterLab's own
 * sidebars, with a plain Panel as content: the sections are one scrolling column, not an accordion, so the
 * request form and the session list stay open together.
 */
export class HpclabSidebar extends SidePanel {
  readonly kernels: KernelsSection;

  constructor(ctx: SectionContext, translator?: ITranslator) {
    super({ content: new Panel(), translator });
    this.id = SIDEBAR_ID;
    this.addClass('jp-hpclab-panel');
    this.content.addClass('jp-hpclab-sections');
    this.title.icon = hpcIcon;
    this.title.caption = ctx.trans.__('HPC cluster');
    const { commands, trans } = ctx;
    this.toolbar.addItem(
      'refresh',
      new CommandToolbarButton({ commands, id: CommandIDs.refresh, icon: refreshIcon, label: '' })
    );
    // Shown only while the settings editor's command exists (the button hides itself otherwise).
    this.toolbar.addItem(
      'settings',
      new CommandToolbarButton({
        commands,
        id: OPEN_SETTINGS,
        args: { query: 'hpclab' },
        icon: settingsIcon,
        label: '',
        caption: trans.__('hpclab settings')
      })
    );
    this.kernels = new KernelsSection(ctx);
    for (const section of [
      new ClusterSection(ctx),
      new RequestSection(ctx),
      new SessionsSection(ctx),
      new JobsSection(ctx),
      new RunsSection(ctx),
      new HistorySection(ctx),
      this.kernels
    ])
      this.addWidget(section);
  }
}
