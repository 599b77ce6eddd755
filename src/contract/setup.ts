import * as z from 'zod/mini';

/*
 * "Add a cluster" and "Edit profiles" (`hpclab init` from the sidebar).
 */

/**
 * A profile as written in config.json. Kept as a plain object: the form edits a few scalar
 * fields and must hand every other key (env, sbatch, command…) back exactly as it came.
 */
export const profileConfigSchema = z.record(z.string(), z.unknown());
export type ProfileConfig = z.infer<typeof profileConfigSchema>;

export const setupInfoSchema = z.object({
  configPath: z.string(),
  configured: z.boolean(),
  hosts: z.array(z.string())
});
export type SetupInfo = z.infer<typeof setupInfoSchema>;

export const discoverySchema = z.object({
  cluster: z.string(),
  host: z.string(),
  partitions: z.array(
    z.object({
      name: z.string(),
      default: z.boolean(),
      timeLimitSec: z.nullable(z.number()),
      gpus: z.array(z.string())
    })
  ),
  // null where the cluster has no accounting (no slurmdbd): nothing to choose then.
  associations: z.nullable(z.array(z.object({ account: z.string(), qos: z.array(z.string()) }))),
  envs: z.array(z.string()),
  profiles: z.record(z.string(), profileConfigSchema),
  existingProfiles: z.array(z.string()),
  slurmCalls: z.number(),
  seconds: z.number()
});
export type Discovery = z.infer<typeof discoverySchema>;

export const saveResultSchema = z.object({ configPath: z.string(), cluster: z.string(), added: z.array(z.string()) });
export type SaveResult = z.infer<typeof saveResultSchema>;

export const profileReplySchema = z.object({ name: z.string(), profile: profileConfigSchema });
export type ProfileReply = z.infer<typeof profileReplySchema>;

export const removedProfileSchema = z.object({ name: z.string(), removed: z.literal(true) });
export type RemovedProfile = z.infer<typeof removedProfileSchema>;

/** Request bodies; the companion's zod schemas satisfy these types. */
export interface DiscoverBody {
  host: string;
  cluster?: string;
}
export interface SaveSetupBody {
  host: string;
  cluster: string;
  profiles: Record<string, ProfileConfig>;
}
export interface PutProfileBody {
  profile: ProfileConfig;
}
