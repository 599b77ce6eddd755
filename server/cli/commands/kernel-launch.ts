import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { getProfile, issuesToProblems } from '../../config/load';
import { envSchema, type EnvConfig } from '../../config/schema';
import { parseConnectionFile } from '../../kernels/connection-file';
import { parseRemoteKernelSpec, type RemoteKernelSpec } from '../../kernels/remote-kernel';
import { runKernelClient } from '../kernel-client';
import { ensureLocalCompanion } from '../local-companion';
import { openContext, UsageError } from '../context';
import { defineCommand } from '../args';

/** What a hpclab kernelspec's argv runs; Jupyter passes the connection file last. */
export const kernelLaunchCommand = defineCommand({
  name: 'kernel-launch',
  summary: 'Run a Jupyter kernel on a compute node (what hpclab kernelspecs call)',
  usage: [
    'hpclab kernel-launch --profile P [--cluster C] [--env JSON] [--kernel JSON] [--config FILE] CONNECTION_FILE'
  ],
  description:
    "What the argv of a kernelspec written by 'hpclab kernels add' runs; you rarely type it. It asks your companion (started in the background if none runs) for an allocation, starts the kernel there, and relays Jupyter's five channels to it. The same connection file finds the same allocation again after a restart.",
  flags: {
    profile: { type: 'string', value: 'P', description: 'the profile to allocate with (required)' },
    cluster: { type: 'string', value: 'C', description: "the cluster, if not the profile's" },
    env: {
      type: 'string',
      value: 'JSON',
      description: 'the environment to run the kernel in, e.g. {"venv": "/home/me/venv"} (default: the profile\'s)'
    },
    kernel: {
      type: 'string',
      value: 'JSON',
      description:
        'the env\'s own kernelspec to run instead of hpclab\'s Python kernel, as \'hpclab kernels add --kernel\' records it: {"name", "argv" (with {connection_file}), "language", "interruptMode", "env"}'
    }
  },
  arguments: [
    {
      name: 'CONNECTION_FILE',
      description: 'the kernel connection file Jupyter passes ({connection_file} in kernel.json)'
    }
  ],
  examples: [
    {
      description: 'What a kernelspec for the profile "gpu" runs (Jupyter fills in the file)',
      command: 'hpclab kernel-launch --profile gpu ~/.local/share/jupyter/runtime/kernel-1234.json'
    }
  ],
  env: ['HPCLAB_CONFIG', 'XDG_CONFIG_HOME', 'XDG_STATE_HOME', 'XDG_RUNTIME_DIR', 'SSH_AUTH_SOCK', 'SHELL'],
  async run({ values, positionals }) {
    if (!values.profile)
      throw new UsageError(
        '--profile: name the profile to run the kernel with, e.g. --profile gpu (hpclab kernels list shows the kernels you added and their profiles)'
      );
    if (positionals.length !== 1)
      throw new UsageError('CONNECTION_FILE: give exactly one connection file (Jupyter passes {connection_file})');
    const env = values.env === undefined ? undefined : parseEnvFlag(values.env);
    const kernel = values.kernel === undefined ? undefined : parseKernelFlag(values.kernel);
    const ctx = await openContext(values.config);
    await ctx.clusters.close(); // the companion holds the connections
    getProfile(ctx.config, values.profile); // an unknown profile fails here, with the names that exist
    const cluster = values.cluster ?? getProfile(ctx.config, values.profile).cluster;
    const connectionFile = path.resolve(positionals[0]);
    const local = parseConnectionFile(await fs.readFile(connectionFile, 'utf8'), connectionFile);
    // Jupyter keeps the connection file across restarts: the same file finds the same allocation.
    const kernelId = `k${createHash('sha256')
      .update(
        `${cluster}\n${values.profile}\n${values.env ?? ''}\n${connectionFile}${kernel ? `\n${values.kernel}` : ''}`
      )
      .digest('hex')
      .slice(0, 15)}`;
    const log = (message: string) => process.stderr.write(`${message}\n`);
    const companion = await ensureLocalCompanion(ctx.configPath, log);
    const client = runKernelClient({
      companion,
      local,
      log,
      reconnect: () => ensureLocalCompanion(ctx.configPath, log),
      // `kernel` is a field a companion older than --kernel refuses (its schema is strict), which
      // is the right answer: it would start Python instead.
      request: {
        kernelId,
        profile: values.profile,
        cluster,
        env,
        ...(kernel ? { kernel } : {}),
        key: local.key,
        signatureScheme: local.signature_scheme,
        notebookDir: notebookDir()
      }
    });
    const onSignal = () => {
      log('hpclab: stopping the kernel and releasing its allocation');
      client.stop();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    try {
      return await client.done;
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
  }
});

/** `--kernel '{"name": "ir", "argv": [...], ...}'`: the remote kernelspec from `kernels add --kernel`. */
export function parseKernelFlag(text: string): RemoteKernelSpec {
  try {
    return parseRemoteKernelSpec(text, '--kernel');
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** `--env '{"venv": "/path"}'`: the environment a kernelspec from `kernels add --env` runs in. */
function parseEnvFlag(text: string): EnvConfig {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UsageError(`--env: expected JSON like {"venv": "/home/me/venv"}, got ${JSON.stringify(text)}`);
  }
  const parsed = envSchema.safeParse(data);
  if (!parsed.success)
    throw new UsageError(
      `--env: ${issuesToProblems(parsed.error.issues)
        .map(p => `${p.path ? `${p.path}: ` : ''}${p.message}`)
        .join('; ')}`
    );
  return parsed.data;
}

/**
 * The notebook's folder: Jupyter starts a kernel in it, and names the notebook in
 * JPY_SESSION_NAME (an absolute path on recent servers, relative to the root on older ones, so
 * only an absolute one is trusted over the working directory).
 */
export function notebookDir(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const named = env.JPY_SESSION_NAME;
  if (named && path.isAbsolute(named)) return path.dirname(named);
  return cwd;
}
