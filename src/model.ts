import { Poll } from '@lumino/polling';
import { Signal, type ISignal } from '@lumino/signaling';
import { HpclabError, type HpclabApi } from './api';
import type { Located } from './locate';
import { english, type Words } from './translate';
import { versionProblem } from './version';
import { LIVE_EVENT_TYPES, readLiveEvent } from './live-events';
import type { ClusterStatus, Kernelspec, LinkEvent, Profile, RunList, Session } from './contract';
import { DEFAULT_SETTINGS, type HpclabSettings, type IHpclabModel, type LiveEvent } from './tokens';

/** The fewest seconds between polls of cluster status, whatever the settings say. */
export const MIN_POLL_SEC = 5;

/**
 * Cluster and session state for every hpclab widget: one poll of the companion (which has one
 * poller per cluster behind it) and one event stream, however many widgets read it. `changed`
 * fires only when something really changed, so widgets re-render only then. The token gives
 * widgets the read-only `IHpclabModel`; only the model plugin holds this class and writes to it.
 */
export class HpclabModel implements IHpclabModel {
  clusters: string[] = [];
  status = new Map<string, ClusterStatus>();
  /** Each cluster's batch runs, newest first; a cluster whose list failed has the reason in `problems`. */
  runs = new Map<string, RunList>();
  links = new Map<string, LinkEvent>();
  sessions: Session[] = [];
  profiles: Profile[] = [];
  kernelspecs: Kernelspec[] = [];
  /** Why the last refresh failed, in words; null when it worked. */
  error: string | null = null;
  /** Set once the first refresh has answered (or failed). */
  loaded = false;
  /** In words, when this extension and the companion are from different releases; else null. */
  versionProblem: string | null = null;

  private _settings: Readonly<HpclabSettings> = DEFAULT_SETTINGS;
  private readonly _dismissed = new Set<string>();
  private readonly _changed = new Signal<this, void>(this);
  private readonly _settingsChanged = new Signal<this, Readonly<HpclabSettings>>(this);
  private readonly _events = new Signal<this, LiveEvent>(this);
  private poll: Poll | undefined;
  private source: EventSource | undefined;
  private locator: (() => Promise<Located>) | undefined;
  private located = true;
  private last = '';
  private versionChecked = false;

  constructor(
    public api: HpclabApi,
    private intervalSec = 15,
    private readonly trans: Words = english
  ) {}

  /** Points the model at another companion (the companionUrl setting, or a restarted one). */
  repoint(api: HpclabApi): void {
    const moved = api.base !== this.api.base || api.eventsUrl() !== this.api.eventsUrl();
    this.api = api;
    this.versionChecked = false;
    if (moved && this.poll) this.connectEvents();
  }

  /**
   * How to find the companion (src/locate.ts): asked before the first refresh, and again after
   * it stopped answering (plain Jupyter's server extension starts a new one, at a new port).
   */
  useLocator(locator: () => Promise<Located>): void {
    this.locator = locator;
    this.located = false;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get settings(): Readonly<HpclabSettings> {
    return this._settings;
  }

  get settingsChanged(): ISignal<this, Readonly<HpclabSettings>> {
    return this._settingsChanged;
  }

  get dismissed(): ReadonlySet<string> {
    return this._dismissed;
  }

  get events(): ISignal<this, LiveEvent> {
    return this._events;
  }

  /** Starts polling and the live stream; returns at once (never await the network in activate). */
  start(): void {
    if (this.poll) return;
    this.poll = new Poll({
      factory: () => this.refresh(),
      frequency: { interval: this.intervalSec * 1000, backoff: true, max: 300_000 },
      standby: 'when-hidden',
      name: 'hpclab:status'
    });
    this.connectEvents();
  }

  setInterval(seconds: number): void {
    this.intervalSec = Math.max(MIN_POLL_SEC, seconds);
    if (this.poll) this.poll.frequency = { ...this.poll.frequency, interval: this.intervalSec * 1000 };
  }

  /** The registry's composite settings (partial when a schema default is missing), on load and on every change. */
  applySettings(composite: Partial<HpclabSettings>): void {
    const next = { ...DEFAULT_SETTINGS, ...composite };
    if (JSON.stringify(next) === JSON.stringify(this._settings)) return;
    this._settings = next;
    this.setInterval(next.pollIntervalSec);
    this._settingsChanged.emit(next);
  }

  dismiss(sessionId: string): void {
    this._dismissed.add(sessionId);
    this.emitIfChanged();
  }

  /** Asks the companion now (after an action), instead of at the next tick. */
  async refresh(): Promise<void> {
    try {
      if (this.locator && !this.located) {
        const found = await this.locator();
        this.repoint(found.api);
        this.located = !found.problem;
        if (found.problem) throw new Error(found.problem);
      }
      // Once per companion: its release does not change while it answers.
      if (!this.versionChecked) {
        this.versionProblem = versionProblem(await this.api.version(), this.trans);
        this.versionChecked = true;
      }
      const [clusters, profiles, sessions, kernelspecs] = await Promise.all([
        this.api.clusters(),
        this.api.profiles(),
        this.api.sessions(),
        this.api.kernelspecs()
      ]);
      const statuses = await Promise.all(clusters.map(c => this.api.status(c)));
      // Runs are read from the cluster's files: a failure there is shown with the runs, not as the sidebar's error.
      const runs = await Promise.all(
        clusters.map(c =>
          this.api.runs(c).catch((err: unknown): RunList => ({ runs: [], problems: [(err as Error).message] }))
        )
      );
      this.clusters = clusters;
      this.profiles = profiles;
      this.sessions = sessions;
      this.kernelspecs = kernelspecs;
      this.status = new Map(statuses.map(s => [s.cluster, s]));
      this.runs = new Map(clusters.map((c, i) => [c, runs[i]]));
      this.error = null;
    } catch (err) {
      // Gone (or a new one with another token): look for it again at the next tick.
      if (err instanceof HpclabError && (err.status === 0 || err.status === 401)) this.located = false;
      this.error = (err as Error).message;
      throw err; // the Poll backs off
    } finally {
      this.loaded = true;
      this.emitIfChanged();
    }
  }

  session(id: string): Session | undefined {
    return this.sessions.find(s => s.id === id);
  }

  nearestEnding(): Session | undefined {
    return this.sessions
      .filter(s => s.state === 'running' && s.endsAt)
      .sort((a, b) => Date.parse(a.endsAt!) - Date.parse(b.endsAt!))[0];
  }

  dispose(): void {
    this.poll?.dispose();
    this.source?.close();
    Signal.clearData(this);
  }

  /** Applies one frame of the companion's stream (public for tests). */
  handleEvent(type: string, data: unknown): void {
    const { sessions, event } = readLiveEvent(type, data, this.sessions);
    if (sessions) this.sessions = sessions;
    if (event?.type === 'link') this.links = new Map(this.links).set(event.link.cluster, event.link);
    if (event) this._events.emit(event);
    this.emitIfChanged();
  }

  private connectEvents(): void {
    if (typeof EventSource === 'undefined') return;
    this.source?.close();
    // The browser reconnects by itself (the companion asks for 3 s). The cookie authenticates it
    // on the same origin; on another origin the token in the URL does (credentials would need CORS
    // to allow them, which the companion never does).
    this.source = new EventSource(this.api.eventsUrl(), { withCredentials: !this.api.usesToken });
    for (const type of LIVE_EVENT_TYPES) {
      this.source.addEventListener(type, e => {
        let data: unknown;
        try {
          data = JSON.parse((e as MessageEvent).data);
        } catch (err) {
          // Not JSON (a proxy in the way?): said once in the console; the next poll corrects the state.
          console.warn(`hpclab: an unreadable '${type}' frame from ${this.api.base}events`, err);
          return;
        }
        this.handleEvent(type, data);
      });
    }
  }

  /** `loaded` is part of the state: widgets showing "Loading…" wait for it even when the first answer adds nothing. */
  private emitIfChanged(): void {
    const now = JSON.stringify([
      this.clusters,
      [...this.status.values()].map(s => [s.partitions, s.jobs, s.error]),
      [...this.runs],
      [...this.links.values()],
      this.sessions,
      this.profiles,
      this.kernelspecs,
      this.error,
      this.versionProblem,
      this.loaded,
      [...this._dismissed]
    ]);
    if (now === this.last) return;
    this.last = now;
    this._changed.emit();
  }
}
