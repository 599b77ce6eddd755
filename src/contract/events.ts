import * as z from 'zod/mini';
import { linkStateSchema } from './clusters';
import { sessionSchema } from './sessions';

/*
 * Live events: Server-Sent Events on /hpclab/events (`event: <type>`, data carries `type` too),
 * and the lines of `POST /api/kernels` (one JSON object per line, for the kernel launcher).
 */

export const promptEventSchema = z.object({
  type: z.literal('prompt'),
  id: z.string(),
  cluster: z.string(),
  kind: z.string(),
  name: z.string(),
  instructions: z.string(),
  prompts: z.array(z.object({ prompt: z.string(), echo: z.boolean() }))
});
export type PromptEvent = z.infer<typeof promptEventSchema>;

export const eventSchemas = {
  snapshot: z.object({ type: z.literal('snapshot'), sessions: z.array(sessionSchema) }),
  session: z.object({ type: z.literal('session'), session: sessionSchema }),
  'walltime-warning': z.object({
    type: z.literal('walltime-warning'),
    sessionId: z.string(),
    minutesLeft: z.number(),
    endsAt: z.string()
  }),
  /** A session idle for a while: the companion stops it at `stopsAt` unless it is used (profile `idleMinutes`). */
  'idle-warning': z.object({
    type: z.literal('idle-warning'),
    sessionId: z.string(),
    minutesLeft: z.number(),
    stopsAt: z.string(),
    idleMinutes: z.number()
  }),
  prompt: promptEventSchema,
  'prompt-done': z.object({ type: z.literal('prompt-done'), id: z.string(), answered: z.boolean() }),
  /** The login connection to a cluster went up or down; `message` says why, in words. */
  link: z.object({
    type: z.literal('link'),
    cluster: z.string(),
    state: linkStateSchema,
    message: z.nullable(z.string()),
    retryInMs: z.nullable(z.number())
  })
} as const;
export type EventType = keyof typeof eventSchemas;
export type LiveEvent = { [K in EventType]: z.infer<(typeof eventSchemas)[K]> }[EventType];
export type LinkEvent = z.infer<(typeof eventSchemas)['link']>;

/** One line of `POST /api/kernels`: what the kernel launcher hears while its kernel is wanted. */
export const kernelLeaseEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('progress'), message: z.string(), session: sessionSchema }),
  z.object({ type: z.literal('ready'), jobId: z.string(), node: z.string(), host: z.string() }),
  z.object({ type: z.literal('warning'), message: z.string(), minutesLeft: z.number() }),
  z.object({ type: z.literal('ended'), code: z.number(), message: z.string() })
]);
export type KernelLeaseEvent = z.infer<typeof kernelLeaseEventSchema>;
