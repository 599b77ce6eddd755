import express, { type RequestHandler, type Router } from 'express';
import type { IncomingMessage } from 'node:http';
import { createGuard, type UpgradeVerdict } from './auth';
import { ApiError, defaultLogger, errorHandler, type Logger } from './errors';
import { EventHub, type EventSource } from './events';
import { API_VERSION, HPCLAB_VERSION } from '../version';
import { clusterRoutes } from './routes-clusters';
import { envRoutes } from './routes-envs';
import { kernelRoutes } from './routes-kernels';
import { kernelspecRoutes } from './routes-kernelspecs';
import { promptRoutes } from './routes-prompts';
import { runRoutes } from './routes-runs';
import type { LinkBoard } from './link-board';
import type { PromptBroker } from './prompt-broker';
import { sessionRoutes } from './routes-sessions';
import { setupRoutes } from './routes-setup';
import type {
  ClusterService,
  EnvApi,
  KernelAttachService,
  KernelspecApi,
  RunApi,
  SessionService,
  SetupApi
} from './services';

export interface ApiDeps {
  sessions: SessionService;
  clusters: ClusterService;
  /** Remote kernels (the launcher's lease); without it, POST /api/kernels is a 404. */
  kernels?: KernelAttachService;
  /** Kernelspecs, profiles and env discovery; without it those routes are 404s. */
  kernelspecs?: KernelspecApi;
  /** SSH login prompts answered in the browser. */
  prompts?: PromptBroker;
  /** Each cluster's login connection, sent as `link` events. */
  links?: LinkBoard;
  /** Batch runs (the Submit dialog, the sidebar's Runs); without it those routes are 404s. */
  runs?: RunApi;
  /** "Add a cluster" and "Edit profiles"; without it those routes are 404s. */
  setup?: SetupApi;
  /** Environments made on first use; without it POST /api/envs answers 404 saying so. */
  envs?: EnvApi;
  /** The companion's token; must not be empty. */
  token: string;
  /** Extra origins (http(s)://host[:port]) allowed as Origin, and their hosts as Host. */
  allowedOrigins?: string[];
  /** Where 500s are explained; default console.error. */
  logger?: Logger;
  /** SSE heartbeat period; default 15 s. */
  heartbeatMs?: number;
  /** Brings the config up to date with its file before each API call; must not throw. */
  refreshConfig?: () => Promise<void>;
}

export interface RouteInfo {
  method: string;
  /** As registered, relative to the mount point (`/api/sessions/:id`). */
  path: string;
}

export interface Api {
  /** Mount at '/hpclab'. Guards every request that reaches it, so anything under /hpclab too. */
  router: Router;
  /** Whether the request carries the token (header or cookie). */
  authenticate(req: IncomingMessage): boolean;
  /** For WebSocket upgrades (node proxy): Host, Origin, token. */
  checkUpgrade(req: IncomingMessage): UpgradeVerdict;
  /** For proxied requests served before express: Host, Origin on writes, token. */
  checkRequest(req: IncomingMessage): UpgradeVerdict;
  /** The same guard as the router's, for routes the caller mounts itself (the node proxy). */
  requireAuth: RequestHandler;
  /** Every route of `router`, read from the router itself. */
  routes: RouteInfo[];
  /** Ends event streams; call before server.close() so it can drain. */
  close(): void;
}

export function createApi(deps: ApiDeps): Api {
  const guard = createGuard({ token: deps.token, allowedOrigins: deps.allowedOrigins });
  const prompts = deps.prompts;
  const links = deps.links;
  const sources: EventSource[] = [];
  if (prompts) sources.push(listener => prompts.subscribe(listener));
  if (links) sources.push(listener => links.subscribe(listener));
  const hub = new EventHub({ sessions: deps.sessions, heartbeatMs: deps.heartbeatMs, sources });
  const router = express.Router();

  router.use(guard.middleware);
  router.use(['/api', '/events'], (_req, res, next) => {
    res.set({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
    next();
  });
  const refreshConfig = deps.refreshConfig;
  // A profile `hpclab init` just wrote is known to the next call (a stat when nothing changed).
  if (refreshConfig) router.use('/api', (_req, _res, next) => void refreshConfig().then(() => next(), next));
  router.get('/api/version', (_req, res) => {
    res.json({ version: HPCLAB_VERSION, api: API_VERSION });
  });
  clusterRoutes(router, deps.clusters);
  sessionRoutes(router, deps.sessions);
  if (deps.kernels) kernelRoutes(router, deps.kernels);
  if (deps.kernelspecs) kernelspecRoutes(router, deps.kernelspecs);
  if (prompts) promptRoutes(router, prompts);
  if (deps.setup) setupRoutes(router, deps.setup);
  if (deps.runs) runRoutes(router, deps.runs);
  envRoutes(router, deps.envs);
  router.get('/events', hub.handle);
  // Only under /api: other paths below /hpclab (the node proxy) belong to the caller.
  router.use('/api', req => {
    throw new ApiError(404, 'not-found', `no route ${req.method} ${req.baseUrl}${req.path}`);
  });
  router.use(errorHandler(deps.logger ?? defaultLogger));

  return {
    router,
    authenticate: guard.authenticate,
    checkUpgrade: guard.checkUpgrade,
    checkRequest: guard.checkRequest,
    requireAuth: guard.middleware,
    routes: listRoutes(router),
    close: () => hub.close()
  };
}

/** The method and path of each route on a router (middleware layers are not routes). */
export function listRoutes(router: Router): RouteInfo[] {
  const routes: RouteInfo[] = [];
  for (const layer of router.stack) {
    if (!layer.route) continue;
    const methods = new Set(layer.route.stack.map(l => l.method).filter((m): m is string => Boolean(m)));
    for (const method of methods) routes.push({ method: method.toUpperCase(), path: layer.route.path });
  }
  return routes;
}
