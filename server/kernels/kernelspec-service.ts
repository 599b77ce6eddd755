import { getCluster, getProfile } from '../config/load';
import type { EnvConfig, HpclabConfig } from '../config/schema';
import type { Transport } from '../transport/types';
import type { DiscoveredKernel } from './discovery-kernelspecs';
import { toRemoteSpec } from './discovery-kernelspecs';
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
import { PNG_SIGNATURE } from './logo';

/** What `hpclab kernels add` and `POST /api/kernelspecs` ask for. */
export interface AddKernelRequest {
  profile: string;
  /** Defaults to the profile's cluster. */
  cluster?: string;
  /** A discovered environment to run the kernel in, instead of the profile's. */
  env?: EnvConfig;
  name?: string;
  displayName?: string;
  /** One of the env's own kernelspecs (discovery lists them) to run instead of hpclab's ipykernel start. */
  kernel?: DiscoveredKernel;
}

/** Larger than any kernel logo (IRkernel's is 5 KiB); a bigger file is not one, and hpclab's is used. */
const LOGO_MAX_BYTES = 256 * 1024;

export interface KernelspecServiceOptions {
  config: HpclabConfig;
  /** Where Jupyter looks for kernelspecs (kernelsDir()). */
  kernelsDir: string;
  /** How to run hpclab: [node, absolute path of the CLI's main.js]. */
  hpclab: string[];
  /** Passed to kernel-launch as --config when the config was named explicitly. */
  configPath?: string;
  /** Reaches a cluster to copy a remote kernel's logo; without it hpclab's logo is used. */
  transport?: (cluster: string) => Transport;
  /** Told when a remote logo cannot be copied (hpclab's is used instead). */
  warn?: (message: string) => void;
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
    const kernel = request.kernel ? toRemoteSpec(request.kernel) : undefined;
    // Jupyter fills `{connection_file}` (and `{resource_dir}`, `{prefix}`) into every argv word, this
    // JSON too, with local values: inside its strings the brace is written as the JSON escape
    // \u007b, which Jupyter does not see and JSON.parse reads back as "{". A `{` that opens an
    // object is followed by `"` or `}`, never by a name and `}`, so only strings change.
    const kernelJson = kernel ? JSON.stringify(kernel).replace(/\{(?=[A-Za-z0-9_]+\})/g, '\\u007b') : undefined;
    // Absolute paths: Jupyter runs this argv with its own PATH and working directory.
    const argv = [...this.o.hpclab, 'kernel-launch', '--profile', request.profile];
    if (request.cluster) argv.push('--cluster', cluster);
    if (envJson) argv.push('--env', envJson);
    if (kernelJson) argv.push('--kernel', kernelJson);
    if (this.o.configPath) argv.push('--config', this.o.configPath);
    argv.push('{connection_file}');
    // The kernel's name and directory, not its whole spec: re-adding after the env's kernel.json
    // changed (a new R) updates the same kernelspec.
    const envKey = kernel ? `${envJson ?? ''}\n${kernel.name}\n${kernel.resourceDir ?? ''}` : envJson;
    const name = request.name ?? defaultKernelName(cluster, request.profile, envKey);
    const existed = (await this.list()).some(k => k.name === name);
    const displayName =
      request.displayName ??
      describeKernel({
        cluster,
        profileName: request.profile,
        profile,
        env: request.env,
        kernelDisplayName: request.kernel?.displayName
      });
    const metadata = {
      profile: request.profile,
      cluster,
      ...(envJson ? { env: envJson } : {}),
      ...(kernel ? { kernel } : {})
    };
    const language = request.kernel?.language ?? 'python';
    const logo = request.kernel?.hasLogo ? await this.remoteLogo(cluster, request.kernel) : undefined;
    const path = await writeKernelspec({ dir: this.o.kernelsDir, name, argv, displayName, language, metadata, logo });
    return { name, displayName, argv, language, metadata: { ...metadata, version: 1 }, path, created: !existed };
  }

  /** The remote kernel's logo-64x64.png, or undefined (hpclab's logo) when it cannot be copied, with a warning. */
  private async remoteLogo(cluster: string, kernel: DiscoveredKernel): Promise<Buffer | undefined> {
    if (!this.o.transport) return undefined;
    const file = `${kernel.resourceDir}/logo-64x64.png`;
    try {
      const data = await this.o.transport(cluster).readFile(file, { maxBytes: LOGO_MAX_BYTES + 1 });
      if (data.length <= LOGO_MAX_BYTES && data.subarray(0, 8).equals(PNG_SIGNATURE)) return data;
      this.o.warn?.(`${file} is not a PNG of at most 256 KiB; the kernel gets hpclab's logo`);
    } catch (err) {
      // A logo is decoration: the kernel works without it, so say why and go on with hpclab's.
      this.o.warn?.(`cannot copy ${file} (${(err as Error).message}); the kernel gets hpclab's logo`);
    }
    return undefined;
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
