import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ClusterRegistry, createApp } from './app';
import { ensurePrivateDir, statePaths, writePrivateFileAtomic } from './config/paths';
import type { HpclabConfig } from './config/schema';
import { SessionManager } from './sessions/manager';
import { SessionStore } from './sessions/store';
import type { Prompter } from './transport/types';

export interface CompanionOptions {
  config: HpclabConfig;
  host?: string;
  port?: number;
  prompter?: Prompter;
  env?: NodeJS.ProcessEnv;
  homeDir?: string;
  /** Write the runtime file others find us by (serve does; an in-process tunnel does not). */
  advertise?: boolean;
}

export interface RunningCompanion {
  url: string;
  token: string;
  port: number;
  sessions: SessionManager;
  clusters: ClusterRegistry;
  close(): Promise<void>;
}

/** Where a running companion says where it is (0600, in the 0700 runtime dir). */
export function runtimeFile(env: NodeJS.ProcessEnv = process.env, homeDir = os.homedir()): string {
  return path.join(statePaths(env, homeDir).runtimeDir, 'companion.json');
}

/**
 * Builds every adapter (the one place besides the CLI's short-lived registries), re-attaches
 * sessions from the store and squeue, and listens on loopback with a fresh random token.
 */
export async function startCompanion(options: CompanionOptions): Promise<RunningCompanion> {
  const env = options.env ?? process.env;
  const homeDir = options.homeDir ?? os.homedir();
  const { stateDir } = statePaths(env, homeDir);
  await ensurePrivateDir(stateDir);
  const token = randomBytes(32).toString('hex');
  const clusters = new ClusterRegistry(options.config, { prompter: options.prompter, env, homeDir });
  const sessions = new SessionManager({ config: options.config, clusters: name => clusters.get(name), store: new SessionStore(path.join(stateDir, 'sessions.json')) });
  await sessions.start();
  const { app, onUpgrade, close: closeApp } = createApp({ clusters, sessions, token });
  const server = http.createServer(app);
  server.on('upgrade', onUpgrade);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  const file = runtimeFile(env, homeDir);
  if (options.advertise) {
    await ensurePrivateDir(path.dirname(file));
    await writePrivateFileAtomic(file, JSON.stringify({ url, token, pid: process.pid }) + '\n');
  }
  return {
    url,
    token,
    port,
    sessions,
    clusters,
    async close() {
      // Drain: stop taking requests, end live connections, then the adapters.
      server.close();
      server.closeAllConnections();
      closeApp();
      sessions.close();
      await clusters.close();
      if (options.advertise) await fs.rm(file, { force: true });
    }
  };
}
