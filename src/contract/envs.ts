import * as z from 'zod/mini';

/*
 * `POST /api/envs`: make a Python environment on a cluster's login node and register it as a
 * kernel. The reply is a stream (application/x-ndjson), one event a line: each step as it
 * starts, every line pip (or venv, conda) prints, then `done` or `error`.
 */

/** `POST /api/envs`. The companion's zod schema satisfies this type. */
export interface CreateEnvBody {
  /** Default: the profile's cluster, else the config's default, else the only one. */
  cluster?: string;
  name: string;
  /** The kernel's profile; default: the config's default profile if it is the cluster's, else the cluster's only one. */
  profile?: string;
  /** The python that makes the venv: an absolute path or a command name (default python3). */
  python?: string;
  /** `module load` this first, e.g. python/3.11 (the kernel loads it too). */
  module?: string;
  /** The text of a requirements file, installed with `pip install -r`. */
  requirements?: string;
  conda?: boolean;
  systemSitePackages?: boolean;
  /** Absolute or `~/…`; default `<first venvRoots entry or ~/.venvs>/<name>`. */
  path?: string;
}

export const envStepSchema = z.enum(['prepare', 'create', 'ipykernel', 'requirements', 'register', 'rollback']);
export type EnvStep = z.infer<typeof envStepSchema>;

/** The env made, and the kernelspec it was registered as. */
export const createdEnvSchema = z.object({
  cluster: z.string(),
  name: z.string(),
  kind: z.enum(['venv', 'conda']),
  /** The env's directory on the cluster, absolute. */
  path: z.string(),
  /** How the kernel activates it: the config's env object. */
  env: z.record(z.string(), z.unknown()),
  kernelspec: z.object({ name: z.string(), displayName: z.string(), path: z.string(), created: z.boolean() }),
  installedIpykernel: z.boolean(),
  seconds: z.number()
});
export type CreatedEnv = z.infer<typeof createdEnvSchema>;

export const envCreateEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('step'), step: envStepSchema, message: z.string() }),
  z.object({ type: z.literal('output'), step: envStepSchema, line: z.string() }),
  z.object({ type: z.literal('done'), env: createdEnvSchema }),
  /**
   * The env was not made. `field` names the request's key to change when that is the fix (an
   * existing directory: `path`); `tail` holds the failed step's last lines; `rolledBack` says
   * whether what was made is gone again.
   */
  z.object({
    type: z.literal('error'),
    message: z.string(),
    step: z.optional(envStepSchema),
    field: z.optional(z.string()),
    tail: z.array(z.string()),
    rolledBack: z.boolean()
  })
]);
export type EnvCreateEvent = z.infer<typeof envCreateEventSchema>;
