import { Token } from '@lumino/coreutils';
import type { HpclabModel } from './model';

/** Contracts of the hpclab frontend: plugin ids, command ids and the model token. No side effects here. */
export const PLUGIN_ID = 'hpclab:plugin';
export const SIDEBAR_ID = 'hpclab-sidebar';

export namespace CommandIDs {
  export const openSidebar = 'hpclab:open-sidebar';
  export const refresh = 'hpclab:refresh';
  export const requestLab = 'hpclab:request-lab';
  export const openSession = 'hpclab:open-session';
  export const stopSession = 'hpclab:stop-session';
  export const showLog = 'hpclab:show-log';
  export const openNotebook = 'hpclab:open-notebook';
  export const jobAction = 'hpclab:job-action';
  export const discoverEnvs = 'hpclab:discover-envs';
  export const addKernel = 'hpclab:add-kernel';
  export const addCluster = 'hpclab:add-cluster';
  export const editProfiles = 'hpclab:edit-profiles';
}

/** The settings every hpclab plugin reads (schema/plugin.json). */
export interface HpclabSettings {
  companionUrl: string;
  pollIntervalSec: number;
  warnMinutes: number[];
  defaultProfile: string;
}

export const DEFAULT_SETTINGS: HpclabSettings = { companionUrl: '', pollIntervalSec: 15, warnMinutes: [10, 2], defaultProfile: '' };

/** The shared model: one poll and one event stream for every widget. */
export const IHpclabModel = new Token<HpclabModel>('hpclab:IHpclabModel', 'Cluster and session state of the hpclab companion.');
