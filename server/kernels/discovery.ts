import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { ensurePrivateDir, writePrivateFileAtomic } from '../config/paths';
import { envSchema, type EnvConfig } from '../config/schema';
import type { Transport } from '../transport/types';
import { DISCOVERY_END, DISCOVERY_HEADER, DISCOVERY_KINDS, discoveryArgv } from './discovery-script';
import {
  discoveredKernelSchema,
  parseKernelspecLine,
  type BrokenKernelspec,
  type DiscoveredKernel
} from './discovery-kernelspecs';

export type { BrokenKernelspec, DiscoveredKernel } from './discovery-kernelspecs';

/** One environment on the cluster that could run a kernel, and the config that activates it. */
export interface DiscoveredEnv {
  kind: 'conda' | 'venv' | 'module';
  /** What users see and type: conda env name (`base` for the root), venv directory (`group/name` two deep), module name. */
  name: string;
  prefix: string | null;
  python: string | null;
  /** `major.minor`, or null when the check failed or did not run (modules). */
  pythonVersion: string | null;
  /** Whether ipykernel is importable there; null when unknown. */
  ipykernel: boolean | null;
  env: EnvConfig;
  /** The Jupyter kernelspecs inside the env (`<prefix>/share/jupyter/kernels/*`), by name. */
  kernels: DiscoveredKernel[];
  /** Kernelspecs there that cannot be used, with their kernel.json path and why. */
  brokenKernels: BrokenKernelspec[];
}

/** The caller does not know the remote $HOME; the script replaces `~/` with it. */
export const DEFAULT_VENV_ROOTS = ['~/.venvs', '~/venvs', '~/.virtualenvs', '~/envs'];
const DEFAULT_TIMEOUT_MS = 90_000;

/** Discovery output that cannot be trusted, or a discovery run that failed. */
export class DiscoveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiscoveryError';
  }
}

/** A query that names no environment, or more than one. */
export class EnvMatchError extends Error {
  constructor(
    message: string,
    readonly candidates: DiscoveredEnv[]
  ) {
    super(message);
    this.name = 'EnvMatchError';
  }
}

const ABSOLUTE = /^\/[^\x00-\x1f\x7f]*$/;
const VERSION = /^\d+\.\d+$/;

/**
 * The EnvConfig that activates an env. Conda envs go by prefix, base included: the batch job
 * may find a different conda than discovery did, and a name resolves through envs_dirs, while
 * a prefix means one directory everywhere.
 */
function activation(kind: DiscoveredEnv['kind'], name: string, prefix: string | null): EnvConfig | undefined {
  const candidate = kind === 'conda' ? { conda: prefix } : kind === 'venv' ? { venv: prefix } : { modules: [name] };
  // The same rules as config.json, so a discovered env can be written into a profile as is.
  const parsed = envSchema.safeParse(candidate);
  return parsed.success ? parsed.data : undefined;
}

/** One `env` line, or undefined for anything malformed (skipped, as a newer script's extra kinds would be). */
function parseLine(line: string): DiscoveredEnv | undefined {
  const f = line.split('\t');
  if (f.length !== 7 || f[0] !== 'env') return undefined;
  const [, kindField, name, prefixField, pythonField, version, flag] = f;
  const kind = DISCOVERY_KINDS.find(k => k === kindField);
  if (!kind || name === '' || /[\x00-\x1f\x7f]/.test(name)) return undefined;
  const prefix = prefixField === '' ? null : prefixField;
  const python = pythonField === '' ? null : pythonField;
  if (
    kind === 'module'
      ? prefix !== null || python !== null
      : prefix === null || !ABSOLUTE.test(prefix) || python === null
  )
    return undefined;
  if (python !== null && !ABSOLUTE.test(python)) return undefined;
  const env = activation(kind, name, prefix);
  if (!env) return undefined;
  return {
    kind,
    name,
    prefix,
    python,
    pythonVersion: VERSION.test(version) ? version : null,
    ipykernel: flag === '1' ? true : flag === '0' ? false : null,
    env,
    kernels: [],
    brokenKernels: []
  };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Files a `kernelspec` line under its env (by prefix); a duplicate listing of a prefix adds nothing twice. */
function addKernelspec(byKey: Map<string, DiscoveredEnv>, line: string): void {
  const found = parseKernelspecLine(line);
  if (!found) return;
  const env = byKey.get(found.prefix);
  if (!env) return;
  const { result } = found;
  if ('problem' in result) {
    if (!env.brokenKernels.some(b => b.path === result.path)) env.brokenKernels.push(result);
  } else if (!env.kernels.some(k => k.name === result.name)) env.kernels.push(result);
}

/**
 * Reads the discovery script's output: lines after the header up to `end`, one env each,
 * deduplicated by prefix (overlapping venv roots list a venv twice) and by name for modules,
 * sorted by kind then name. Text before the header (login banners) and malformed lines are
 * ignored; a missing header or `end` means the output cannot be trusted and throws.
 */
export function parseDiscovery(stdout: string): DiscoveredEnv[] {
  const lines = stdout.split('\n');
  const start = lines.indexOf(DISCOVERY_HEADER);
  if (start < 0)
    throw new DiscoveryError(
      'the discovery output has no "hpclab-discovery 1" header (a different script version, or the remote shell printed something else)'
    );
  const end = lines.indexOf(DISCOVERY_END, start + 1);
  if (end < 0) throw new DiscoveryError('the discovery output ended before its "end" line (was it cut short?)');
  const byKey = new Map<string, DiscoveredEnv>();
  const envs: DiscoveredEnv[] = [];
  for (const line of lines.slice(start + 1, end)) {
    if (line.startsWith('kernelspec\t')) {
      addKernelspec(byKey, line);
      continue;
    }
    const env = parseLine(line);
    if (!env) continue;
    const key = env.prefix ?? `module\t${env.name}`;
    if (byKey.has(key)) continue;
    byKey.set(key, env);
    envs.push(env);
  }
  for (const env of envs) env.kernels.sort((a, b) => compare(a.name, b.name));
  const order = (k: DiscoveredEnv['kind']) => DISCOVERY_KINDS.indexOf(k);
  return envs.sort(
    (a, b) => order(a.kind) - order(b.kind) || compare(a.name, b.name) || compare(a.prefix ?? '', b.prefix ?? '')
  );
}

export interface DiscoverOptions {
  /** Default DEFAULT_VENV_ROOTS. */
  venvRoots?: string[];
  /** Whole run, default 90 s; each step inside has its own cap too. */
  timeoutMs?: number;
  /** List python-like modules (default true). */
  moduleNames?: boolean;
}

/** Runs discovery on the cluster: one exec, whatever the number of environments. */
export async function discoverEnvs(transport: Transport, options: DiscoverOptions = {}): Promise<DiscoveredEnv[]> {
  const argv = discoveryArgv({ venvRoots: options.venvRoots ?? DEFAULT_VENV_ROOTS, moduleNames: options.moduleNames });
  const result = await transport.exec(argv, { timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS });
  if (result.code !== 0) {
    const why =
      result.stderr.trim().split('\n').slice(-3).join(' / ') ||
      (result.signal ? `killed by ${result.signal}` : `exit code ${result.code}`);
    throw new DiscoveryError(`environment discovery failed on ${transport.cluster}: ${why}`);
  }
  return parseDiscovery(result.stdout);
}

function label(env: DiscoveredEnv): string {
  return `${env.kind}:${env.name}${env.prefix ? ` (${env.prefix})` : ''}`;
}

function listOf(envs: DiscoveredEnv[], max = 20): string {
  const shown = envs.slice(0, max).map(e => `  ${label(e)}`);
  if (envs.length > max) shown.push(`  … and ${envs.length - max} more`);
  return shown.join('\n');
}

/**
 * The one env `query` names: an absolute path (prefix or python), `kind:name`, or a name.
 * Throws EnvMatchError listing the candidates when none or several match.
 */
export function matchEnv(envs: DiscoveredEnv[], query: string): DiscoveredEnv {
  const q = query.trim();
  let matches: DiscoveredEnv[];
  if (q.startsWith('/')) {
    const p = q.replace(/(.)\/+$/, '$1');
    matches = envs.filter(e => e.prefix === p || e.python === p);
  } else {
    const typed = /^(conda|venv|module):(.+)$/.exec(q);
    matches = typed ? envs.filter(e => e.kind === typed[1] && e.name === typed[2]) : envs.filter(e => e.name === q);
  }
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) {
    throw new EnvMatchError(
      `"${q}" matches ${matches.length} environments; name one by its prefix or as kind:name:\n${listOf(matches)}`,
      matches
    );
  }
  const known = envs.length === 0 ? ' (discovery found none)' : `; found:\n${listOf(envs)}`;
  throw new EnvMatchError(`no environment "${q}"${known}`, envs);
}

const discoveredSchema = z.object({
  kind: z.enum(DISCOVERY_KINDS),
  name: z.string().min(1),
  prefix: z.string().nullable(),
  python: z.string().nullable(),
  pythonVersion: z.string().nullable(),
  ipykernel: z.boolean().nullable(),
  env: envSchema,
  kernels: z.array(discoveredKernelSchema),
  brokenKernels: z.array(z.object({ path: z.string(), problem: z.string() }))
});
// Version 2 added the kernelspecs inside envs; a version 1 file reads as absent and is asked again.
const cacheSchema = z.object({
  version: z.literal(2),
  clusters: z.record(z.string(), z.object({ savedAt: z.number(), envs: z.array(discoveredSchema) }))
});
type CacheFile = z.output<typeof cacheSchema>;

/**
 * Discovery results per cluster in one private JSON file, so a kernel picker opens without
 * asking the cluster. A cache is only a hint: anything unreadable, of another version or too
 * old reads as absent, and two processes writing at once lose one update, never the file.
 */
export class DiscoveryCache {
  private readonly now: () => number;

  constructor(
    readonly file: string,
    options: { now?: () => number } = {}
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The envs saved for `cluster` at most `maxAgeMs` ago, else undefined. */
  async get(cluster: string, maxAgeMs: number): Promise<DiscoveredEnv[] | undefined> {
    const entry = (await this.read())?.clusters;
    if (!entry || !Object.hasOwn(entry, cluster)) return undefined;
    const age = this.now() - entry[cluster].savedAt;
    // A clock that went backwards makes the age negative: trust nothing then.
    return age >= 0 && age <= maxAgeMs ? entry[cluster].envs : undefined;
  }

  async put(cluster: string, envs: DiscoveredEnv[]): Promise<void> {
    const clusters = { ...(await this.read())?.clusters, [cluster]: { savedAt: this.now(), envs } };
    await ensurePrivateDir(path.dirname(this.file));
    await writePrivateFileAtomic(
      this.file,
      `${JSON.stringify({ version: 2, clusters } satisfies CacheFile, null, 2)}\n`
    );
  }

  private async read(): Promise<CacheFile | undefined> {
    try {
      const parsed = cacheSchema.safeParse(JSON.parse(await fs.readFile(this.file, 'utf8')));
      return parsed.success ? parsed.data : undefined;
    } catch {
      // Missing, unreadable or not JSON: a cache miss; discovery asks the cluster and put() rewrites it.
      return undefined;
    }
  }
}
