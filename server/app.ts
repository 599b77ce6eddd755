import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import express from 'express';
import { createApi } from './api/api';
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
import type { HpclabConfig } from './config/schema';
import type { Logger } from './log';
import { SchedulerError } from './scheduler/errors';
import { EnvCreator } from './envs/env-creator';
import type { ClusterRegistry } from './clusters';

export { ClusterRegistry, type ClusterServices, type DepsOptions } from './clusters';

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
    nodes: cluster => clusters.get(cluster).scheduler.nodes(),
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
      ...(p.env ? { envKind: Object.keys(p.env).find(k => k !== 'setup' && k !== 'python') ?? 'python' } : {}),
      ...(p.checkpoint ? { checkpoint: true } : {}),
      ...(p.workspace ? { workspace: true } : {})
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
    // Environments are made with the kernelspecs' service, which registers them as kernels.
    envs:
      deps.kernelspecs &&
      new EnvCreator({
        config: deps.clusters.config,
        transport: name => deps.clusters.get(name).transport,
        kernelspecs: deps.kernelspecs.specs,
        logger: deps.logger?.child('envs')
      }),
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
