import { SchedulerError } from '../scheduler/errors';
import type { ClusterAccess } from './types';

/**
 * The user's home on each cluster: session directories must be absolute for sbatch. Asked once
 * per cluster and shared by new sessions and adopted ones.
 */
export class ClusterHomes {
  private readonly homes = new Map<string, Promise<string>>();

  constructor(private readonly clusters: ClusterAccess) {}

  get(cluster: string): Promise<string> {
    let home = this.homes.get(cluster);
    if (!home) {
      home = this.clusters(cluster)
        .transport.exec(['sh', '-c', 'printf %s "$HOME"'])
        .then(r => {
          if (r.code !== 0 || !r.stdout.startsWith('/'))
            throw new SchedulerError('failed', `cannot find the home directory on ${cluster}`);
          return r.stdout;
        });
      home.catch(() => this.homes.delete(cluster)); // not kept, so the next caller asks again; this one's callers get the error
      this.homes.set(cluster, home);
    }
    return home;
  }
}
