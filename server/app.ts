import * as os from 'node:os';
import type { ClusterConfig, HpclabConfig } from './config/schema';
import { getCluster } from './config/load';
import { ClusterPoller } from './scheduler/poller';
import { SlurmScheduler } from './scheduler/slurm/slurm-scheduler';
import type { Scheduler } from './scheduler/types';
import { LocalTransport } from './transport/local';
import { connectChain } from './transport/ssh/connect';
import { hopsFor } from './transport/ssh/hops';
import { readSshConfig } from './transport/ssh/ssh-config';
import { SshTransport } from './transport/ssh/ssh-transport';
import type { Prompter, Transport } from './transport/types';

/** Everything one cluster needs, built once and shared by every reader. */
export interface ClusterServices {
  name: string;
  transport: Transport;
  scheduler: Scheduler;
  poller: ClusterPoller;
}

export interface DepsOptions {
  prompter?: Prompter;
  env?: NodeJS.ProcessEnv;
  homeDir?: string;
}

/**
 * The one place adapters are constructed. Clusters are built lazily on first use, so a
 * command about one cluster never connects to another.
 */
export class ClusterRegistry {
  private readonly built = new Map<string, ClusterServices>();

  constructor(
    readonly config: HpclabConfig,
    private readonly options: DepsOptions = {}
  ) {}

  names(): string[] {
    return Object.keys(this.config.clusters);
  }

  get(name: string): ClusterServices {
    let services = this.built.get(name);
    if (!services) {
      const cluster = getCluster(this.config, name);
      const transport = this.createTransport(name, cluster);
      const scheduler = new SlurmScheduler(transport);
      const poll = cluster.poll ?? {};
      const poller = new ClusterPoller(scheduler, {
        intervalMs: (poll.intervalSec ?? 15) * 1000,
        partitionsIntervalMs: (poll.partitionsIntervalSec ?? 60) * 1000
      });
      services = { name, transport, scheduler, poller };
      this.built.set(name, services);
    }
    return services;
  }

  private createTransport(name: string, cluster: ClusterConfig): Transport {
    if ('local' in cluster) return new LocalTransport(name);
    const env = this.options.env ?? process.env;
    const homeDir = this.options.homeDir ?? os.homedir();
    const ssh = cluster.ssh;
    const agentSocket = ssh.agent === false ? undefined : env.SSH_AUTH_SOCK || undefined;
    return new SshTransport({
      cluster: name,
      maxChannels: ssh.maxChannels ?? 8,
      connect: async () => {
        // ~/.ssh/config is read at each (re)connect, so edits apply without a restart.
        const hops = await hopsFor(ssh, { homeDir, localUser: os.userInfo().username, sshConfigText: await readSshConfig(homeDir) });
        return connectChain(hops, { cluster: name, agentSocket, prompter: this.options.prompter });
      }
    });
  }

  async close(): Promise<void> {
    for (const s of this.built.values()) {
      s.poller.stop();
      await s.transport.close();
    }
    this.built.clear();
  }
}
