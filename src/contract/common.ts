import * as z from 'zod/mini';

/*
 * The wire contract between the companion (server/api) and its clients (this extension, the CLI's
 * readers, anyone scripting the API). Defined once, here, with zod, and only zod: the companion
 * compiles these files too, so nothing here may touch the DOM or Node.
 *
 * Objects use zod's default mode, which drops unknown keys: a newer companion may add a key
 * without breaking an older extension. The companion's contract test parses every reply and
 * requires the result to equal the reply, so the companion cannot send a key that is not here.
 */

export const nullableString = z.nullable(z.string());

/** Bumped when a route or reply changes incompatibly; both sides compare it (`GET /api/version`). */
export const API_VERSION = 2;

export const versionSchema = z.object({ version: z.string(), api: z.int() });
export type VersionReply = z.infer<typeof versionSchema>;

/** Every non-2xx reply from the API. `fields` names each bad input (`body.overrides.time`). */
export const errorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    fields: z.optional(z.array(z.object({ path: z.string(), message: z.string() })))
  })
});
export type ErrorBody = z.infer<typeof errorBodySchema>;
