import type { RepeatedFailures } from '../log';
import { HEARTBEAT_EVERY_SEC } from '../sessions/allocation-script';
import type { SessionManager } from '../sessions/manager';
import { isFinal } from '../sessions/reconcile';
import type { ClusterAccess } from '../sessions/types';

export interface AllocationHeartbeatOptions {
  sessions: SessionManager;
  clusters: ClusterAccess;
  /** Failures repeat every beat: logged when they start or change, and when they end. */
  failures: RepeatedFailures;
  /** The allocations wanted now (by their session id), and their cluster where known. */
  wanted(): { id: string; cluster: string | undefined }[];
}

/**
 * Keeps the allocations of wanted kernels alive: a kernel allocation releases itself after
 * kernelHoldMinutes without a touch of its heartbeat file, so a companion that dies (or loses
 * the cluster) does not hold GPUs for the rest of the walltime. One `touch` per cluster per beat.
 */
export class AllocationHeartbeat {
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly o: AllocationHeartbeatOptions) {
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_EVERY_SEC * 1000);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async beat(): Promise<void> {
    const byCluster = new Map<string, Set<string>>();
    for (const { id, cluster } of this.o.wanted()) {
      const info = this.o.sessions.get(id);
      if (!info || !cluster || isFinal(info.state)) continue;
      const files = byCluster.get(cluster) ?? new Set<string>();
      files.add(`${this.o.sessions.sessionDir(id)}/heartbeat`);
      byCluster.set(cluster, files);
    }
    for (const [cluster, files] of byCluster) {
      const what = `cannot touch the heartbeat of ${files.size} kernel allocation(s) on ${cluster}; they release themselves after kernelHoldMinutes without it`;
      try {
        const r = await this.o.clusters(cluster).transport.exec(['touch', '--', ...files]);
        if (r.code !== 0) throw new Error(`touch exited ${r.code ?? r.signal}: ${r.stderr.trim()}`);
        this.o.failures.recovered(`heartbeat ${cluster}`, `kernel heartbeats on ${cluster} work again`);
      } catch (err) {
        this.o.failures.failed(`heartbeat ${cluster}`, what, err);
      }
    }
  }
}
