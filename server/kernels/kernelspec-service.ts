import { getCluster, getProfile } from '../config/load';
import type { EnvConfig, HpclabConfig } from '../config/schema';
import type { Transport } from '../transport/types';
import { DEFAULT_VENV_ROOTS, DiscoveryCache, discoverEnvs, type DiscoveredEnv } from './discovery';
import {
  checkKernelName,
  defaultKernelName,
  describeKernel,
  listKernelspecs,
  removeKernelspec,
  writeKernelspec,
  type HpclabKernelspec
} from './kernelspec';

/** What `hpclab kernels add` and `POST /api/kernelspecs` ask for. */
export interface AddKernelRequest {
  profile: string;
  /** Defaults to the profile's cluster. */
  cluster?: string;
  /** A discovered environment to run the kernel in, instead of the profile's. */
  env?: EnvConfig;
  name?: string;
  displayName?: string;
}

export interface KernelspecServiceOptions {
  config: HpclabConfig;
  /** Where Jupyter looks for kernelspecs (kernelsDir()). */
  kernelsDir: string;
  /** How to run hpclab: [node, absolute path of the CLI's main.js]. */
  hpclab: string[];
  /** Passed to kernel-launch as --config when the config was named explicitly. */
  configPath?: string;
}

/**
 * Kernelspecs for remote kernels, one way for the CLI and the API: a stable name from what the
 * kernel runs, a display name that says what and where, an argv Jupyter can run from anywhere.
 */
export class KernelspecService {
  constructor(private readonly o: KernelspecServiceOptions) {}

  list(): Promise<HpclabKernelspec[]> {
    return listKernelspecs(this.o.kernelsDir);
  }

  async add(request: AddKernelRequest): Promise<HpclabKernelspec & { created: boolean }> {
    const profile = getProfile(this.o.config, request.profile);
    const cluster = request.cluster ?? profile.cluster;
    getCluster(this.o.config, cluster);
    if (request.name !== undefined) checkKernelName(request.name);
    const envJson = request.env ? JSON.stringify(request.env) : undefined;
    // Absolute paths: Jupyter runs this argv with its own PATH and working directory.
    const argv = [...this.o.hpclab, 'kernel-launch', '--profile', request.profile];
    if (request.cluster) argv.push('--cluster', cluster);
    if (envJson) argv.push('--env', envJson);
    if (this.o.configPath) argv.push('--config', this.o.configPath);
    argv.push('{connection_file}');
    const name = request.name ?? defaultKernelName(cluster, request.profile, envJson);
    const existed = (await this.list()).some(k => k.name === name);
    const displayName =
      request.displayName ?? describeKernel({ cluster, profileName: request.profile, profile, env: request.env });
    const metadata = { profile: request.profile, cluster, ...(envJson ? { env: envJson } : {}) };
    const path = await writeKernelspec({
      dir: this.o.kernelsDir,
      name,
      argv,
      displayName,
      language: 'python',
      metadata
    });
    return { name, displayName, argv, metadata: { ...metadata, version: 1 }, path, created: !existed };
  }

  remove(name: string): Promise<string> {
    return removeKernelspec(this.o.kernelsDir, name);
  }
}

/** Discovery with its cache: a listing younger than `maxAgeMs` never asks the cluster. */
export class EnvDiscovery {
  private readonly cache: DiscoveryCache;

  constructor(
    private readonly o: { config: HpclabConfig; cacheFile: string; transport: (cluster: string) => Transport }
  ) {
    this.cache = new DiscoveryCache(o.cacheFile);
  }

  async envs(cluster: string, maxAgeMs: number): Promise<DiscoveredEnv[]> {
    const clusterConfig = getCluster(this.o.config, cluster);
    const fresh = maxAgeMs > 0 ? await this.cache.get(cluster, maxAgeMs) : undefined;
    if (fresh) return fresh;
    const envs = await discoverEnvs(this.o.transport(cluster), {
      venvRoots: clusterConfig.venvRoots ?? DEFAULT_VENV_ROOTS
    });
    await this.cache.put(cluster, envs);
    return envs;
  }
}
