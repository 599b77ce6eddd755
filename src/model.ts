import { Poll } from '@lumino/polling';
import { Signal, type ISignal } from '@lumino/signaling';
import { HpclabError, type HpclabApi } from './api';
import type { Located } from './locate';
import { versionProblem } from './version';
import { eventSchemas, type ClusterStatus, type Kernelspec, type Profile, type PromptEvent, type Session } from './schemas';

/** The companion's live events, as the UI reacts to them. */
export type LiveEvent =
  | { type: 'session'; session: Session; previous: Session | undefined }
  | { type: 'walltime-warning'; session: Session | undefined; minutesLeft: number; endsAt: string }
  | { type: 'prompt'; prompt: PromptEvent }
  | { type: 'prompt-done'; id: string };

/** The fewest seconds between polls of cluster status, whatever the settings say. */
export const MIN_POLL_SEC = 5;

/**
 * Cluster and session state for every hpclab widget: one poll of the companion (which has one
 * poller per cluster behind it) and one event stream, however many widgets read it. `changed`
 * fires only when something really changed, so widgets re-render only then.
 */
export class HpclabModel {
  clusters: string[] = [];
  status = new Map<string, ClusterStatus>();
  sessions: Session[] = [];
  profiles: Profile[] = [];
  kernelspecs: Kernelspec[] = [];
  /** Why the last refresh failed, in words; null when it worked. */
  error: string | null = null;
  /** Set once the first refresh has answered (or failed). */
  loaded = false;
  /** In words, when this extension and the companion are from different releases; else null. */
  versionProblem: string | null = null;

  private readonly _changed = new Signal<this, void>(this);
  private readonly _events = new Signal<this, LiveEvent>(this);
  private poll: Poll | undefined;
  private source: EventSource | undefined;
  private locator: (() => Promise<Located>) | undefined;
  private located = true;
  private last = '';
  private versionChecked = false;

  constructor(
    public api: HpclabApi,
    private intervalSec = 15
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
        this.versionProblem = versionProblem(await this.api.version());
        this.versionChecked = true;
      }
      const [clusters, profiles, sessions, kernelspecs] = await Promise.all([this.api.clusters(), this.api.profiles(), this.api.sessions(), this.api.kernelspecs()]);
      const statuses = await Promise.all(clusters.map(c => this.api.status(c)));
      this.clusters = clusters;
      this.profiles = profiles;
      this.sessions = sessions;
      this.kernelspecs = kernelspecs;
      this.status = new Map(statuses.map(s => [s.cluster, s]));
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

  /** The running session that ends first: what the status bar counts down. */
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

  /** Applies one event from the companion's stream (exported for tests through `handleEvent`). */
  handleEvent(type: string, data: unknown): void {
    if (type === 'snapshot') {
      const parsed = eventSchemas.snapshot.safeParse(data);
      if (parsed.success) this.sessions = parsed.data.sessions;
    } else if (type === 'session') {
      const parsed = eventSchemas.session.safeParse(data);
      if (!parsed.success) return;
      const next = parsed.data.session;
      const previous = this.session(next.id);
      this.sessions = previous ? this.sessions.map(s => (s.id === next.id ? next : s)) : [next, ...this.sessions];
      this._events.emit({ type: 'session', session: next, previous });
    } else if (type === 'walltime-warning') {
      const parsed = eventSchemas['walltime-warning'].safeParse(data);
      if (!parsed.success) return;
      this._events.emit({ type: 'walltime-warning', session: this.session(parsed.data.sessionId), minutesLeft: parsed.data.minutesLeft, endsAt: parsed.data.endsAt });
    } else if (type === 'prompt') {
      const parsed = eventSchemas.prompt.safeParse(data);
      if (parsed.success) this._events.emit({ type: 'prompt', prompt: parsed.data });
    } else if (type === 'prompt-done') {
      const parsed = eventSchemas['prompt-done'].safeParse(data);
      if (parsed.success) this._events.emit({ type: 'prompt-done', id: parsed.data.id });
    }
    this.emitIfChanged();
  }

  private connectEvents(): void {
    if (typeof EventSource === 'undefined') return;
    this.source?.close();
    // The browser reconnects by itself (the companion asks for 3 s). The cookie authenticates it
    // on the same origin; on another origin the token in the URL does (credentials would need CORS
    // to allow them, which the companion never does).
    this.source = new EventSource(this.api.eventsUrl(), { withCredentials: !this.api.usesToken });
    for (const type of ['snapshot', 'session', 'walltime-warning', 'prompt', 'prompt-done']) {
      this.source.addEventListener(type, e => {
        try {
          this.handleEvent(type, JSON.parse((e as MessageEvent).data));
        } catch {
          // a frame we cannot read: the next poll corrects the state
        }
      });
    }
  }

  private emitIfChanged(): void {
    const now = JSON.stringify([this.clusters, [...this.status.values()].map(s => [s.partitions, s.jobs, s.error]), this.sessions, this.profiles, this.kernelspecs, this.error, this.versionProblem]);
    if (now === this.last) return;
    this.last = now;
    this._changed.emit();
  }
}
