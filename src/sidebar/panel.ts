import { Panel } from '@lumino/widgets';
import { hpcIcon } from '../icons';
import { SIDEBAR_ID } from '../tokens';
import { ClusterSection } from './cluster';
import { JobsSection } from './jobs';
import { KernelsSection } from './kernels';
import { RequestSection } from './request';
import type { SectionContext } from './section';
import { SessionsSection } from './sessions';

/** The hpclab sidebar: cluster, request, sessions, jobs and kernels, top to bottom. */
export class HpclabSidebar extends Panel {
  readonly kernels: KernelsSection;

  constructor(ctx: SectionContext) {
    super();
    this.id = SIDEBAR_ID;
    this.addClass('jp-hpclab-panel');
    this.title.icon = hpcIcon;
    this.title.caption = ctx.trans.__('HPC cluster');
    this.kernels = new KernelsSection(ctx);
    for (const section of [new ClusterSection(ctx), new RequestSection(ctx), new SessionsSection(ctx), new JobsSection(ctx), this.kernels]) this.addWidget(section);
  }
}
