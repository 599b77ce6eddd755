import type { RepeatedFailures } from '../log';
import { SessionNotFoundError } from './errors';
import type { SessionRecord, SessionStore } from './store';
import type { SessionEvent } from './types';

/**
 * The sessions this companion tracks, in memory, and the one way a change leaves it: listeners
 * are told, then every record is written to the store. Creation, the squeue loop and the start
 * watches all change sessions; sharing this keeps each change told and saved the same way.
 */
export class SessionRegistry {
  /** Every session by id, live or ended, as the store holds them. */
  readonly records = new Map<string, SessionRecord>();
  private readonly listeners = new Set<(e: SessionEvent) => void>();

  constructor(
    private readonly store: SessionStore,
    /** Shared with the squeue loop: state writes repeat too, and are logged once while they fail. */
    private readonly failures: RepeatedFailures
  ) {}

  /** The records the store kept, so a restarted companion goes on where it stopped. */
  async load(): Promise<void> {
    for (const record of await this.store.load()) this.records.set(record.info.id, record);
  }

  require(id: string): SessionRecord {
    const record = this.records.get(id);
    if (!record) throw new SessionNotFoundError(id);
    return record;
  }

  subscribe(listener: (e: SessionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells listeners, then saves every record. A failed write is reported, state stays in memory. */
  async commit(record: SessionRecord): Promise<void> {
    this.emit({ type: 'session', session: record.info });
    await this.save();
  }

  /** Every record to disk; a failure is logged (once while it repeats) and rejects for the caller. */
  async save(): Promise<void> {
    try {
      await this.store.save([...this.records.values()]);
    } catch (err) {
      this.failures.failed(
        'state',
        'a state write failed; sessions stay in memory and are written at the next change',
        err
      );
      throw err;
    }
    this.failures.recovered('state', 'the session state is saved again');
  }

  emit(event: SessionEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
