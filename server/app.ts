import * as os from 'node:os';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import express from 'express';
import { createApi } from './api/api';
import { LinkBoard } from './api/link-board';
import type { PromptBroker } from './api/prompt-broker';
import { handleKernelChannel, isKernelChannelPath } from './api/kernel-channels';
import type { KernelService } from './kernels/kernel-service';
import type { EnvDiscovery, KernelspecService } from './kernels/kernelspec-service';
import type { KernelspecApi, ProfileView, RunApi, SetupApi } from './api/services';
import type { ClusterService } from './api/services';
import { createLocalJupyterProxy, type LocalJupyter } from './proxy/local-jupyter-proxy';
import { createNodeProxy } from './proxy/node-proxy';
import type { SessionManager } from './sessions/manager';
import { isFinal } from './sessions/reconcile';
import type { ClusterConfig, HpclabConfig } from './config/schema';
import { getCluster } from './config/load';
import { stderrLogger, type Logger } from './log';
import { ClusterPoller } from './scheduler/poller';
import { SlurmScheduler } from './scheduler/slurm/slurm-scheduler';
import type { Scheduler } from './scheduler/types';
import { SchedulerError } from './scheduler/errors';
import { LocalTransport } from './transport/local';
import { connectChain } from './transport/ssh/connect';
import { hopsFor } from './transport/ssh/hops';
import { readSshConfig } from './transport/ssh/ssh-config';
import { SshTransport, type LinkReport } from './transport/ssh/ssh-transport';
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

/** The API's view of the clusters: every read goes through the cluster's one poller. */
function clusterService(clusters: ClusterRegistry): ClusterService {
  return {
    names: () => clusters.names(),
    async status(cluster) {
      const { poller } = clusters.get(cluster);
      const [partitions, jobs] = await Promise.all([poller.partitions.get(), poller.jobs.get()]);
      const error = jobs.error ?? partitions.error;
      return {
        cluster,
        fetchedAt: jobs.fetchedAt.toISOString(),
        partitions: partitions.data,
        jobs: jobs.data,
        ...(error ? { error } : {})
      };
    },
    async jobAction(cluster, jobId, action) {
      const { scheduler, poller } = clusters.get(cluster);
      await scheduler[action](jobId);
      poller.jobs.invalidate();
    },
    async history(cluster, since) {
      try {
        return { cluster, since, accounting: true, jobs: await clusters.get(cluster).scheduler.history({ since }) };
      } catch (err) {
        // A cluster without accounting is an answer, not a failure: the sidebar says so.
        if (err instanceof SchedulerError && err.kind === 'no-accounting')
          return { cluster, since, accounting: false, message: err.message, jobs: [] };
        throw err;
      }
    }
  };
}

/** Discovery answers younger than this are served from the cache. */
const ENVS_FRESH_MS = 10 * 60_000;

/** The API's view of kernelspecs, profiles and environments. */
function kernelspecApi(config: HpclabConfig, specs: KernelspecService, discovery: EnvDiscovery): KernelspecApi {
  // Read at each request: setup changes the config while the companion runs.
  const profiles = (): ProfileView[] =>
    Object.entries(config.profiles ?? {}).map(([name, p]) => ({
      name,
      cluster: p.cluster,
      ...(p.partition ? { partition: p.partition } : {}),
      ...(p.gres ? { gres: p.gres } : {}),
      ...(p.time ? { time: p.time } : {}),
      ...(p.cpus ? { cpus: p.cpus } : {}),
      ...(p.mem ? { mem: p.mem } : {}),
      ...(p.account ? { account: p.account } : {}),
      ...(p.qos ? { qos: p.qos } : {}),
      ...(p.constraint ? { constraint: p.constraint } : {}),
      ...(p.env ? { envKind: Object.keys(p.env).find(k => k !== 'setup' && k !== 'python') ?? 'python' } : {})
    }));
  return {
    profiles,
    list: () => specs.list(),
    add: request => specs.add(request),
    remove: name => specs.remove(name),
    envs: (cluster, refresh) => discovery.envs(cluster, refresh ? 0 : ENVS_FRESH_MS)
  };
}

/**
 * Every path an HTTP upgrade may take, told apart by the request target alone; `onUpgrade`
 * answers 404 to anything else before any check. The upgrade access test reads this list, so
 * a route added here is covered there.
 */
export const UPGRADE_ROUTES = [
  { name: 'kernel-channel', pattern: '/hpclab/kernels/<id>/channels/<channel>', matches: isKernelChannelPath },
  { name: 'node', pattern: '/hpclab/node/<session>/…', matches: (url: string) => url.startsWith('/hpclab/node/') },
  {
    name: 'local-jupyter',
    pattern: 'anything outside /hpclab/ (hpclab lab only)',
    matches: (url: string) => !url.startsWith('/hpclab/')
  }
] as const;

export type UpgradeRoute = (typeof UPGRADE_ROUTES)[number]['name'];

type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface AppDeps {
  clusters: ClusterRegistry;
  sessions: SessionManager;
  kernels?: KernelService;
  kernelspecs?: { specs: KernelspecService; discovery: EnvDiscovery };
  prompts?: PromptBroker;
  /** "Add a cluster" and "Edit profiles"; without it those routes are 404s. */
  setup?: SetupApi;
  /** Batch runs; without it those routes are 404s. */
  runs?: RunApi;
  token: string;
  allowedOrigins?: string[];
  /** `hpclab lab`: the local Jupyter server that answers every path outside /hpclab. */
  localJupyter?: LocalJupyter;
  /** Applies the config file again when it changed (see ConfigFollower). */
  refreshConfig?: () => Promise<void>;
  /** The API logs the detail of its 500s as `api` below it. */
  logger?: Logger;
}

/**
 * The companion's HTTP surface, built but not listening: the API and events under /hpclab,
 * and the node proxy under /hpclab/node/<session>/ (HTTP here, WebSocket via `onUpgrade`).
 */
export function createApp(deps: AppDeps) {
  const kernelspecs =
    deps.kernelspecs && kernelspecApi(deps.clusters.config, deps.kernelspecs.specs, deps.kernelspecs.discovery);
  const api = createApi({
    sessions: deps.sessions,
    clusters: clusterService(deps.clusters),
    kernels: deps.kernels,
    kernelspecs,
    prompts: deps.prompts,
    links: deps.clusters.links,
    setup: deps.setup,
    runs: deps.runs,
    token: deps.token,
    allowedOrigins: deps.allowedOrigins,
    refreshConfig: deps.refreshConfig,
    logger: deps.logger?.child('api')
  });
  const proxy = createNodeProxy({ lookup: deps.sessions.proxyLookup });
  const unsubscribe = deps.sessions.subscribe(event => {
    if (event.type === 'session' && isFinal(event.session.state)) proxy.forget(event.session.id);
  });
  const app = express();
  app.disable('x-powered-by');
  // Reached only for a tokened URL (?token=…): express's guard sets the cookie and redirects.
  app.use('/hpclab/node', api.requireAuth, (req, res) => {
    req.url = req.originalUrl; // the node server's base_url is the full path
    proxy.handleRequest(req, res);
  });
  app.use('/hpclab', api.router);
  const local = deps.localJupyter ? createLocalJupyterProxy(deps.localJupyter) : undefined;
  // Same origin for the Lab page and the companion; the companion's token guards both.
  if (local) app.use(api.requireAuth, (req, res) => local.handleRequest(req, res));
  const kernels = deps.kernels;
  // Undefined: the route is off here (no kernels, or `hpclab serve` without a local Jupyter).
  const upgradeHandlers: Record<UpgradeRoute, UpgradeHandler | undefined> = {
    'kernel-channel': kernels && ((req, socket, head) => void handleKernelChannel(req, socket, head, kernels)),
    node: (req, socket, head) => proxy.handleUpgrade(req, socket, head),
    'local-jupyter': local && ((req, socket, head) => local.handleUpgrade(req, socket, head))
  };
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = (status: number, message: string) => {
      socket.end(`HTTP/1.1 ${status} ${message}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const url = req.url ?? '';
    // Origin-form targets only: an absolute URL or `//host` must never look like a path to route.
    if (!url.startsWith('/') || url.startsWith('//')) return refuse(400, 'Bad Request');
    const handler = UPGRADE_ROUTES.map(route => (route.matches(url) ? upgradeHandlers[route.name] : undefined)).find(
      h => h !== undefined
    );
    if (!handler) return refuse(404, 'Not Found');
    // Host, Origin and token, in that order: a cross-origin upgrade is 403 even without a token.
    const checked = api.checkUpgrade(req);
    if (!checked.ok) return refuse(checked.status, checked.status === 401 ? 'Unauthorized' : 'Forbidden');
    handler(req, socket, head);
  };
  /**
   * The request listener. Proxied node traffic skips express (it cost ~100 µs a request, a third
   * of the proxy's CPU): the same Host, Origin and token checks, then straight to the proxy.
   */
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    if (url.startsWith('/hpclab/node/') && !/[?&]token=/.test(url)) {
      const checked = api.checkRequest(req);
      if (checked.ok) return proxy.handleRequest(req, res);
      const code = checked.code ?? 'forbidden';
      const headers: Record<string, string> = {
        'Content-Type': 'application/json; charset=utf-8',
        'Cache-Control': 'no-store'
      };
      if (checked.status === 401) headers['WWW-Authenticate'] = 'Bearer realm="hpclab"';
      res.writeHead(checked.status, headers).end(JSON.stringify({ error: { code, message: checked.message } }));
      return;
    }
    app(req, res);
  };
  return {
    app,
    handle,
    onUpgrade,
    close() {
      unsubscribe();
      proxy.close();
      local?.close();
      api.close();
    }
  };
}
