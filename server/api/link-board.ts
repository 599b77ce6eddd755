import type { LinkEvent, LinkState } from '../../src/contract';
import type { LinkReport } from '../transport/ssh/ssh-transport';

/*
 * The login connection of each cluster as the UI shows it ("reconnecting to testbed…"). The
 * registry reports every SSH transport's 'link' events here; the event hub subscribes. A new
 * subscriber first hears each cluster that is not simply up, so a tab opened during an outage
 * says so at once.
 */

type Listener = (event: LinkEvent) => void;

function linkState(report: LinkReport): LinkState | undefined {
  switch (report.state) {
    case 'connecting':
      return report.reconnect ? 'reconnecting' : 'connecting';
    case 'connected':
      return 'up';
    case 'disconnected':
      return 'down';
    default:
      return undefined; // idle (never used) and closed (the companion is stopping): nothing to show
  }
}

export class LinkBoard {
  private readonly last = new Map<string, LinkEvent>();
  private readonly listeners = new Set<Listener>();

  report(cluster: string, report: LinkReport): void {
    const state = linkState(report);
    if (!state) return;
    const event: LinkEvent = {
      type: 'link',
      cluster,
      state,
      message: report.reason ?? null,
      retryInMs: report.retryInMs ?? null
    };
    this.last.set(cluster, event);
    for (const listener of this.listeners) listener(event);
  }

  /** What each cluster's link is now (for diagnostics and the CLI). */
  current(): LinkEvent[] {
    return [...this.last.values()];
  }

  subscribe(listener: Listener): () => void {
    for (const event of this.last.values()) if (event.state !== 'up') listener(event);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
