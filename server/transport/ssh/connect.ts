import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import { Client, type ConnectConfig } from 'ssh2';
import type { Duplex } from 'node:stream';
import { TransportError } from '../errors';
import type { Prompter } from '../types';
import { createAuthHandler, type IdentityFile } from './auth';
import { verifyHostKey, preferredHostKeyAlgorithms, type KnownHostsSource } from './host-keys';
import type { ProxyCommandSpec } from './proxy-command';
import { ProxyProcess } from './proxy-process';

/** One SSH hop, fully resolved: the login node, or a jump host in front of it. */
export interface HopSpec {
  hostName: string;
  port: number;
  username: string;
  identityFiles: IdentityFile[];
  identitiesOnly: boolean;
  knownHostsFiles: string[];
  keepaliveSec: number;
  keepaliveCountMax: number;
  connectTimeoutSec: number;
  /** Reach this hop through a command's stdin/stdout instead of TCP; first hop only. */
  proxyCommand?: ProxyCommandSpec;
}

export interface ChainOptions {
  cluster: string;
  agentSocket?: string;
  prompter?: Prompter;
  /**
   * Where a ProxyCommand's stderr and exit are reported. Default: the companion's stderr with
   * the cluster named, as ssh shows a ProxyCommand's stderr on the terminal.
   */
  log?: (message: string) => void;
}

export const hopLabel = (hop: HopSpec): string => `${hop.username}@${hop.hostName}:${hop.port}`;

/**
 * Connects through the jump hosts in order (ProxyJump) and returns the last client; ending it
 * ends the hops below it too. Every hop's host key is checked strictly against known_hosts.
 */
export async function connectChain(hops: HopSpec[], options: ChainOptions): Promise<Client> {
  const clients: Client[] = [];
  try {
    let sock: Duplex | undefined;
    for (const hop of hops) {
      if (clients.length > 0 && hop.proxyCommand) {
        // resolveSshTarget never does this: a hop reached by a jump is not also reached by a command.
        throw new TransportError('config', `${hopLabel(hop)} has both a jump host and a ProxyCommand`, options.cluster);
      }
      if (clients.length > 0) sock = await forwardTo(clients[clients.length - 1], hop, options.cluster);
      clients.push(await connectHop(hop, sock, options));
    }
  } catch (err) {
    for (const c of clients) c.end();
    throw err;
  }
  const last = clients[clients.length - 1];
  // The hops below live exactly as long as the top connection.
  last.once('close', () => clients.slice(0, -1).forEach(c => c.end()));
  for (const lower of clients.slice(0, -1)) lower.once('close', () => last.end());
  return last;
}

function forwardTo(via: Client, hop: HopSpec, cluster: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    via.forwardOut('127.0.0.1', 0, hop.hostName, hop.port, (err, stream) => {
      if (err)
        reject(
          new TransportError('unreachable', `jump host cannot reach ${hopLabel(hop)}: ${err.message}`, cluster, {
            cause: err
          })
        );
      else resolve(stream);
    });
  });
}

async function connectHop(hop: HopSpec, sock: Duplex | undefined, options: ChainOptions): Promise<Client> {
  const label = hopLabel(hop);
  const known = await readKnownHosts(hop.knownHostsFiles);
  const auth = createAuthHandler({
    cluster: options.cluster,
    label,
    username: hop.username,
    identityFiles: hop.identityFiles,
    identitiesOnly: hop.identitiesOnly,
    agentSocket: options.agentSocket,
    prompter: options.prompter
  });
  let hostKeyError: TransportError | undefined;
  const config: ConnectConfig = {
    host: hop.hostName,
    port: hop.port,
    username: hop.username,
    sock: sock as ConnectConfig['sock'],
    readyTimeout: hop.connectTimeoutSec * 1000,
    keepaliveInterval: hop.keepaliveSec * 1000,
    keepaliveCountMax: hop.keepaliveCountMax,
    authHandler: auth.handler,
    hostVerifier: (key: Buffer) => {
      hostKeyError = verifyHostKey(known, hop.hostName, hop.port, key, options.cluster);
      return hostKeyError === undefined;
    }
  };
  const algorithms = preferredHostKeyAlgorithms(known, hop.hostName, hop.port);
  // Known types first (as OpenSSH orders them), others still allowed: a server that dropped its
  // recorded key type then fails with the clear changed-key message, not a negotiation error.
  if (algorithms.length > 0) config.algorithms = { serverHostKey: { prepend: algorithms } as never };
  // Started last, after everything that can throw, so a failed setup leaves no process behind.
  let proxy: ProxyProcess | undefined;
  if (!sock && hop.proxyCommand) {
    const log =
      options.log ?? ((line: string) => process.stderr.write(`hpclab: cluster ${options.cluster}: ${line}\n`));
    proxy = new ProxyProcess(hop.proxyCommand, { cluster: options.cluster, log, agentSocket: options.agentSocket });
    config.sock = proxy.socket;
  } else if (!sock) {
    config.sock = await tcpConnect(hop, options.cluster);
  }

  return new Promise((resolve, reject) => {
    const client = new Client();
    let settled = false;
    const fail = (err: Error & { level?: string }) => {
      // Only the first error is reported: the ones after it come from tearing the attempt down.
      if (settled) return;
      settled = true;
      client.removeAllListeners('ready');
      client.end();
      const classified = classify(err, hostKeyError, auth.lastError(), label, options.cluster);
      if (proxy) void explainProxyFailure(proxy, classified).then(reject);
      else reject(classified);
    };
    client.once('ready', () => {
      settled = true;
      client.removeListener('error', fail);
      // Later errors surface through 'close'; the owner watches for it.
      client.on('error', () => undefined);
      // ssh2 ends the socket on close, which stops the command; this also covers a destroy.
      if (proxy) client.once('close', () => proxy.stop());
      resolve(client);
    });
    client.on('error', fail);
    client.connect(config);
  });
}

/**
 * A link failure through a ProxyCommand is usually the command's: if it exited, say so with its
 * exit status and last stderr lines; if it still runs, add those lines to the error. Host key and
 * login errors are about the host and stand as they are. The command is stopped either way.
 */
async function explainProxyFailure(proxy: ProxyProcess, err: TransportError): Promise<TransportError> {
  if (err.kind !== 'unreachable' && err.kind !== 'timeout') {
    proxy.stop();
    return err;
  }
  const exited = await proxy.exitFailure();
  proxy.stop();
  if (exited) return exited;
  const tail = proxy.stderrTail();
  if (!tail) return err;
  const message = `${err.message} (ProxyCommand "${proxy.spec.written}" printed: ${tail})`;
  return new TransportError(err.kind, message, err.cluster, { cause: err });
}

function tcpConnect(hop: HopSpec, cluster: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hop.hostName, port: hop.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new TransportError('timeout', `no answer from ${hopLabel(hop)} within ${hop.connectTimeoutSec} s`, cluster)
      );
    }, hop.connectTimeoutSec * 1000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', err => {
      clearTimeout(timer);
      reject(
        new TransportError('unreachable', `cannot connect to ${hopLabel(hop)}: ${err.message}`, cluster, { cause: err })
      );
    });
  });
}

function classify(
  err: Error & { level?: string },
  hostKeyError: TransportError | undefined,
  authError: Error | undefined,
  label: string,
  cluster: string
): TransportError {
  if (hostKeyError) return hostKeyError;
  if (authError instanceof TransportError) return authError;
  if (err instanceof TransportError) return err;
  if (err.level === 'client-authentication') {
    return new TransportError(
      'auth',
      `${label} refused every login method we tried (keys, agent, keyboard-interactive)`,
      cluster,
      { cause: err }
    );
  }
  if (/timed out/i.test(err.message))
    return new TransportError('timeout', `${label}: ${err.message}`, cluster, { cause: err });
  return new TransportError('unreachable', `${label}: ${err.message}`, cluster, { cause: err });
}

async function readKnownHosts(files: string[]): Promise<KnownHostsSource[]> {
  const sources: KnownHostsSource[] = [];
  for (const file of files) {
    try {
      sources.push({ file, text: await fs.readFile(file, 'utf8') });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return sources;
}
