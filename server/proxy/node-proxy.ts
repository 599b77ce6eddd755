import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import type { ProxyLookup, ProxyTarget } from '../sessions/types';
import { DEFAULT_NODE_PREFIX, isValidPrefix, routeNodePath } from './node-path';
import { withoutToken } from './token-param';
import {
  sendProblem,
  sendRedirect,
  sessionNotAnswering,
  sessionNotFound,
  sessionUnavailable,
  writeProblemToSocket,
  type ProxyProblem
} from './problem-replies';
import { SessionStreams } from './session-streams';
import { replaceHeaders, toBrowserHeaders, toUpstreamHeaders } from './upstream-headers';

/**
 * http-proxy wants a target URL; every connection really comes from the session's agent.
 * `.invalid` never resolves (RFC 6761), so nothing could reach a host by accident.
 */
const UPSTREAM_TARGET = 'http://hpclab-node.invalid';

export interface NodeProxyOptions {
  lookup: ProxyLookup;
  /** Path under which node servers are served; their base_url is `prefix + id + '/'`. */
  prefix?: string;
  /** How long `connect()` may take before the request gets a 503 (default 20 s). */
  connectTimeoutMs?: number;
  /** How long an unused pooled stream stays open (default 30 s). */
  idleStreamMs?: number;
}

/**
 * The reverse proxy to node servers. Callers have already authenticated the user and checked
 * Origin; this decides which session a path names, answers 404/503 itself when it cannot
 * forward, and otherwise forwards HTTP and WebSocket upgrades alike with the node's token.
 */
export interface NodeProxy {
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  /** For http.Server's 'upgrade' event. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes everything held for a session (call when it ends). */
  forget(sessionId: string): void;
  /** Closes everything; later requests get a 503. */
  close(): void;
}

export function createNodeProxy(options: NodeProxyOptions): NodeProxy {
  const prefix = options.prefix ?? DEFAULT_NODE_PREFIX;
  if (!isValidPrefix(prefix))
    throw new TypeError(`node proxy prefix must be an absolute path ending in '/': ${prefix}`);
  const limits = { connectTimeoutMs: options.connectTimeoutMs ?? 20_000, idleMs: options.idleStreamMs ?? 30_000 };
  const sessions = new Map<string, SessionStreams>();
  /** Upgrade requests the node has answered: a later error must not write HTTP into a WebSocket. */
  const answered = new WeakSet<IncomingMessage>();
  let closed = false;

  const proxy = createProxyServer({ target: UPSTREAM_TARGET });
  // Every web()/ws() call passes its own error callback; this only keeps a stray error from
  // ever being an unhandled 'error' event.
  proxy.on('error', (_err, _req, resOrSocket) => resOrSocket?.destroy());

  proxy.on('proxyReq', (proxyReq, req, res) => {
    // http-proxy aborts upstream only on the request's 'aborted', which Node no longer emits
    // once the request body is complete: a browser leaving a slow GET would pin the stream.
    if (req.socket.destroyed) proxyReq.destroy();
    else
      res.once('close', () => {
        if (!res.writableFinished) proxyReq.destroy();
      });
  });

  proxy.on('proxyRes', (proxyRes, _req, res) => {
    toBrowserHeaders(proxyRes.headers, res.shouldKeepAlive);
    // The node went away mid-body: the browser must see a broken response, not a hang.
    proxyRes.on('error', () => res.destroy());
    proxyRes.once('close', () => {
      if (!proxyRes.complete) res.destroy();
    });
  });

  proxy.on('proxyReqWs', (proxyReq, req, socket) => {
    proxyReq.once('response', refusal => {
      answered.add(req);
      // http-proxy copies a refusal's headers verbatim but pipes the decoded body, then closes.
      delete refusal.headers['transfer-encoding'];
      refusal.headers.connection = 'close';
    });
    proxyReq.once('upgrade', (_res, upstream: Duplex) => {
      answered.add(req);
      // pipe() passes on 'end' but not destroy(): tie the two lifetimes together both ways.
      upstream.once('close', () => socket.destroy());
      socket.once('close', () => upstream.destroy());
    });
    socket.once('close', () => proxyReq.destroy());
  });

  function locate(sessionId: string): { target: ProxyTarget; streams: SessionStreams } | ProxyProblem {
    if (closed) return sessionNotAnswering('the companion is shutting down');
    let found: ReturnType<ProxyLookup>;
    try {
      found = options.lookup(sessionId);
    } catch (err) {
      return sessionNotAnswering(messageOf(err));
    }
    if (!found) {
      forget(sessionId);
      return sessionNotFound();
    }
    if ('live' in found) {
      if (found.state === 'ended' || found.state === 'failed') forget(sessionId);
      return sessionUnavailable(found.state, found.message);
    }
    let streams = sessions.get(sessionId);
    if (streams) streams.use(found);
    else sessions.set(sessionId, (streams = new SessionStreams(found, limits)));
    return { target: found, streams };
  }

  function forget(sessionId: string): void {
    sessions.get(sessionId)?.destroy();
    sessions.delete(sessionId);
  }

  return {
    handleRequest(req, res) {
      req.socket.setNoDelay(true);
      // Under an express mount, req.url has lost the mount path; the node wants it whole.
      const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/';
      const route = routeNodePath(url, prefix);
      if (route.kind === 'redirect') return sendRedirect(res, route.location);
      const found = route.kind === 'proxy' ? locate(route.sessionId) : sessionNotFound();
      if ('status' in found) return sendProblem(req, res, found);

      // Forwarded as is, except that http-proxy merges repeated slashes and turns `\` into
      // `/` in the path; Jupyter's own URLs contain neither. The companion's `?token=` stays here.
      req.url = withoutToken(url);
      replaceHeaders(req.headers, toUpstreamHeaders(req.headers, found.target.token, false));
      proxy.web(req, res, { agent: found.streams.pooled }, err => {
        if (res.writableEnded) return;
        if (res.headersSent) res.destroy();
        else sendProblem(req, res, sessionNotAnswering(messageOf(err)));
      });
    },

    handleUpgrade(req, socket, head) {
      // Node's server drops its own error listener when it hands over an upgrade.
      socket.on('error', () => socket.destroy());
      (socket as Duplex & { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
      const route = routeNodePath(req.url ?? '/', prefix);
      // A WebSocket cannot follow a redirect, so a missing slash is simply not found here.
      const found = route.kind === 'proxy' ? locate(route.sessionId) : sessionNotFound();
      if ('status' in found) return writeProblemToSocket(req, socket, found);

      req.url = withoutToken(req.url ?? '/');
      replaceHeaders(req.headers, toUpstreamHeaders(req.headers, found.target.token, true));
      proxy.ws(req, socket, head, { agent: found.streams.upgrades }, err => {
        if (answered.has(req)) socket.destroy();
        else writeProblemToSocket(req, socket, sessionNotAnswering(messageOf(err)));
      });
    },

    forget,

    close() {
      closed = true;
      for (const id of [...sessions.keys()]) forget(id);
      proxy.close();
    }
  };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
