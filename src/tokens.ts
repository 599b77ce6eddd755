import { Token } from '@lumino/coreutils';
import type { ISignal } from '@lumino/signaling';
import type { HpclabApi } from './api';
import type { ClusterStatus, Kernelspec, LinkEvent, Profile, PromptEvent, RunList, Session } from './contract';

/** Contracts of the hpclab frontend: plugin ids, command ids and the model token. No side effects here. */
export const PLUGIN_ID = 'hpclab:plugin';
export const SIDEBAR_ID = 'hpclab-sidebar';

export namespace CommandIDs {
  export const openSidebar = 'hpclab:open-sidebar';
  export const refresh = 'hpclab:refresh';
  export const requestLab = 'hpclab:request-lab';
  export const openSession = 'hpclab:open-session';
  export const stopSession = 'hpclab:stop-session';
  /** Args `{sessionId}`; the layout restorer reopens log tabs with the same args. */
  export const showLog = 'hpclab:show-log';
  export const openNotebook = 'hpclab:open-notebook';
  export const jobAction = 'hpclab:job-action';
  export const discoverEnvs = 'hpclab:discover-envs';
  export const addKernel = 'hpclab:add-kernel';
  export const createEnv = 'hpclab:create-env';
  export const addCluster = 'hpclab:add-cluster';
  export const editProfiles = 'hpclab:edit-profiles';
  /** Args `{path?}`: the file; else the right-clicked file browser item, else the current document. */
  export const submitBatch = 'hpclab:submit-batch';
  /** Args `{cluster, runId, path}`: fetches one output of a run into the Jupyter root and opens it. */
  export const openRunOutput = 'hpclab:open-run-output';
}

/** The settings every hpclab plugin reads (schema/plugin.json). */
export interface HpclabSettings {
  companionUrl: string;
  pollIntervalSec: number;
  warnMinutes: number[];
  defaultProfile: string;
}

export const DEFAULT_SETTINGS: HpclabSettings = {
  companionUrl: '',
  pollIntervalSec: 15,
  warnMinutes: [10, 2],
  defaultProfile: ''
};

/** The companion's live events, as the UI reacts to them. */
export type LiveEvent =
  | { type: 'session'; session: Session; previous: Session | undefined }
  | { type: 'walltime-warning'; session: Session | undefined; minutesLeft: number; endsAt: string }
  | { type: 'idle-warning'; session: Session | undefined; minutesLeft: number; stopsAt: string; idleMinutes: number }
  | { type: 'prompt'; prompt: PromptEvent }
  | { type: 'prompt-done'; id: string }
  | { type: 'link'; link: LinkEvent };

/**
 * Cluster and session state of the companion, shared by every widget: one poll and one event
 * stream however many read it. Widgets read it; they change the cluster through commands, and
 * only what the page shows (`dismiss`) through the model itself.
 */
export interface IHpclabModel {
  readonly clusters: readonly string[];
  readonly status: ReadonlyMap<string, ClusterStatus>;
  /** Each cluster's batch runs, newest first, with their tasks' states; problems in words. */
  readonly runs: ReadonlyMap<string, RunList>;
  /** Each cluster's login connection as last reported (absent: nothing heard, taken as up). */
  readonly links: ReadonlyMap<string, LinkEvent>;
  readonly sessions: readonly Session[];
  readonly profiles: readonly Profile[];
  readonly kernelspecs: readonly Kernelspec[];
  /** Why the last refresh failed, in words; null when it worked. */
  readonly error: string | null;
  /** Set once the first refresh has answered (or failed). */
  readonly loaded: boolean;
  /** In words, when this extension and the companion are from different releases; else null. */
  readonly versionProblem: string | null;
  /** The request path to the companion; read it at each use, the model may be repointed. */
  readonly api: HpclabApi;
  /** The composite settings of `hpclab:plugin` (defaults until the registry answers). */
  readonly settings: Readonly<HpclabSettings>;
  /** Sessions the user dismissed from the list, for the life of the page. */
  readonly dismissed: ReadonlySet<string>;
  /** Fires only when the state above really changed. */
  readonly changed: ISignal<IHpclabModel, void>;
  readonly settingsChanged: ISignal<IHpclabModel, Readonly<HpclabSettings>>;
  readonly events: ISignal<IHpclabModel, LiveEvent>;
  /** Asks the companion now (after an action) instead of at the next tick; rejects when it fails. */
  refresh(): Promise<void>;
  session(id: string): Session | undefined;
  /** The running session that ends first: what the status bar counts down. */
  nearestEnding(): Session | undefined;
  /** Hides an ended session from the sidebar (nothing is asked of the companion). */
  dismiss(sessionId: string): void;
}

/** The shared model: one poll and one event stream for every widget. */
export const IHpclabModel = new Token<IHpclabModel>(
  'hpclab:IHpclabModel',
  'Cluster and session state of the hpclab companion.'
);
