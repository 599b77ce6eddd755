import { readFile } from 'node:fs/promises';
import * as os from 'node:os';
import { EnvCreator, type EnvProgress } from '../../envs/env-creator';
import { EnvInputError, REQUIREMENTS_MAX, type CreateEnvRequest } from '../../envs/env-input';
import { KernelspecService } from '../../kernels/kernelspec-service';
import { kernelsDir } from '../../kernels/kernelspec';
import { defineCommand } from '../args';
import { openContext, UsageError, type CliContext } from '../context';
import { CLI_ENTRY } from '../entry-path';
import { didYouMean } from '../suggest';

const USAGE = [
  'hpclab envs create --name N [--cluster C] [--profile P] [--python PATH | --module M] [--requirements FILE] [--conda] [--system-site-packages] [--path DIR] [--json] [--config FILE]'
];
const ACTIONS = ['create'];

/** The flag each request field comes from, for messages that name what to change. */
const FLAG_OF: Record<keyof CreateEnvRequest, string> = {
  cluster: '--cluster',
  name: '--name',
  profile: '--profile',
  python: '--python',
  module: '--module',
  requirements: '--requirements',
  conda: '--conda',
  systemSitePackages: '--system-site-packages',
  path: '--path'
};

export const envsCommand = defineCommand({
  name: 'envs',
  summary: 'Make a Python environment on a cluster and register it as a kernel',
  usage: USAGE,
  description:
    "create makes a venv (python -m venv), or with --conda a conda env (conda create --prefix), on the cluster's login node (compute nodes often have no internet), installs ipykernel unless the new env can already import it (with --system-site-packages it often can), installs --requirements with pip, and registers the env as a kernel of the profile, as hpclab kernels add --env does. pip's output is shown as it comes. A failed step removes the directory it made and registers nothing.",
  flags: {
    name: {
      type: 'string',
      value: 'N',
      description: 'the env\'s name: letters, digits, "_", "." and "-" (also its directory\'s name by default)'
    },
    cluster: {
      type: 'string',
      value: 'C',
      description: "the cluster (default: the profile's, else defaults.cluster, else the only one)"
    },
    profile: {
      type: 'string',
      value: 'P',
      description:
        "the kernel's profile (default: defaults.profile if it is the cluster's, else the cluster's only one)"
    },
    python: {
      type: 'string',
      value: 'PATH',
      description: 'the python that makes the venv: an absolute path or a command name (default python3)'
    },
    module: {
      type: 'string',
      value: 'M',
      description: 'module load M first (e.g. python/3.11); the kernel loads it too'
    },
    requirements: {
      type: 'string',
      value: 'FILE',
      description: 'a requirements file on this machine, copied into the env and installed with pip install -r'
    },
    conda: { type: 'boolean', description: 'make a conda env instead of a venv (needs conda on the login node)' },
    'system-site-packages': {
      type: 'boolean',
      description: "let the venv see the python's own packages (ipykernel among them, on many clusters)"
    },
    path: {
      type: 'string',
      value: 'DIR',
      description:
        'where the env goes on the cluster: absolute or ~/… (default: <first venvRoots entry or ~/.venvs>/<name>)'
    },
    json: { type: 'boolean', description: 'print the env and its kernelspec as JSON (progress still goes to stderr)' }
  },
  arguments: [{ name: 'create', description: 'what to do' }],
  examples: [
    {
      description: "A venv seeing the cluster python's packages, with a project's requirements",
      command:
        'hpclab envs create --cluster mycluster --name analysis --system-site-packages --requirements requirements.txt'
    },
    {
      description: "A venv from a module's python, registered with the profile gpu",
      command: 'hpclab envs create --name torch --module python/3.11 --profile gpu'
    }
  ],
  env: ['HPCLAB_CONFIG', 'XDG_CONFIG_HOME', 'JUPYTER_DATA_DIR', 'XDG_DATA_HOME', 'SSH_AUTH_SOCK', 'SHELL', 'CI'],
  async run({ values, positionals }) {
    const [action, ...rest] = positionals;
    if (action !== 'create' || rest.length > 0)
      throw new UsageError(
        `${action === undefined ? 'give an action' : `unknown envs action "${[action, ...rest].join(' ')}"${didYouMean(action, ACTIONS)}`}: use create\nusage: ${USAGE[0]}`
      );
    if (values.name === undefined)
      throw new UsageError('--name: name the environment, e.g. hpclab envs create --name analysis');
    const requirements = values.requirements === undefined ? undefined : await readRequirements(values.requirements);
    const request: CreateEnvRequest = {
      name: values.name,
      ...(values.cluster !== undefined ? { cluster: values.cluster } : {}),
      ...(values.profile !== undefined ? { profile: values.profile } : {}),
      ...(values.python !== undefined ? { python: values.python } : {}),
      ...(values.module !== undefined ? { module: values.module } : {}),
      ...(requirements !== undefined ? { requirements } : {}),
      ...(values.path !== undefined ? { path: values.path } : {}),
      conda: values.conda === true,
      systemSitePackages: values['system-site-packages'] === true
    };
    const ctx = await openContext(values.config);
    try {
      return await create(ctx, request, values.json === true);
    } finally {
      await ctx.clusters.close();
    }
  }
});

async function readRequirements(file: string): Promise<string> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (err) {
    throw new UsageError(`--requirements: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (data.length > REQUIREMENTS_MAX)
    throw new UsageError(
      `--requirements: ${file} is larger than ${REQUIREMENTS_MAX / 1024} KiB: give a requirements file`
    );
  return data.toString('utf8');
}

async function create(ctx: CliContext, request: CreateEnvRequest, json: boolean): Promise<number> {
  // The config the kernel was made with, unless it was the default one (found the same way later).
  const configPath = ctx.configSource === 'default' || ctx.configSource === 'xdg' ? undefined : ctx.configPath;
  const creator = new EnvCreator({
    config: ctx.config,
    transport: cluster => ctx.clusters.get(cluster).transport,
    kernelspecs: new KernelspecService({
      config: ctx.config,
      kernelsDir: kernelsDir(process.env, os.homedir()),
      hpclab: [process.execPath, CLI_ENTRY],
      configPath
    })
  });
  const abort = new AbortController();
  // Ctrl-C ends the running step and removes what was made, instead of leaving half an env.
  const onSignal = () => {
    process.stderr.write('hpclab envs: stopping, and removing what was made\n');
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  try {
    const plan = creator.plan(request);
    const made = await creator.create(plan, { onProgress: printProgress, signal: abort.signal });
    process.stdout.write(
      json
        ? JSON.stringify(made, null, 2) + '\n'
        : `Made ${made.kind} ${made.name} at ${made.cluster}:${made.path} in ${made.seconds} s; ${made.kernelspec.created ? 'added' : 'updated'} kernel "${made.kernelspec.displayName}" as ${made.kernelspec.name} (${made.kernelspec.path})\n`
    );
    return 0;
  } catch (err) {
    if (err instanceof EnvInputError) throw new UsageError(`${FLAG_OF[err.field]}: ${err.message}`);
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
  }
}

function printProgress(event: EnvProgress): void {
  process.stderr.write(event.type === 'step' ? `hpclab envs: ${event.message}\n` : `  ${event.line}\n`);
}
