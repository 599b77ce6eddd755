import { spawn } from 'node:child_process';
import { promises as fs, openSync, closeSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensurePrivateDir, statePaths } from '../config/paths';
import { lockHolder } from '../companion-lock';
import { CLI_ENTRY } from './entry-path';
import { rotateLog } from './log-rotation';
import { companionLockFile, readRuntimeInfo, socketAnswers } from '../companion-runtime';

/** A companion on this machine, reachable on its private unix socket. */
export interface LocalCompanion {
  socket: string;
  token: string;
  pid: number;
  config?: string;
}

/** How long an auto-started companion lingers with nothing to do (kernels, tabs, requests). */
export const AUTO_IDLE_EXIT_SEC = 300;

/** The running companion of this user, if its runtime file names a socket that answers. */
export async function findLocalCompanion(
  env = process.env,
  homeDir = os.homedir()
): Promise<LocalCompanion | undefined> {
  const info = await readRuntimeInfo(env, homeDir);
  if (!info?.socket || !(await socketAnswers(info.socket))) return undefined;
  return { socket: info.socket, token: info.token, pid: info.pid, config: info.config };
}

/**
 * The companion every kernel of this user shares (one SSH connection per cluster, one 2FA
 * prompt): the running one, else one started in the background with this config, which exits
 * by itself once nothing has needed it for a while. A companion serving another config file is
 * an error, not a silent mix-up of clusters and profiles.
 */
export async function ensureLocalCompanion(
  configPath: string,
  log: (message: string) => void,
  env = process.env,
  homeDir = os.homedir()
): Promise<LocalCompanion> {
  const running = await findLocalCompanion(env, homeDir);
  if (running) return checkConfig(running, configPath);
  const { stateDir } = statePaths(env, homeDir);
  await ensurePrivateDir(stateDir);
  const logFile = path.join(stateDir, 'companion.log');
  // A log that cannot be rotated is still appended to: starting the companion matters more.
  await rotateLog(logFile).catch(err =>
    log(`hpclab: cannot rotate ${logFile} (${(err as Error).message}); appending to it`)
  );
  let child = startInBackground(configPath, logFile, env, log);
  let starts = 1;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    // Another launcher may have started one at the same moment: whichever answers is the one.
    const found = await findLocalCompanion(env, homeDir);
    if (found) return checkConfig(found, configPath);
    // Ours lost the race for the lock to one that has not answered yet (it is still connecting):
    // wait for that one, as long as it lives.
    if (
      child.exited &&
      !(await findLocalCompanion(env, homeDir)) &&
      (await lockHolder(companionLockFile(env, homeDir))) === undefined
    ) {
      // The lock's holder may have been on its way out (an idle exit, a stop), its runtime file
      // gone but not yet its lock, when ours started; now nobody serves: start ours again. A
      // companion that cannot start at all fails the same way each time, and is reported below.
      if (starts < 3) {
        log('hpclab: the companion exited before answering, and none other runs; starting it again');
        child = startInBackground(configPath, logFile, env, log);
        starts++;
        continue;
      }
      // No log to quote (unreadable or gone): the error still says the companion did not start.
      const tail = (await fs.readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-5).join('\n');
      throw new Error(`the companion did not start${tail ? `:\n${tail}` : ''}`);
    }
    await new Promise(r => setTimeout(r, 200));
  }
  throw new Error(`the companion did not answer within 60 s (see ${logFile})`);
}

/** `hpclab serve` in the background, its output appended to `logFile`; says whether it has exited. */
function startInBackground(
  configPath: string,
  logFile: string,
  env: NodeJS.ProcessEnv,
  log: (message: string) => void
): { exited: boolean } {
  const fd = openSync(logFile, 'a', 0o600);
  const child = spawn(
    process.execPath,
    [CLI_ENTRY, 'serve', '--config', configPath, '--exit-when-idle', String(AUTO_IDLE_EXIT_SEC)],
    { detached: true, stdio: ['ignore', fd, fd], env }
  );
  closeSync(fd);
  child.unref();
  const state = { exited: false };
  child.once('exit', () => (state.exited = true));
  log(`hpclab: started the companion in the background (pid ${child.pid}; log ${logFile})`);
  return state;
}

function checkConfig(companion: LocalCompanion, configPath: string): LocalCompanion {
  if (companion.config && path.resolve(companion.config) !== path.resolve(configPath)) {
    throw new Error(
      `the running companion (pid ${companion.pid}) uses ${companion.config}, not ${configPath}: stop it (kill ${companion.pid}) or give kernels the same --config`
    );
  }
  return companion;
}
