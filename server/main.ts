import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ClusterRegistry, createApp } from './app';
import { companionLockFile, runtimeFile, socketAnswers, type RuntimeInfo } from './companion-runtime';
import { CLI_ENTRY } from './cli/entry-path';
import { claimCompanionLock, releaseCompanionLock } from './companion-lock';
import { configPath, ensurePrivateDir, statePaths, writePrivateFileAtomic } from './config/paths';
import type { HpclabConfig } from './config/schema';
import { loggerFromEnv, type Logger } from './log';
import { PromptBroker } from './api/prompt-broker';
import { KernelService } from './kernels/kernel-service';
import { kernelsDir } from './kernels/kernelspec';
import { EnvDiscovery, KernelspecService } from './kernels/kernelspec-service';
import type { LocalJupyter } from './proxy/local-jupyter-proxy';
import { ConfigFollower } from './setup/config-follower';
import { SetupService } from './setup/setup-service';
import { RunService } from './runs/run-service';
import { SessionManager } from './sessions/manager';
import { SessionStore } from './sessions/store';
import type { Prompter } from './transport/types';
import { HPCLAB_VERSION } from './version';

export { companionLockFile, readRuntimeInfo, runtimeFile, socketAnswers, type RuntimeInfo } from './companion-runtime';

export interface CompanionOptions {
  config: HpclabConfig;
  host?: string;
  port?: number;
  prompter?: Prompter;
  env?: NodeJS.ProcessEnv;
  homeDir?: string;
  /** Write the runtime file others find us by, and serve the local socket (serve does; an in-process tunnel does not). */
  advertise?: boolean;
  /** The config file's path, told to launchers so they can check they share it. */
  configPath?: string;
  /** `hpclab lab`: serve this local Jupyter server on the same origin. */
  localJupyter?: LocalJupyter;
  /** Where everything the companion does is logged; default: stderr at `$HPCLAB_LOG`'s level (see server/log.ts). */
  logger?: Logger;
  /** `--verbose`: log at debug level, whatever `$HPCLAB_LOG` says (when no logger is given). */
  verbose?: boolean;
}

export interface RunningCompanion {
  url: string;
  token: string;
  port: number;
  sessions: SessionManager;
  clusters: ClusterRegistry;
  kernels: KernelService;
  /** The 0700-dir unix socket local clients (kernel launchers) use, when advertised. */
  socketPath: string | undefined;
  /** Open connections on both listeners plus kernels still wanted: 0 means nobody needs us. */
  busy(): Promise<number>;
  close(): Promise<void>;
}

/** What the runtime file says (0600): how local clients reach this companion. */
/**
 * Builds every adapter (the one place besides the CLI's short-lived registries), re-attaches
 * sessions from the store and squeue, and listens on loopback with a fresh random token.
 */
export async function startCompanion(options: CompanionOptions): Promise<RunningCompanion> {
  const env = options.env ?? process.env;
  const homeDir = options.homeDir ?? os.homedir();
  // The one logger of this companion; each service logs below it under its own scope.
  // A companion inside a terminal command (tunnel, sessions stop) keeps that terminal for the
  // command's own output: warnings only, unless HPCLAB_LOG asks for more.
  const logger =
    options.logger ??
    loggerFromEnv({
      env,
      verbose: options.verbose,
      write: entry => process.stderr.write(entry),
      unset: options.advertise ? undefined : 'warn'
    });
  const { stateDir } = statePaths(env, homeDir);
  await ensurePrivateDir(stateDir);
  const token = randomBytes(32).toString('hex');
  // One advertised companion per user: claimed before anything connects to a cluster, so a
  // companion that loses a start-up race leaves without having opened an SSH connection.
  let lock: string | undefined;
  if (options.advertise) {
    lock = companionLockFile(env, homeDir);
    await ensurePrivateDir(path.dirname(lock));
    await claimCompanionLock(lock);
  }
  // SSH prompts (2FA) go to an open JupyterLab when there is one, else to the terminal.
  const prompts = new PromptBroker(options.prompter);
  const clusters = new ClusterRegistry(options.config, { prompter: prompts.prompter, env, homeDir, logger });
  const sessions = new SessionManager({
    config: options.config,
    clusters: name => clusters.get(name),
    store: new SessionStore(path.join(stateDir, 'sessions.json')),
    logger: logger.child('sessions')
  });
  await sessions.start();
  const kernels = new KernelService({
    config: options.config,
    clusters: name => clusters.get(name),
    sessions,
    localHome: homeDir,
    logger: logger.child('kernels')
  });
  const specs = new KernelspecService({
    config: options.config,
    kernelsDir: kernelsDir(env, homeDir),
    // Kernelspecs run this very CLI, by absolute paths, with the companion's own config.
    hpclab: [process.execPath, CLI_ENTRY],
    configPath: options.configPath
  });
  const discovery = new EnvDiscovery({
    config: options.config,
    cacheFile: path.join(stateDir, 'discovery.json'),
    transport: name => clusters.get(name).transport
  });
  // Setup writes the config file the companion was started with (the default one if none was named),
  // and the companion follows that file when others write it.
  const followedFile = options.configPath ?? configPath({ env, homeDir }).path;
  const configLog = logger.child('config');
  const follower = new ConfigFollower({
    file: followedFile,
    config: options.config,
    report: message => configLog.warn(message)
  });
  await follower.start();
  follower.watch();
  const setup = new SetupService({
    configPath: followedFile,
    config: options.config,
    clusters,
    probeRegistry: config => new ClusterRegistry(config, { prompter: prompts.prompter, env, homeDir, logger }),
    homeDir,
    logger: logger.child('setup')
  });
  const runs = new RunService({ config: options.config, clusters: name => clusters.get(name) });
  const {
    handle,
    onUpgrade,
    close: closeApp
  } = createApp({
    clusters,
    sessions,
    kernels,
    kernelspecs: { specs, discovery },
    prompts,
    setup,
    runs,
    token,
    localJupyter: options.localJupyter,
    refreshConfig: () => follower.refresh(),
    logger
  });
  const server = http.createServer(handle);
  server.on('upgrade', onUpgrade);
  const servers = [server];
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  const file = runtimeFile(env, homeDir);
  let socketPath: string | undefined;
  if (options.advertise) {
    await ensurePrivateDir(path.dirname(file));
    // Kernel launchers talk to us here: only this user can enter the 0700 runtime dir.
    socketPath = path.join(path.dirname(file), `companion-${randomBytes(4).toString('hex')}.sock`);
    const local = http.createServer(handle);
    local.on('upgrade', onUpgrade);
    await listenOnSocket(local, socketPath);
    servers.push(local);
    const info: RuntimeInfo = { url, token, pid: process.pid, socket: socketPath, config: options.configPath };
    await writePrivateFileAtomic(file, JSON.stringify(info) + '\n');
  }
  // The companion others use (serve, lab) says so; one inside a CLI command (tunnel) only in detail.
  const lifecycle = (message: string) => (options.advertise ? logger.info(message) : logger.debug(message));
  lifecycle(
    `companion ${HPCLAB_VERSION} (pid ${process.pid}) listening on ${url}${socketPath ? ` and ${socketPath}` : ''}; config ${followedFile}`
  );
  return {
    url,
    token,
    port,
    sessions,
    clusters,
    kernels,
    socketPath,
    async busy() {
      const open = await Promise.all(
        servers.map(s => new Promise<number>(resolve => s.getConnections((err, n) => resolve(err ? 0 : n))))
      );
      return open.reduce((a, b) => a + b, 0) + kernels.count();
    },
    async close() {
      lifecycle('stopping');
      // Drain: stop taking requests, end live connections, then the adapters.
      for (const s of servers) {
        s.close();
        s.closeAllConnections();
      }
      closeApp();
      follower.close();
      await setup.close();
      prompts.close();
      kernels.close();
      sessions.close();
      await clusters.close();
      if (options.advertise) {
        await fs.rm(file, { force: true });
        if (socketPath) await fs.rm(socketPath, { force: true });
        if (lock) await releaseCompanionLock(lock);
      }
    }
  };
}

/** Sockets left by crashed companions (an older companion's fixed name included). */
async function removeDeadSockets(dir: string): Promise<void> {
  const names = await fs.readdir(dir).catch(() => [] as string[]); // nothing to clear; listening there fails next if the dir is unusable
  for (const name of names.filter(n => /^companion(-[0-9a-f]+)?\.sock$/.test(n))) {
    const stale = path.join(dir, name);
    if (!(await socketAnswers(stale))) await fs.rm(stale, { force: true });
  }
}

/**
 * Listens on a unix socket of a name of its own (a launcher that read a crashed companion's
 * runtime file must find that socket dead, not reach this companion with the old token), first
 * clearing the sockets crashed companions left: the caller holds the companion lock, so no live
 * companion serves any of them.
 */
async function listenOnSocket(server: http.Server, socketPath: string): Promise<void> {
  await removeDeadSockets(path.dirname(socketPath));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  await fs.chmod(socketPath, 0o600);
}
