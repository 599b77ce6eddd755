import type { ProxyTarget } from '../sessions/types';
import { StreamAgent } from './stream-agent';

export interface StreamLimits {
  connectTimeoutMs: number;
  idleMs: number;
}

/**
 * Everything the proxy holds open for one session: a keep-alive pool for plain requests and
 * a separate, non-pooling agent for WebSocket upgrades (an upgraded stream belongs to its
 * WebSocket for good, and a refused upgrade must not leave a half-used stream in the pool).
 * Both open their streams through the session's latest `ProxyTarget.connect`.
 */
export class SessionStreams {
  readonly pooled: StreamAgent;
  readonly upgrades: StreamAgent;

  constructor(
    private target: ProxyTarget,
    limits: StreamLimits
  ) {
    const open = () => this.target.connect();
    this.pooled = new StreamAgent({ open, keepAlive: true, ...limits });
    this.upgrades = new StreamAgent({ open, keepAlive: false, ...limits });
  }

  /** Later lookups may hand out a fresh target (re-attached session); new streams use it. */
  use(target: ProxyTarget): void {
    this.target = target;
  }

  /** Closes pooled, busy, opening and upgraded streams alike. */
  destroy(): void {
    this.pooled.destroy();
    this.upgrades.destroy();
  }
}
