import * as os from 'node:os';
import { ClusterRegistry } from '../clusters';
import { ConfigError, loadConfig } from '../config/load';
import { configPath, type ConfigSource } from '../config/paths';
import type { HpclabConfig } from '../config/schema';
import { Progress } from './progress';
import { ttyPrompter } from './tty-prompter';

/** What every command gets: the loaded config, the clusters, and a progress line. */
export interface CliContext {
  config: HpclabConfig;
  configPath: string;
  /** Where the config path came from (--config, $HPCLAB_CONFIG, XDG or the default). */
  configSource: ConfigSource;
  clusters: ClusterRegistry;
  progress: Progress;
}

/**
 * `allowMissing`: a config file that does not exist yet is an empty config (no clusters), for
 * the companion, whose sidebar then offers "Add a cluster" and writes the file.
 */
export async function openContext(
  configFlag: string | undefined,
  options: { allowMissing?: boolean } = {}
): Promise<CliContext> {
  const { config, path, source } = await loadConfig({
    flag: configFlag,
    env: process.env,
    homeDir: os.homedir()
  }).catch(err => {
    if (!options.allowMissing || !isMissingFile(err)) throw err;
    const location = configPath({ flag: configFlag, env: process.env, homeDir: os.homedir() });
    return { config: { clusters: {}, profiles: {} } as HpclabConfig, ...location };
  });
  return {
    config,
    configPath: path,
    configSource: source,
    clusters: new ClusterRegistry(config, { prompter: ttyPrompter }),
    progress: new Progress()
  };
}

function isMissingFile(err: unknown): boolean {
  return err instanceof ConfigError && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** `--cluster`, else the configured default, else the only cluster; otherwise say which exist. */
export function pickCluster(ctx: CliContext, flag: string | undefined): string {
  if (flag) return flag;
  const names = ctx.clusters.names();
  if (ctx.config.defaults?.cluster) return ctx.config.defaults.cluster;
  if (names.length === 1) return names[0];
  throw new UsageError(`--cluster: pick one of ${names.join(', ')} (or set defaults.cluster in ${ctx.configPath})`);
}

/** `--profile`, else defaults.profile, else the only profile; otherwise say which exist. */
export function pickProfile(ctx: CliContext, flag: string | undefined): string {
  if (flag) return flag;
  const names = Object.keys(ctx.config.profiles ?? {});
  if (ctx.config.defaults?.profile) return ctx.config.defaults.profile;
  if (names.length === 1) return names[0];
  throw new UsageError(
    names.length === 0
      ? `no profiles in ${ctx.configPath}: add one (hpclab init, or "Edit profiles" in the sidebar)`
      : `--profile: pick one of ${names.join(', ')} (or set defaults.profile in ${ctx.configPath})`
  );
}

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {
  name = 'UsageError';
}
