import * as os from 'node:os';
import * as path from 'node:path';
import { getCluster, getProfile } from '../../config/load';
import { statePaths } from '../../config/paths';
import { DEFAULT_VENV_ROOTS, DiscoveryCache, discoverEnvs, matchEnv, type DiscoveredEnv } from '../../kernels/discovery';
import { checkKernelName, defaultKernelName, describeKernel, kernelsDir, listKernelspecs, removeKernelspec, writeKernelspec } from '../../kernels/kernelspec';
import { openContext, pickCluster, UsageError, type CliContext } from '../context';
import { table } from '../format';
import { parseCommandArgs, type Command } from '../args';

/** Discovery answers younger than this are shown without asking the cluster (`--refresh` asks). */
const DISCOVERY_FRESH_MS = 10 * 60_000;
/** `kernels add --env` trusts a day-old answer first, and asks again only if the env is not in it. */
const DISCOVERY_ADD_MS = 24 * 3600_000;

const USAGE = [
  'hpclab kernels list [--json]',
  '       hpclab kernels add --profile P [--cluster C] [--env NAME|PATH] [--name N] [--display-name D] [--config FILE]',
  '       hpclab kernels remove NAME',
  '       hpclab kernels discover [--cluster C] [--refresh] [--json] [--config FILE]'
].join('\n');

export const kernelsCommand: Command = {
  name: 'kernels',
  summary: 'Remote kernels in the kernel picker: add, list, remove; discover envs on a cluster',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      this,
      argv,
      {
        profile: { type: 'string' },
        cluster: { type: 'string' },
        env: { type: 'string' },
        name: { type: 'string' },
        'display-name': { type: 'string' },
        refresh: { type: 'boolean' },
        json: { type: 'boolean' }
      },
      true
    );
    const [action = 'list', ...rest] = positionals;
    const dir = kernelsDir(process.env, os.homedir());
    if (action === 'list') {
      noMore(rest);
      const specs = await listKernelspecs(dir);
      if (values.json) process.stdout.write(JSON.stringify(specs, null, 2) + '\n');
      else if (specs.length === 0) process.stdout.write(`No hpclab kernels in ${dir}. Add one: hpclab kernels add --profile P\n`);
      else process.stdout.write(table(['NAME', 'DISPLAY NAME', 'PROFILE', 'CLUSTER'], specs.map(s => [s.name, s.displayName, s.metadata.profile, s.metadata.cluster])) + '\n');
      return 0;
    }
    if (action === 'remove') {
      if (rest.length !== 1) throw new UsageError(`NAME: give one kernel name (hpclab kernels list shows them)\nusage: ${USAGE}`);
      try {
        process.stdout.write(`Removed kernel ${rest[0]} (${await removeKernelspec(dir, rest[0])})\n`);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      return 0;
    }
    const ctx = await openContext(values.config);
    try {
      if (action === 'discover') {
        noMore(rest);
        const cluster = pickCluster(ctx, values.cluster);
        const envs = await discovered(ctx, cluster, values.refresh ? 0 : DISCOVERY_FRESH_MS);
        process.stdout.write(values.json ? JSON.stringify(envs, null, 2) + '\n' : envsTable(envs, cluster) + '\n');
        return 0;
      }
      if (action === 'add') {
        noMore(rest);
        return await add(ctx, dir, values);
      }
      throw new UsageError(`unknown kernels action "${action}": use list, add, remove or discover\nusage: ${USAGE}`);
    } finally {
      await ctx.clusters.close();
    }
  }
};

function noMore(rest: string[]): void {
  if (rest.length > 0) throw new UsageError(`unexpected ${rest.join(' ')}\nusage: ${USAGE}`);
}

async function add(ctx: CliContext, dir: string, values: { profile?: string; cluster?: string; env?: string; name?: string; 'display-name'?: string; config?: string }): Promise<number> {
  if (!values.profile) throw new UsageError('--profile: which profile the kernel asks Slurm for (partition, GPUs, time); see your config');
  const profile = getProfile(ctx.config, values.profile);
  const cluster = values.cluster ?? profile.cluster;
  getCluster(ctx.config, cluster);
  if (values.name !== undefined) {
    try {
      checkKernelName(values.name);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  if (values['display-name'] !== undefined && !/^[^\x00-\x1f\x7f]{1,200}$/.test(values['display-name']))
    throw new UsageError('--display-name: expected 1 to 200 characters on one line');
  let found: DiscoveredEnv | undefined;
  if (values.env !== undefined) found = await findEnv(ctx, cluster, values.env);
  const envJson = found ? JSON.stringify(found.env) : undefined;
  const main = path.resolve(__dirname, '..', 'main.js');
  // Absolute paths: Jupyter runs this argv with its own PATH and working directory.
  const argv = [process.execPath, main, 'kernel-launch', '--profile', values.profile];
  if (values.cluster) argv.push('--cluster', cluster);
  if (envJson) argv.push('--env', envJson);
  // The config the kernel was added with, unless it was the default one (found the same way later).
  if (ctx.configSource !== 'default' && ctx.configSource !== 'xdg') argv.push('--config', ctx.configPath);
  argv.push('{connection_file}');
  const name = values.name ?? defaultKernelName(cluster, values.profile, envJson);
  const displayName = values['display-name'] ?? describeKernel({ cluster, profileName: values.profile, profile, env: found?.env });
  const where = await writeKernelspec({ dir, name, argv, displayName, language: 'python', metadata: { profile: values.profile, cluster, ...(envJson ? { env: envJson } : {}) } });
  process.stdout.write(`Added kernel "${displayName}" as ${name} (${where})\n`);
  if (found && found.ipykernel === false) {
    process.stderr.write(`warning: ipykernel is not importable in ${found.prefix ?? found.name}; install it there (python -m pip install ipykernel) or the kernel will not start\n`);
  }
  return 0;
}

/** The discovered env the user named: from a recent answer if it is there, else asked afresh. */
async function findEnv(ctx: CliContext, cluster: string, query: string): Promise<DiscoveredEnv> {
  const cached = await cache().get(cluster, DISCOVERY_ADD_MS);
  if (cached) {
    try {
      return matchEnv(cached, query);
    } catch {
      // Not in the cached answer: the env may be new, ask the cluster.
    }
  }
  try {
    return matchEnv(await discovered(ctx, cluster, 0), query);
  } catch (err) {
    if (err instanceof Error && err.name === 'EnvMatchError') throw new UsageError(`--env: ${err.message}`);
    throw err;
  }
}

function cache(): DiscoveryCache {
  return new DiscoveryCache(path.join(statePaths(process.env, os.homedir()).stateDir, 'discovery.json'));
}

async function discovered(ctx: CliContext, cluster: string, maxAgeMs: number): Promise<DiscoveredEnv[]> {
  const store = cache();
  const fresh = maxAgeMs > 0 ? await store.get(cluster, maxAgeMs) : undefined;
  if (fresh) return fresh;
  const venvRoots = getCluster(ctx.config, cluster).venvRoots ?? DEFAULT_VENV_ROOTS;
  const envs = await ctx.progress.during(`looking for Python environments on ${cluster}`, () => discoverEnvs(ctx.clusters.get(cluster).transport, { venvRoots }));
  await store.put(cluster, envs);
  return envs;
}

function envsTable(envs: DiscoveredEnv[], cluster: string): string {
  if (envs.length === 0) return `No Python environments found on ${cluster} (conda envs, venvs under the configured venvRoots, python modules).`;
  const rows = envs.map(e => [e.kind, e.name, e.pythonVersion ?? '-', e.ipykernel === null ? '?' : e.ipykernel ? 'yes' : 'no', e.prefix ?? '-']);
  return `${table(['KIND', 'NAME', 'PYTHON', 'IPYKERNEL', 'PREFIX'], rows)}\n\nAdd one: hpclab kernels add --cluster ${cluster} --env NAME --profile P`;
}
