import express, { type Router } from 'express';
import type * as wire from '../../src/contract';
import { EnvCreateError } from '../envs/env-creator';
import { EnvInputError } from '../envs/env-input';
import { ApiError, invalidField, toApiError, INTERNAL_MESSAGE } from './errors';
import { createEnvSchema, parse } from './schemas';
import type { CreatedEnv, EnvApi, EnvProgress } from './services';

/** A requirements file of up to 256 KiB, as JSON text (escapes make it longer). */
const ENV_BODY_LIMIT = '640kb';

/*
 * POST /api/envs → 200 application/x-ndjson, one EnvCreateEvent per line: each step as it
 * starts, each line pip prints, then `done` (the env and its kernelspec) or `error`. A bad
 * request is a plain 400/404 before anything runs on the cluster; once the stream is open, a
 * failure is its last event. Closing the request stops the running step and rolls back.
 */
export function envRoutes(router: Router, envs: EnvApi | undefined): void {
  const json = express.json({ limit: ENV_BODY_LIMIT });

  router.post('/api/envs', json, async (req, res) => {
    if (!envs) throw new ApiError(404, 'not-found', 'this companion cannot make environments (no env service)');
    if (req.body === undefined) throw invalidField('body', 'expected a JSON object (Content-Type: application/json)');
    const plan = envs.plan(parse(createEnvSchema, req.body, 'body'));
    const abort = new AbortController();
    // The client went away before the end: stop pip, remove what was made (nothing is registered).
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    res.status(200).type('application/x-ndjson');
    res.setHeader('Cache-Control', 'no-store');
    res.flushHeaders();
    const send = (event: wire.EnvCreateEvent) => {
      if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify(event)}\n`);
    };
    try {
      const made = await envs.create(plan, { onProgress: e => send(progressReply(e)), signal: abort.signal });
      send({ type: 'done', env: createdEnvReply(made) });
    } catch (err) {
      send(errorEvent(err));
    }
    res.end();
  });
}

function progressReply(event: EnvProgress): wire.EnvCreateEvent {
  return event.type === 'step'
    ? { type: 'step', step: event.step, message: event.message }
    : { type: 'output', step: event.step, line: event.line };
}

export function createdEnvReply(made: CreatedEnv): wire.CreatedEnv {
  const { cluster, name, kind, path, env, kernelspec, installedIpykernel, seconds } = made;
  return {
    cluster,
    name,
    kind,
    path,
    env: { ...env },
    kernelspec: { ...kernelspec },
    installedIpykernel,
    seconds
  };
}

/** A failure as the stream's last event: words meant for the user, else the generic message (logged by the creator). */
function errorEvent(err: unknown): wire.EnvCreateEvent {
  if (err instanceof EnvCreateError)
    return { type: 'error', message: err.reason, step: err.step, tail: err.tail, rolledBack: err.rolledBack };
  if (err instanceof EnvInputError)
    return { type: 'error', message: err.message, field: err.field, tail: [], rolledBack: true };
  const known = toApiError(err);
  return { type: 'error', message: known?.message ?? INTERNAL_MESSAGE, tail: [], rolledBack: true };
}
