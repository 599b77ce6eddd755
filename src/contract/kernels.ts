import * as z from 'zod/mini';
import { nullableString } from './common';

/** A profile as the Request form and the launcher tiles show it (the config's own words). */
export const profileSchema = z.object({
  name: z.string(),
  cluster: z.string(),
  partition: z.optional(z.string()),
  gres: z.optional(z.string()),
  time: z.optional(z.string()),
  cpus: z.optional(z.number()),
  mem: z.optional(z.string()),
  account: z.optional(z.string()),
  qos: z.optional(z.string()),
  constraint: z.optional(z.string()),
  /** `python`, `conda`, `venv`, `modules` or `container`. */
  envKind: z.optional(z.string()),
  /** Its remote kernels save their variables (dill) at the first walltime warning. */
  checkpoint: z.optional(z.boolean()),
  /** It has a scratch workspace on the node, restored at start and backed up. */
  workspace: z.optional(z.boolean())
});
export type Profile = z.infer<typeof profileSchema>;

/** An hpclab kernelspec in Jupyter's kernel picker. */
export const kernelspecSchema = z.object({
  name: z.string(),
  displayName: z.string(),
  metadata: z.object({ profile: z.string(), cluster: z.string(), env: z.optional(z.string()) }),
  /** The kernelspec directory on the machine Jupyter runs on. */
  path: z.string()
});
export type Kernelspec = z.infer<typeof kernelspecSchema>;

/** `POST /api/kernelspecs`: the kernelspec, and whether it is new (201) or was updated (200). */
export const addedKernelspecSchema = z.extend(kernelspecSchema, { created: z.boolean() });

export const removedKernelspecSchema = z.object({ removed: z.string() });

/** An environment found on the cluster; `env` is the config's env object that selects it. */
export const discoveredEnvSchema = z.object({
  kind: z.enum(['conda', 'venv', 'module']),
  name: z.string(),
  prefix: nullableString,
  python: nullableString,
  pythonVersion: nullableString,
  ipykernel: z.nullable(z.boolean()),
  env: z.record(z.string(), z.unknown())
});
export type DiscoveredEnv = z.infer<typeof discoveredEnvSchema>;

/** `POST /api/kernelspecs`. The companion's zod schema satisfies this type. */
export interface AddKernelBody {
  profile: string;
  cluster?: string;
  env?: Record<string, unknown>;
  name?: string;
  displayName?: string;
}
