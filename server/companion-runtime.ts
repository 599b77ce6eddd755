import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { statePaths } from './config/paths';

/*
 * Where a running companion says where it is, apart from the companion itself: every launcher
 * and CLI command reads this, and loading the companion's server to do so only slowed each
 * kernel's start.
 */

export interface RuntimeInfo {
  url: string;
  token: string;
  pid: number;
  socket?: string;
  config?: string;
}

/** The lock that makes one advertised companion per user (beside the runtime file). */
export function companionLockFile(env: NodeJS.ProcessEnv = process.env, homeDir = os.homedir()): string {
  return path.join(path.dirname(runtimeFile(env, homeDir)), 'companion.lock');
}

export function runtimeFile(env: NodeJS.ProcessEnv = process.env, homeDir = os.homedir()): string {
  return path.join(statePaths(env, homeDir).runtimeDir, 'companion.json');
}

/** Whether something accepts connections on the unix socket (a live companion, not a stale file). */
export function socketAnswers(socketPath: string): Promise<boolean> {
  return new Promise(resolve => {
    const probe = net.connect(socketPath, () => {
      probe.destroy();
      resolve(true);
    });
    probe.on('error', () => resolve(false));
  });
}

/** What the runtime file says, or undefined when there is none (or it is unreadable). */
export async function readRuntimeInfo(
  env: NodeJS.ProcessEnv = process.env,
  homeDir = os.homedir()
): Promise<RuntimeInfo | undefined> {
  try {
    return JSON.parse(await fs.readFile(runtimeFile(env, homeDir), 'utf8')) as RuntimeInfo;
  } catch {
    // No runtime file (no companion advertised) or a half-gone one: either way, none to reach.
    return undefined;
  }
}
