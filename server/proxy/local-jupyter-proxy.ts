import * as http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import { withoutToken } from './token-param';
import { replaceHeaders, toBrowserHeaders, toUpstreamHeaders } from './upstream-headers';

/** The local Jupyter server `hpclab lab` starts: loopback only, its own token. */
export interface LocalJupyter {
  port: number;
  token: string;
}

export interface LocalJupyterProxy {
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): void;
}

/**
 * Everything of `hpclab lab` that is not the companion's own (/hpclab/…) goes to the local
 * Jupyter server, so the Lab page and the companion share one origin (no CORS, one cookie).
 * The target is fixed when the proxy is made, never read from a request; the Jupyter token is
 * added here and never reaches the browser. Host and Origin name the server's own loopback
 * address, which is what jupyter_server accepts without allow_remote_access.
 */
export function createLocalJupyterProxy(target: LocalJupyter): LocalJupyterProxy {
  const origin = `http://127.0.0.1:${target.port}`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const proxy = createProxyServer({ target: origin, agent, ws: true });
  proxy.on('error', (_err, _req, resOrSocket) => {
    const res = resOrSocket as ServerResponse | Duplex | undefined;
    if (res && 'writeHead' in res && !res.headersSent) {
      res
        .writeHead(502, { 'Content-Type': 'text/plain; charset=utf-8' })
        .end('The local Jupyter server is not answering.\n');
    } else res?.destroy();
  });
  proxy.on('proxyRes', (proxyRes, _req, res) => toBrowserHeaders(proxyRes.headers, res.shouldKeepAlive));

  const toUpstream = (req: IncomingMessage, upgrade: boolean) => {
    // The companion's `?token=` is not the server's: the server would read it before our header.
    req.url = withoutToken(req.url ?? '/');
    const headers = toUpstreamHeaders(req.headers, target.token, upgrade);
    headers.host = `127.0.0.1:${target.port}`;
    if (req.headers.origin !== undefined) headers.origin = origin;
    replaceHeaders(req.headers, headers);
  };

  return {
    handleRequest(req, res) {
      toUpstream(req, false);
      proxy.web(req, res);
    },
    handleUpgrade(req, socket, head) {
      toUpstream(req, true);
      proxy.ws(req, socket, head);
    },
    close() {
      proxy.close();
      agent.destroy();
    }
  };
}
