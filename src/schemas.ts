import { z } from 'zod';

/*
 * What the companion answers, checked before the UI reads it: a companion of another version
 * (or a proxy's error page) becomes a clear error, never `undefined` deep in a render.
 * Unknown keys pass through (`loose`), so a newer companion does not break an older UI.
 */

const nullableString = z.string().nullable();

export const sessionStateSchema = z.enum(['pending', 'starting', 'running', 'ending', 'ended', 'failed']);
export type SessionState = z.infer<typeof sessionStateSchema>;

export const sessionSchema = z
  .object({
    id: z.string(),
    kind: z.enum(['lab', 'kernel']),
    cluster: z.string(),
    profile: z.string(),
    state: sessionStateSchema,
    jobId: nullableString,
    pending: z.object({ reason: nullableString, position: z.number().nullable(), estimatedStart: nullableString }).loose().nullable(),
    node: nullableString,
    createdAt: z.string(),
    startedAt: nullableString,
    endsAt: nullableString,
    endedAt: nullableString,
    endReason: nullableString,
    message: nullableString,
    baseUrl: z.string()
  })
  .loose();
export type Session = z.infer<typeof sessionSchema>;

export const partitionSchema = z
  .object({
    name: z.string(),
    isDefault: z.boolean(),
    available: z.string(),
    timeLimit: z.number().nullable(),
    nodes: z.object({ idle: z.number(), mixed: z.number(), allocated: z.number(), down: z.number(), other: z.number(), total: z.number() }).loose(),
    cpus: z.object({ total: z.number(), allocated: z.number(), idle: z.number() }).loose(),
    gpus: z.array(z.object({ type: z.string(), total: z.number(), used: z.number() }).loose())
  })
  .loose();
export type Partition = z.infer<typeof partitionSchema>;

export const jobSchema = z
  .object({
    id: z.string(),
    arrayJobId: nullableString,
    arrayTaskId: nullableString,
    name: z.string(),
    user: z.string(),
    state: z.string(),
    reason: nullableString,
    partition: z.string(),
    nodes: nullableString,
    timeUsed: z.number(),
    timeLimit: z.number().nullable(),
    timeLeft: z.number().nullable(),
    startTime: nullableString,
    gres: nullableString
  })
  .loose();
export type Job = z.infer<typeof jobSchema>;

export const clusterStatusSchema = z
  .object({ cluster: z.string(), fetchedAt: z.string(), partitions: z.array(partitionSchema), jobs: z.array(jobSchema), error: z.string().optional() })
  .loose();
export type ClusterStatus = z.infer<typeof clusterStatusSchema>;

export const profileSchema = z
  .object({
    name: z.string(),
    cluster: z.string(),
    partition: z.string().optional(),
    gres: z.string().optional(),
    time: z.string().optional(),
    cpus: z.number().optional(),
    mem: z.string().optional(),
    account: z.string().optional(),
    qos: z.string().optional(),
    constraint: z.string().optional(),
    envKind: z.string().optional()
  })
  .loose();
export type Profile = z.infer<typeof profileSchema>;

export const kernelspecSchema = z
  .object({ name: z.string(), displayName: z.string(), metadata: z.object({ profile: z.string(), cluster: z.string(), env: z.string().optional() }).loose() })
  .loose();
export type Kernelspec = z.infer<typeof kernelspecSchema>;

export const envSchema = z.record(z.string(), z.unknown());

export const discoveredEnvSchema = z
  .object({
    kind: z.enum(['conda', 'venv', 'module']),
    name: z.string(),
    prefix: nullableString,
    python: nullableString,
    pythonVersion: nullableString,
    ipykernel: z.boolean().nullable(),
    env: envSchema
  })
  .loose();
export type DiscoveredEnv = z.infer<typeof discoveredEnvSchema>;

export const errorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), fields: z.array(z.object({ path: z.string(), message: z.string() })).optional() })
});

/** Live events from /hpclab/events. */
export const eventSchemas = {
  snapshot: z.object({ type: z.literal('snapshot'), sessions: z.array(sessionSchema) }).loose(),
  session: z.object({ type: z.literal('session'), session: sessionSchema }).loose(),
  'walltime-warning': z.object({ type: z.literal('walltime-warning'), sessionId: z.string(), minutesLeft: z.number(), endsAt: z.string() }).loose(),
  prompt: z
    .object({
      type: z.literal('prompt'),
      id: z.string(),
      cluster: z.string(),
      kind: z.string(),
      name: z.string(),
      instructions: z.string(),
      prompts: z.array(z.object({ prompt: z.string(), echo: z.boolean() }))
    })
    .loose(),
  'prompt-done': z.object({ type: z.literal('prompt-done'), id: z.string(), answered: z.boolean() }).loose()
} as const;
export type PromptEvent = z.infer<(typeof eventSchemas)['prompt']>;
