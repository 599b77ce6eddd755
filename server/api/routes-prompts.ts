import express, { type Router } from 'express';
import { ApiError, invalidField } from './errors';
import type { PromptBroker } from './prompt-broker';
import { BODY_LIMIT, parse, promptAnswersSchema, readParam } from './schemas';

/*
 * POST   /api/prompts/:prompt  {answers}  → 204: the user's answer to an SSH login prompt (2FA)
 * DELETE /api/prompts/:prompt            → 204: the user dismissed it; the login fails now
 * The questions arrive as `prompt` events on /events.
 */
export function promptRoutes(router: Router, prompts: PromptBroker): void {
  const json = express.json({ limit: BODY_LIMIT });

  router.post('/api/prompts/:prompt', json, (req, res) => {
    const id = readParam(req, 'prompt');
    if (req.body === undefined) throw invalidField('body', 'expected a JSON object (Content-Type: application/json)');
    const { answers } = parse(promptAnswersSchema, req.body, 'body');
    let known: boolean;
    try {
      known = prompts.answer(id, answers);
    } catch (err) {
      throw invalidField('answers', (err as Error).message.replace(/^answers: /, ''));
    }
    if (!known)
      throw new ApiError(404, 'not-found', `no login prompt ${id} is waiting (answered, timed out, or dismissed)`);
    res.status(204).end();
  });

  router.delete('/api/prompts/:prompt', (req, res) => {
    const id = readParam(req, 'prompt');
    if (!prompts.cancel(id)) throw new ApiError(404, 'not-found', `no login prompt ${id} is waiting`);
    res.status(204).end();
  });
}
