import { getCluster, getProfile } from '../config/load';
import { envSchema, NAME_PATTERN, type EnvConfig, type HpclabConfig } from '../config/schema';
import { DEFAULT_VENV_ROOTS } from '../kernels/discovery';

/*
 * What `hpclab envs create` and `POST /api/envs` may ask for, checked before anything runs on
 * the cluster. Every refusal names its field and says what to do instead, so the CLI can print
 * it after `--<field>:` and the API can put it in `fields`.
 */

/** What a caller asks for, as the CLI's flags and the API's body carry it. */
export interface CreateEnvRequest {
  /** Defaults to the profile's cluster, else the config's default cluster, else the only one. */
  cluster?: string;
  name: string;
  /** The profile the kernel is registered with; defaults as `resolveTarget` says. */
  profile?: string;
  /** The interpreter that makes the venv: an absolute path or a command name (default python3). */
  python?: string;
  /** A module loaded before anything runs (`module load M`), e.g. python/3.11. */
  module?: string;
  /** The text of a requirements file, installed with `pip install -r`. */
  requirements?: string;
  conda?: boolean;
  systemSitePackages?: boolean;
  /** Where the env goes on the cluster: absolute or `~/…`; default `<first venvRoots entry>/<name>`. */
  path?: string;
}

/** A request that cannot be carried out as asked; `field` is the request's key (`name`, `path`, …). */
export class EnvInputError extends Error {
  name = 'EnvInputError';
  constructor(
    readonly field: keyof CreateEnvRequest,
    message: string
  ) {
    super(message);
  }
}

/** A checked request: every default filled in, every value safe to pass as one argv word. */
export interface EnvPlan {
  cluster: string;
  name: string;
  profile: string;
  /** As asked, absolute or `~/…`; the cluster resolves `~` (its $HOME is not known here). */
  path: string;
  kind: 'venv' | 'conda';
  /** The interpreter that makes a venv (unused for conda). */
  python: string;
  module?: string;
  requirements?: string;
  systemSitePackages: boolean;
}

/** Requirements longer than this are refused: a requirements file is text, not a package. */
export const REQUIREMENTS_MAX = 256 * 1024;
const DEFAULT_PYTHON = 'python3';

// Absolute or under the home directory; no "." or ".." segments (the path says where it goes),
// no control characters (one line of a script's argument, one line of a log).
const ENV_PATH = /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))(?:\/|~\/)[^\x00-\x1f\x7f]*$/;

/** Refuses what cannot be an env directory of its own; returns the path without trailing slashes. */
export function checkEnvPath(field: 'path', value: string, what = 'path'): string {
  if (!ENV_PATH.test(value) || value.length > 4096)
    throw new EnvInputError(
      field,
      `${what} ${JSON.stringify(value)}: use an absolute path or one starting with "~/", without "." or ".." parts or control characters`
    );
  const trimmed = value.replace(/\/+$/, '');
  if (trimmed === '' || trimmed === '~')
    throw new EnvInputError(field, `${what} ${JSON.stringify(value)}: name a directory of its own, e.g. ~/.venvs/NAME`);
  return trimmed;
}

/** The env's directory when none is asked for: the first configured venvRoots entry, where discovery looks. */
export function defaultEnvPath(config: HpclabConfig, cluster: string, name: string): string {
  const root = getCluster(config, cluster).venvRoots?.[0] ?? DEFAULT_VENV_ROOTS[0];
  return checkEnvPath(
    'path',
    `${root.replace(/\/+$/, '')}/${name}`,
    `the default path (venvRoots[0] of cluster ${cluster})`
  );
}

/**
 * The cluster and the profile the kernel is registered with. A profile named in the request
 * wins; else the config's default profile when it is for this cluster; else the cluster's only
 * profile. Unknown names are ConfigErrors (the API maps them to 404).
 */
export function resolveTarget(
  config: HpclabConfig,
  request: Pick<CreateEnvRequest, 'cluster' | 'profile'>
): { cluster: string; profile: string } {
  const profiles = config.profiles ?? {};
  let cluster = request.cluster;
  if (request.profile !== undefined) {
    const profile = getProfile(config, request.profile);
    cluster ??= profile.cluster;
    getCluster(config, cluster);
    return { cluster, profile: request.profile };
  }
  if (cluster === undefined) {
    const names = Object.keys(config.clusters);
    cluster = config.defaults?.cluster ?? (names.length === 1 ? names[0] : undefined);
    if (cluster === undefined)
      throw new EnvInputError('cluster', `pick one of ${names.join(', ') || '(none configured)'}`);
  }
  getCluster(config, cluster);
  const own = Object.keys(profiles).filter(p => profiles[p].cluster === cluster);
  const preferred = config.defaults?.profile;
  if (preferred !== undefined && own.includes(preferred)) return { cluster, profile: preferred };
  if (own.length === 1) return { cluster, profile: own[0] };
  throw new EnvInputError(
    'profile',
    own.length === 0
      ? `no profile runs on cluster ${cluster}: add one (hpclab init, or "Edit profiles" in the sidebar), then name it`
      : `pick the profile the kernel runs with: one of ${own.join(', ')}`
  );
}

/** Checks a request and fills in its defaults; throws EnvInputError (or ConfigError for unknown names). */
export function planEnv(config: HpclabConfig, request: CreateEnvRequest): EnvPlan {
  if (!NAME_PATTERN.test(request.name))
    throw new EnvInputError(
      'name',
      `${JSON.stringify(request.name)} is not a usable name: use letters, digits, "_", "." and "-", starting with a letter or digit, at most 64 characters (e.g. torch-2.3)`
    );
  const conda = request.conda === true;
  if (conda && request.python !== undefined)
    throw new EnvInputError(
      'python',
      'not with conda: conda brings its own python (leave --python out, or drop --conda)'
    );
  if (conda && request.systemSitePackages === true)
    throw new EnvInputError('systemSitePackages', 'only for venvs: a conda env does not see the system site-packages');
  if (request.requirements !== undefined && request.requirements.length > REQUIREMENTS_MAX)
    throw new EnvInputError('requirements', `longer than ${REQUIREMENTS_MAX / 1024} KiB: is it a requirements file?`);
  if (request.requirements?.includes('\0'))
    throw new EnvInputError('requirements', 'contains NUL bytes: give a text file of requirements, one a line');
  const python = request.python ?? DEFAULT_PYTHON;
  // The same rules as a profile's env in config.json: the env is registered with those words.
  checkEnvShape({ python }, 'python');
  if (request.module !== undefined) checkEnvShape({ modules: [request.module] }, 'module');
  const { cluster, profile } = resolveTarget(config, request);
  const path =
    request.path !== undefined ? checkEnvPath('path', request.path) : defaultEnvPath(config, cluster, request.name);
  const requirements = request.requirements?.trim() ? request.requirements : undefined;
  return {
    cluster,
    name: request.name,
    profile,
    path,
    kind: conda ? 'conda' : 'venv',
    python,
    ...(request.module !== undefined ? { module: request.module } : {}),
    ...(requirements !== undefined ? { requirements } : {}),
    systemSitePackages: request.systemSitePackages === true
  };
}

function checkEnvShape(candidate: Record<string, unknown>, field: 'python' | 'module'): void {
  const parsed = envSchema.safeParse(candidate);
  if (!parsed.success) {
    const message = parsed.error.issues[0]?.message ?? 'not allowed';
    throw new EnvInputError(
      field,
      field === 'module'
        ? `${message} (the name as \`module avail\` shows it)`
        : `${message} (the interpreter that makes the venv)`
    );
  }
}

/**
 * How the kernel activates the new env, in config.json's words. A venv made from a module's
 * python needs that module at run time too (its libpython often lives there), so it is
 * registered as the module plus the venv's python, which is what a user's `module load M;
 * source venv/bin/activate` does.
 */
export function kernelEnvOf(plan: Pick<EnvPlan, 'kind' | 'module'>, prefix: string): EnvConfig {
  const candidate =
    plan.module !== undefined
      ? { modules: [plan.module], python: `${prefix}/bin/python` }
      : plan.kind === 'conda'
        ? { conda: prefix }
        : { venv: prefix };
  return envSchema.parse(candidate);
}
