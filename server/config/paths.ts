import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/** Where the config path came from, in the search order of docs/ARCHITECTURE.md, "Config file". */
export type ConfigSource = 'flag' | 'env' | 'xdg' | 'default';

export interface ConfigLocation {
  path: string;
  source: ConfigSource;
}

export interface ConfigPathOptions {
  /** `--config FILE`, if given. */
  flag?: string;
  env: NodeJS.ProcessEnv;
  homeDir: string;
}

/** `~/x` → `<home>/x`: `--config=~/x` and quoted `$HPCLAB_CONFIG` values reach us unexpanded. */
function expandHome(p: string, homeDir: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(homeDir, p.slice(1)) : p;
}

/**
 * An XDG base directory variable, or undefined: the spec says empty or relative values are
 * invalid and must be ignored.
 */
function xdgDir(value: string | undefined): string | undefined {
  return value && path.isAbsolute(value) ? value : undefined;
}

/** `--config FILE`, else `$HPCLAB_CONFIG`, else `$XDG_CONFIG_HOME/hpclab/config.json`, else `~/.config/hpclab/config.json`. */
export function configPath(options: ConfigPathOptions): ConfigLocation {
  const { flag, env, homeDir } = options;
  if (flag) return { path: path.resolve(expandHome(flag, homeDir)), source: 'flag' };
  if (env.HPCLAB_CONFIG) return { path: path.resolve(expandHome(env.HPCLAB_CONFIG, homeDir)), source: 'env' };
  const xdg = xdgDir(env.XDG_CONFIG_HOME);
  if (xdg) return { path: path.join(xdg, 'hpclab', 'config.json'), source: 'xdg' };
  return { path: path.join(homeDir, '.config', 'hpclab', 'config.json'), source: 'default' };
}

/** How to say where a config path came from, for messages. */
export function describeConfigSource(source: ConfigSource): string {
  switch (source) {
    case 'flag':
      return '--config';
    case 'env':
      return '$HPCLAB_CONFIG';
    case 'xdg':
      return '$XDG_CONFIG_HOME';
    case 'default':
      return 'the default location';
  }
}

export interface StatePaths {
  /** Session records and other state that outlives the process. */
  stateDir: string;
  /** Sockets and pid files: gone after a reboot, which is what they should do. */
  runtimeDir: string;
}

/** `$XDG_STATE_HOME/hpclab` (default `~/.local/state/hpclab`); runtime `$XDG_RUNTIME_DIR/hpclab` else `<stateDir>/run`. */
export function statePaths(env: NodeJS.ProcessEnv, homeDir: string): StatePaths {
  const stateHome = xdgDir(env.XDG_STATE_HOME) ?? path.join(homeDir, '.local', 'state');
  const stateDir = path.join(stateHome, 'hpclab');
  const runtime = xdgDir(env.XDG_RUNTIME_DIR);
  return { stateDir, runtimeDir: runtime ? path.join(runtime, 'hpclab') : path.join(stateDir, 'run') };
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** An Error that names the path, keeps the errno code and the original error as its cause. */
function pathError(verb: string, target: string, err: unknown): Error {
  const reason = err instanceof Error ? err.message : String(err);
  const wrapped = new Error(`cannot ${verb} ${target}: ${reason}`, { cause: err }) as NodeJS.ErrnoException;
  wrapped.code = errnoCode(err);
  return wrapped;
}

/**
 * `mkdir -p` then make the last component 0700. Parents are created 0700 too (mkdir's mode);
 * existing parents are left alone. Refuses a directory owned by another user: state written
 * there could be read or replaced by them.
 */
export async function ensurePrivateDir(dir: string): Promise<string> {
  const target = path.resolve(dir);
  try {
    await fs.mkdir(target, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw pathError('create directory', target, err);
  }
  let stat;
  try {
    stat = await fs.stat(target);
  } catch (err) {
    throw pathError('inspect directory', target, err);
  }
  if (!stat.isDirectory()) throw new Error(`cannot use ${target} as a directory: it is not one`);
  // No uids on Windows: nothing to check, and chmod only toggles read-only there.
  if (typeof process.getuid === 'function') {
    const uid = process.getuid();
    if (stat.uid !== uid) {
      throw new Error(
        `refusing to use ${target}: it is owned by uid ${stat.uid}, not by you (uid ${uid}); remove it or point hpclab elsewhere`
      );
    }
    if ((stat.mode & 0o777) !== 0o700) {
      try {
        await fs.chmod(target, 0o700);
      } catch (err) {
        throw pathError('make private (chmod 0700)', target, err);
      }
    }
  }
  return target;
}

/** A file's text, or undefined when there is no such file; any other failure is thrown. */
export async function readTextIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Writes `data` to `file` so that readers see the old content or the new, never a torn file:
 * a 0600 temp file in the same directory (so rename stays on one filesystem), fsync, rename.
 * On failure the old file is untouched, the temp file is removed, and the error names `file`.
 */
export async function writePrivateFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const target = path.resolve(file);
  const dir = path.dirname(target);
  const temp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let created = false;
  try {
    // 'wx' = O_CREAT|O_EXCL: never follows a symlink someone planted at the temp name.
    const handle = await fs.open(temp, 'wx', 0o600);
    created = true;
    try {
      await handle.chmod(0o600); // the umask may have narrowed the mode; make it exactly 0600
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, target);
    created = false;
  } catch (err) {
    if (created) await fs.rm(temp, { force: true }).catch(() => undefined); // best effort: the write's own error, thrown next, is what matters
    throw pathError('write', target, err);
  }
  await syncDir(dir);
}

/** Makes the rename itself durable. Best effort: some platforms cannot open a directory. */
async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // Windows and some network filesystems refuse; the data is already synced.
  } finally {
    await handle?.close().catch(() => undefined); // a directory handle opened only to sync: nothing is lost if closing it fails
  }
}
