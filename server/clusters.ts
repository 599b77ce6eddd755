import * as os from 'node:os';
import { LinkBoard } from './api/link-board';
import type { ClusterConfig, HpclabConfig } from './config/schema';
import { getCluster } from './config/load';
import { stderrLogger, type Logger } from './log';
import { ClusterPoller } from './scheduler/poller';
import { SlurmScheduler } from './scheduler/slurm/slurm-scheduler';
import type { Scheduler } from './scheduler/types';
import { LocalTransport } from './transport/local';
import { connectChain } from './transport/ssh/connect';
import { hopsFor } from './transport/ssh/hops';
import { readSshConfig } from './transport/ssh/ssh-config';
import { SshTransport, type LinkReport } from './transport/ssh/ssh-transport';
import type { Prompter, Transport } from './transport/types';

/*
 * Clusters, apart from the HTTP app: every CLI command builds these, and most never serve HTTP,
 * so loading express and the API for them would only slow each command's start.
 */

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
  /** Each cluster's connection logs as `ssh <cluster>` below it; default: warnings on stderr. */
  logger?: Logger;
}

/**
 * The one place adapters are constructed. Clusters are built lazily on first use, so a
 * command about one cluster never connects to another.
 */
export class ClusterRegistry {
  private readonly built = new Map<string, ClusterServices>();
  /** Each cluster's login connection, for the UI's "reconnecting…". */
  readonly links = new LinkBoard();
  private readonly logger: Logger;

  constructor(
    readonly config: HpclabConfig,
    private readonly options: DepsOptions = {}
  ) {
    this.logger = options.logger ?? stderrLogger();
  }

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
        partitionsIntervalMs: (poll.partitionsIntervalSec ?? 60) * 1000,
        // A companion's log says when polls fail and heal; a CLI command reports its own failure.
        ...(this.options.logger ? { logger: this.logger.child(`poll ${name}`) } : {})
      });
      services = { name, transport, scheduler, poller };
      this.built.set(name, services);
    }
    return services;
  }

  /** Hands a built cluster over (its connection stays open) and forgets it here. */
  release(name: string): ClusterServices | undefined {
    const services = this.built.get(name);
    this.built.delete(name);
    return services;
  }

  /**
   * Takes over a cluster built by another registry (setup's discovery), so the login the user
   * just made (a 2FA code) serves the saved cluster too. One already built here wins.
   */
  adopt(services: ClusterServices): void {
    if (this.built.has(services.name)) {
      services.poller.stop();
      services.transport
        .close()
        .catch(err =>
          this.logger.child(`ssh ${services.name}`).warn('closing a second connection (from setup) failed', err)
        );
      return;
    }
    this.built.set(services.name, services);
    this.watchLink(services.name, services.transport);
  }

  private watchLink(name: string, transport: Transport): void {
    if (transport instanceof SshTransport)
      transport.on('link', (report: LinkReport) => this.links.report(name, report));
  }

  private createTransport(name: string, cluster: ClusterConfig): Transport {
    if ('local' in cluster) return new LocalTransport(name);
    const env = this.options.env ?? process.env;
    const homeDir = this.options.homeDir ?? os.homedir();
    const ssh = cluster.ssh;
    const agentSocket = ssh.agent === false ? undefined : env.SSH_AUTH_SOCK || undefined;
    const logger = this.logger.child(`ssh ${name}`);
    // A ProxyCommand's stderr goes to the companion's log when there is one; a CLI command
    // without a logger keeps ssh's way of showing it on the terminal.
    const log = this.options.logger ? (line: string) => logger.warn(line) : undefined;
    const transport = new SshTransport({
      cluster: name,
      maxChannels: ssh.maxChannels ?? 8,
      logger,
      connect: async () => {
        // ~/.ssh/config is read at each (re)connect, so edits apply without a restart.
        const hops = await hopsFor(ssh, {
          homeDir,
          localUser: os.userInfo().username,
          sshConfigText: await readSshConfig(homeDir)
        });
        return connectChain(hops, { cluster: name, agentSocket, prompter: this.options.prompter, log });
      }
    });
    this.watchLink(name, transport);
    return transport;
  }

  async close(): Promise<void> {
    for (const s of this.built.values()) {
      s.poller.stop();
      await s.transport.close();
    }
    this.built.clear();
  }
}
