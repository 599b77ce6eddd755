import { z } from 'zod';

/*
 * Replies of the companion's setup routes ("Add a cluster", "Edit profiles"). Like
 * src/schemas.ts they are loose: a newer companion may add keys without breaking this UI.
 */

/**
 * A profile as written in config.json. Kept as a plain object: the form edits a few scalar
 * fields and must hand every other key (env, sbatch, command…) back exactly as it came.
 */
export const profileConfigSchema = z.record(z.string(), z.unknown());
export type ProfileConfig = z.infer<typeof profileConfigSchema>;

export const setupInfoSchema = z.object({ configPath: z.string(), configured: z.boolean(), hosts: z.array(z.string()) }).loose();
export type SetupInfo = z.infer<typeof setupInfoSchema>;

export const discoverySchema = z
  .object({
    cluster: z.string(),
    host: z.string(),
    partitions: z.array(z.object({ name: z.string(), default: z.boolean(), timeLimitSec: z.number().nullable(), gpus: z.array(z.string()) }).loose()),
    // null where the cluster has no accounting (no slurmdbd): nothing to choose then.
    associations: z.array(z.object({ account: z.string(), qos: z.array(z.string()) }).loose()).nullable(),
    envs: z.array(z.string()),
    profiles: z.record(z.string(), profileConfigSchema),
    existingProfiles: z.array(z.string()),
    slurmCalls: z.number(),
    seconds: z.number()
  })
  .loose();
export type Discovery = z.infer<typeof discoverySchema>;

export const saveResultSchema = z.object({ configPath: z.string(), cluster: z.string(), added: z.array(z.string()) }).loose();
export type SaveResult = z.infer<typeof saveResultSchema>;

export const profileReplySchema = z.object({ name: z.string(), profile: profileConfigSchema }).loose();
export type ProfileReply = z.infer<typeof profileReplySchema>;

export const removedSchema = z.object({ name: z.string(), removed: z.literal(true) }).loose();
