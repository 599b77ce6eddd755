import * as os from 'node:os';
import * as path from 'node:path';
import { getCluster, getProfile } from '../../config/load';
import { statePaths } from '../../config/paths';
import { matchEnv, type DiscoveredEnv } from '../../kernels/discovery';
import { matchKernel, type DiscoveredKernel } from '../../kernels/discovery-kernelspecs';
import { looksLikeIpykernel } from '../../kernels/remote-kernel';
import { checkKernelName, kernelsDir, listKernelspecs, removeKernelspec } from '../../kernels/kernelspec';
import { EnvDiscovery, KernelspecService } from '../../kernels/kernelspec-service';
import { openContext, pickCluster, UsageError, type CliContext } from '../context';
import { CLI_ENTRY } from '../entry-path';
import { table } from '../format';
import { defineCommand } from '../args';
import { didYouMean } from '../suggest';

/** Discovery answers younger than this are shown without asking the cluster (`--refresh` asks). */
const DISCOVERY_FRESH_MS = 10 * 60_000;
/** `kernels add --env` trusts a day-old answer first, and asks again only if the env is not in it. */
const DISCOVERY_ADD_MS = 24 * 3600_000;

const USAGE = [
  'hpclab kernels [list] [--json]',
  'hpclab kernels add --profile P [--cluster C] [--env NAME|PATH [--kernel K]] [--name N] [--display-name D] [--json] [--config FILE]',
  'hpclab kernels remove NAME [--json]',
  'hpclab kernels discover [--cluster C] [--refresh] [--json] [--config FILE]'
];
const ACTIONS = ['list', 'add', 'remove', 'discover'];
const USAGE_TEXT = `usage: ${USAGE.join('\n       ')}`;

export const kernelsCommand = defineCommand({
  name: 'kernels',
  summary: 'Remote kernels in the kernel picker: add, list, remove; discover envs on a cluster',
  usage: USAGE,
  description:
    "Manages the kernelspecs that put remote kernels into Jupyter's kernel picker: each runs `hpclab kernel-launch` with a profile (and optionally an environment found on the cluster). discover lists the environments on a cluster: conda envs, venvs under the configured venvRoots, python modules, and the Jupyter kernels (R, Julia, …) installed inside each env; --kernel runs one of those instead of Python.",
  flags: {
    profile: {
      type: 'string',
      value: 'P',
      description: 'add: the profile the kernel asks Slurm with (partition, GPUs, time)'
    },
    cluster: {
      type: 'string',
      value: 'C',
      description: "add: the cluster, if not the profile's; discover: the cluster to look on"
    },
    env: {
      type: 'string',
      value: 'NAME|PATH',
      description: 'add: run the kernel in this environment, by name or prefix, as discover lists it'
    },
    kernel: {
      type: 'string',
      value: 'K',
      description:
        "add: run this kernelspec of the --env (e.g. ir for R), as discover lists it, instead of hpclab's Python kernel"
    },
    name: {
      type: 'string',
      value: 'N',
      description: "add: the kernelspec's name (default: made from the profile and env)"
    },
    'display-name': { type: 'string', value: 'D', description: 'add: the name shown in the kernel picker' },
    refresh: {
      type: 'boolean',
      description: 'discover: ask the cluster again instead of using an answer younger than 10 minutes'
    },
    json: {
      type: 'boolean',
      description: 'print the kernelspecs, the added or removed one, or the environments found as JSON'
    }
  },
  arguments: [
    { name: 'list|add|remove|discover', description: 'what to do (default: list)' },
    { name: 'NAME', description: "remove: the kernelspec's name, as list shows it" }
  ],
  examples: [
    {
      description: 'A kernel that runs on a GPU node with the profile "gpu"',
      command: 'hpclab kernels add --profile gpu'
    },
    {
      description: 'Python environments on a cluster, then a kernel in one of them',
      command: 'hpclab kernels discover --cluster mycluster && hpclab kernels add --profile gpu --env torch'
    },
    {
      description: 'The R kernel (IRkernel) installed in the conda env "r-stats"',
      command: 'hpclab kernels add --profile cpu --env r-stats --kernel ir'
    }
  ],
  env: [
    'HPCLAB_CONFIG',
    'XDG_CONFIG_HOME',
    'JUPYTER_DATA_DIR',
    'XDG_DATA_HOME',
    'XDG_STATE_HOME',
    'SSH_AUTH_SOCK',
    'SHELL',
    'CI'
  ],
  async run({ values, positionals }) {
    const [action = 'list', ...rest] = positionals;
    const dir = kernelsDir(process.env, os.homedir());
    if (action === 'list') {
      noMore(rest);
      const specs = await listKernelspecs(dir);
      if (values.json) process.stdout.write(JSON.stringify(specs, null, 2) + '\n');
      else if (specs.length === 0)
        process.stdout.write(`No hpclab kernels in ${dir}. Add one: hpclab kernels add --profile P\n`);
      else
        process.stdout.write(
          table(
            ['NAME', 'DISPLAY NAME', 'PROFILE', 'CLUSTER'],
            specs.map(s => [s.name, s.displayName, s.metadata.profile, s.metadata.cluster])
          ) + '\n'
        );
      return 0;
    }
    if (action === 'remove') {
      if (rest.length !== 1)
        throw new UsageError(`NAME: give one kernel name (hpclab kernels list shows them)\n${USAGE_TEXT}`);
      try {
        const removed = await removeKernelspec(dir, rest[0]);
        process.stdout.write(
          values.json
            ? JSON.stringify({ name: rest[0], path: removed }) + '\n'
            : `Removed kernel ${rest[0]} (${removed})\n`
        );
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      return 0;
    }
    if (action === 'add' && !values.profile)
      throw new UsageError(
        '--profile: name the profile the kernel asks Slurm with, e.g. hpclab kernels add --profile gpu (profiles are in your config; hpclab init proposes some)'
      );
    if (!['add', 'discover'].includes(action))
      throw new UsageError(
        `unknown kernels action "${action}"${didYouMean(action, ACTIONS)}: use list, add, remove or discover\n${USAGE_TEXT}`
      );
    const ctx = await openContext(values.config);
    try {
      if (action === 'discover') {
        noMore(rest);
        const cluster = pickCluster(ctx, values.cluster);
        const { discovery } = services(ctx);
        const envs = await ctx.progress.during(`looking for Python environments on ${cluster}`, () =>
          discovery.envs(cluster, values.refresh ? 0 : DISCOVERY_FRESH_MS)
        );
        process.stdout.write(values.json ? JSON.stringify(envs, null, 2) + '\n' : envsTable(envs, cluster) + '\n');
        return 0;
      }
      noMore(rest);
      return await add(ctx, { ...values, profile: values.profile! });
    } finally {
      await ctx.clusters.close();
    }
  }
});

function noMore(rest: string[]): void {
  if (rest.length > 0) throw new UsageError(`unexpected ${rest.join(' ')}\n${USAGE_TEXT}`);
}

function services(ctx: CliContext) {
  const hpclab = [process.execPath, CLI_ENTRY];
  // The config the kernel was added with, unless it was the default one (found the same way later).
  const configPath = ctx.configSource === 'default' || ctx.configSource === 'xdg' ? undefined : ctx.configPath;
  const kernelspecs = new KernelspecService({
    config: ctx.config,
    kernelsDir: kernelsDir(process.env, os.homedir()),
    hpclab,
    configPath,
    transport: cluster => ctx.clusters.get(cluster).transport,
    warn: message => process.stderr.write(`warning: ${message}\n`)
  });
  const discovery = new EnvDiscovery({
    config: ctx.config,
    cacheFile: path.join(statePaths(process.env, os.homedir()).stateDir, 'discovery.json'),
    transport: cluster => ctx.clusters.get(cluster).transport
  });
  return { kernelspecs, discovery };
}

async function add(
  ctx: CliContext,
  values: {
    profile: string;
    cluster?: string;
    env?: string;
    kernel?: string;
    name?: string;
    'display-name'?: string;
    json?: boolean;
  }
): Promise<number> {
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
  if (values.kernel !== undefined && values.env === undefined)
    throw new UsageError(
      '--kernel: name the env it is in with --env, e.g. --env r-stats --kernel ir (hpclab kernels discover lists both)'
    );
  const { kernelspecs, discovery } = services(ctx);
  const found =
    values.env === undefined ? undefined : await findEnv(ctx, discovery, cluster, values.env, values.kernel);
  const kernel = found && values.kernel !== undefined ? pickKernel(found, values.kernel) : undefined;
  const spec = await kernelspecs.add({
    profile: values.profile,
    cluster: values.cluster,
    env: found?.env,
    kernel,
    name: values.name,
    displayName: values['display-name']
  });
  process.stdout.write(
    values.json
      ? JSON.stringify({ name: spec.name, displayName: spec.displayName, path: spec.path, created: spec.created }) +
          '\n'
      : `${spec.created ? 'Added' : 'Updated'} kernel "${spec.displayName}" as ${spec.name} (${spec.path})\n`
  );
  if (kernel && looksLikeIpykernel(kernel.argv)) {
    process.stderr.write(
      `note: ${kernel.name} is an ipykernel kernelspec; without --kernel hpclab starts ipykernel itself and keeps its output pipe off TCP on the node\n`
    );
  }
  if (found && !kernel && found.ipykernel === false) {
    process.stderr.write(
      `warning: ipykernel is not importable in ${found.prefix ?? found.name}; install it there (python -m pip install ipykernel) or the kernel will not start\n`
    );
  }
  return 0;
}

/** `--kernel K` in the env found, or a usage error listing the kernels there. */
function pickKernel(env: DiscoveredEnv, name: string): DiscoveredKernel {
  try {
    return matchKernel(env, name);
  } catch (err) {
    throw new UsageError(`--kernel: ${(err as Error).message}`);
  }
}

/**
 * The discovered env the user named: from a recent answer if it is there (with the kernel asked
 * for, when one is), else asked afresh.
 */
async function findEnv(
  ctx: CliContext,
  discovery: EnvDiscovery,
  cluster: string,
  query: string,
  kernel?: string
): Promise<DiscoveredEnv> {
  try {
    const env = matchEnv(await discovery.envs(cluster, DISCOVERY_ADD_MS), query);
    if (kernel === undefined || env.kernels.some(k => k.name === kernel)) return env;
  } catch {
    // Not in the cached answer: the env may be new, ask the cluster.
  }
  try {
    return matchEnv(
      await ctx.progress.during(`looking for Python environments on ${cluster}`, () => discovery.envs(cluster, 0)),
      query
    );
  } catch (err) {
    if (err instanceof Error && err.name === 'EnvMatchError') throw new UsageError(`--env: ${err.message}`);
    throw err;
  }
}

function envsTable(envs: DiscoveredEnv[], cluster: string): string {
  if (envs.length === 0)
    return `No Python environments found on ${cluster} (conda envs, venvs under the configured venvRoots, python modules).`;
  const rows = envs.map(e => [
    e.kind,
    e.name,
    e.pythonVersion ?? '-',
    e.ipykernel === null ? '?' : e.ipykernel ? 'yes' : 'no',
    e.kernels.map(k => k.name).join(',') || '-',
    e.prefix ?? '-'
  ]);
  const broken = envs.flatMap(e => e.brokenKernels.map(b => `warning: kernelspec ${b.path}: ${b.problem}`));
  return [
    table(['KIND', 'NAME', 'PYTHON', 'IPYKERNEL', 'KERNELS', 'PREFIX'], rows),
    ...(broken.length ? ['', ...broken] : []),
    '',
    `Add one: hpclab kernels add --cluster ${cluster} --env NAME --profile P  (an env's own kernel: --env NAME --kernel K)`
  ].join('\n');
}
