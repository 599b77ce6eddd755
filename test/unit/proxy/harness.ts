// Real servers on 127.0.0.1 port 0 for the proxy tests: an echoing "node server" (HTTP + ws),
// the proxy behind a plain http.Server, and a ProxyTarget whose connect() counts its calls.
import { createHash } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { createNodeProxy, type NodeProxy, type NodeProxyOptions } from '../../../server/proxy/node-proxy';
import type { ProxyLookup, ProxyTarget } from '../../../server/sessions/types';

export interface Echo {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  bodyLength: number;
  bodySha256: string;
}

export interface Upstream {
  port: number;
  /** TCP connections accepted, and how many of them have closed. */
  accepted: number;
  closed: number;
  /** Headers of the last WebSocket upgrade the node server accepted. */
  lastUpgrade?: { url: string; headers: IncomingHttpHeaders };
  /** Drops every WebSocket from the node's side. */
  dropWebSockets(): void;
  stop(): Promise<void>;
}

/**
 * The stand-in node server. Paths ending in `/die` lose their connection before any answer,
 * `/half` dies after part of the body, `/hang` never answers, `/refuse` refuses upgrades with
 * a chunked 403; everything else echoes, and WebSockets echo each message as sent.
 */
export async function startUpstream(): Promise<Upstream> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', c => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0];
      if (path.endsWith('/die')) {
        req.socket.destroy();
        return;
      }
      if (path.endsWith('/half')) {
        res.writeHead(200, { 'content-length': '1000' });
        res.write('x'.repeat(10), () => req.socket.destroy());
        return;
      }
      if (path.endsWith('/hang')) return;
      const body = Buffer.concat(chunks);
      const echo: Echo = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: body.length <= 4096 ? body.toString('utf8') : '',
        bodyLength: body.length,
        bodySha256: createHash('sha256').update(body).digest('hex')
      };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(echo));
    });
  });
  // Distinct from Node's default 5 s, to see that the node's Keep-Alive hint stays on its hop.
  server.keepAliveTimeout = 61_000;
  const wss = new WebSocketServer({ noServer: true });
  const upstream: Upstream = {
    port: 0,
    accepted: 0,
    closed: 0,
    dropWebSockets: () => wss.clients.forEach(client => client.terminate()),
    stop: async () => undefined
  };
  server.on('connection', socket => {
    upstream.accepted++;
    socket.once('close', () => upstream.closed++);
  });
  server.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '').includes('/refuse')) {
      socket.end('HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nnope!\r\n0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, ws => {
      upstream.lastUpgrade = { url: req.url ?? '', headers: req.headers };
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
  });
  upstream.port = await listen(server);
  upstream.stop = async () => {
    upstream.dropWebSockets();
    server.closeAllConnections();
    await new Promise(resolve => server.close(resolve));
  };
  return upstream;
}

export interface CountingTarget extends ProxyTarget {
  connects: number;
  /** Every stream connect() handed out, to watch them close. */
  streams: Duplex[];
}

/**
 * A target reaching the upstream over TCP. `port()` is read on each connect, so a test can
 * move the target to a new upstream. `plainDuplex` hides the net.Socket behind a bare Duplex
 * without socket methods, as an ssh2 channel is.
 */
export function countingTarget(
  port: () => number,
  options: { token?: string; plainDuplex?: boolean } = {}
): CountingTarget {
  const target: CountingTarget = {
    sessionId: 'abc123',
    token: options.token ?? 'node-secret',
    connects: 0,
    streams: [],
    connect: () => {
      target.connects++;
      return new Promise((resolve, reject) => {
        const socket = net.connect(port(), '127.0.0.1');
        socket.once('error', reject);
        socket.once('connect', () => {
          socket.removeListener('error', reject);
          const stream = options.plainDuplex ? bareDuplex(socket) : socket;
          target.streams.push(stream);
          resolve(stream);
        });
      });
    }
  };
  return target;
}

function bareDuplex(socket: net.Socket): Duplex {
  const stream = new Duplex({
    read: () => socket.resume(),
    write: (chunk, encoding, done) => socket.write(chunk, encoding, done),
    final: done => socket.end(done),
    destroy: (err, done) => {
      socket.destroy();
      done(err);
    }
  });
  socket.on('data', chunk => stream.push(chunk) || socket.pause());
  socket.on('end', () => stream.push(null));
  socket.on('close', () => stream.destroy());
  socket.on('error', err => stream.destroy(err));
  return stream;
}

export interface RunningProxy {
  proxy: NodeProxy;
  port: number;
  /** Browser-side TCP connections the proxy accepted. */
  connections: number;
  stop(): Promise<void>;
}

export async function startProxy(lookup: ProxyLookup, options: Partial<NodeProxyOptions> = {}): Promise<RunningProxy> {
  const proxy = createNodeProxy({ lookup, ...options });
  const server = http.createServer((req, res) => proxy.handleRequest(req, res));
  server.on('upgrade', (req, socket, head) => proxy.handleUpgrade(req, socket, head));
  const running: RunningProxy = { proxy, port: 0, connections: 0, stop: async () => undefined };
  server.on('connection', () => running.connections++);
  running.port = await listen(server);
  running.stop = async () => {
    proxy.close();
    server.closeAllConnections();
    await new Promise(resolve => server.close(resolve));
  };
  return running;
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One request with full control of path and headers (no normalisation, unlike fetch). */
export function request(
  port: number,
  path: string,
  options: { method?: string; headers?: http.OutgoingHttpHeaders; body?: Buffer | string; agent?: http.Agent } = {}
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path,
      method: options.method ?? 'GET',
      headers: options.headers,
      agent: options.agent ?? false
    });
    req.on('error', reject);
    req.on('response', res => {
      const chunks: Buffer[] = [];
      res.on('data', c => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.end(options.body);
  });
}

export function echoOf(reply: Reply): Echo {
  return JSON.parse(reply.body.toString('utf8')) as Echo;
}

/** Resolves once `check()` holds, polling briefly; fails the test if it never does. */
export async function eventually(check: () => boolean, what: string, ms = 2000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise(r => setTimeout(r, 5));
  }
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}
