import express, { type Request, type Router } from 'express';
import { invalidField, ApiError } from './errors';
import {
  BODY_LIMIT,
  createSessionSchema,
  extendSchema,
  idempotencyKeySchema,
  restoreSchema,
  parse,
  readParam,
  readQuery,
  followSchema,
  tailSchema,
  TAIL_DEFAULT_BYTES
} from './schemas';

import { sessionReply, workspaceBackupReply } from './replies';
import type { SessionService } from './services';

const FOLLOW_EVERY_MS = 1_000;

/*
 * GET    /api/sessions               → SessionInfo[] (the CLI's `sessions list` reads this)
 * POST   /api/sessions               → 201 SessionInfo (body: CreateSessionRequest; Idempotency-Key header)
 * GET    /api/sessions/:id           → SessionInfo
 * POST   /api/sessions/preview       → { script, argv } that POST /api/sessions would submit (nothing is submitted)
 * DELETE /api/sessions/:id           → SessionInfo (now ending)
 * GET    /api/sessions/:id/log?tail=N[&follow=1] → text/plain, the last N bytes (default 64 KiB, max 1 MiB), then new output as it comes
 * POST   /api/sessions/:id/workspace/backup   → WorkspaceBackup (when it is made; 409 while one runs)
 * GET    /api/sessions/:id/workspace/backups  → WorkspaceBackup[], newest first
 * POST   /api/sessions/:id/workspace/restore  → WorkspaceBackup | null (body {name}: "newest" or a backup's name)
 * POST   /api/sessions/:id/extend             → {extended, endsAt, message} (body {minutes})
 */
export function sessionRoutes(router: Router, sessions: SessionService): void {
  const json = express.json({ limit: BODY_LIMIT });

  /** A valid id of a known session; 404 before the service is asked to act on it. */
  const sessionId = (req: Request): string => {
    const id = readParam(req, 'id');
    if (!sessions.get(id)) throw new ApiError(404, 'not-found', `no session ${id}`);
    return id;
  };

  router.get('/api/sessions', (_req, res) => {
    res.json(sessions.list().map(sessionReply));
  });

  router.post('/api/sessions', json, async (req, res) => {
    if (req.body === undefined) throw invalidField('body', 'expected a JSON object (Content-Type: application/json)');
    const request = parse(createSessionSchema, req.body, 'body');
    const header = req.get('Idempotency-Key');
    if (header !== undefined) {
      const key = parse(idempotencyKeySchema, header, 'Idempotency-Key');
      if (request.idempotencyKey !== undefined && request.idempotencyKey !== key)
        throw invalidField('idempotencyKey', 'differs from the Idempotency-Key header (send one or make them equal)');
      request.idempotencyKey = key;
    }
    const info = await sessions.create(request);
    res
      .status(201)
      .location(`${req.baseUrl}/api/sessions/${encodeURIComponent(info.id)}`)
      .json(sessionReply(info));
  });

  // The Request form's preview and as-you-type check: the same validation as POST, nothing submitted.
  router.post('/api/sessions/preview', json, async (req, res) => {
    if (req.body === undefined) throw invalidField('body', 'expected a JSON object (Content-Type: application/json)');
    res.json(await sessions.preview(parse(createSessionSchema, req.body, 'body')));
  });

  router.get('/api/sessions/:id', (req, res) => {
    res.json(sessionReply(sessions.get(sessionId(req))!));
  });

  router.delete('/api/sessions/:id', async (req, res) => {
    res.json(sessionReply(await sessions.stop(sessionId(req))));
  });

  /** A session service method the companion may lack (tests' fakes): 404 names the route, never a crash. */
  const need = <K extends keyof SessionService>(name: K): NonNullable<SessionService[K]> => {
    const method = sessions[name];
    if (!method) throw new ApiError(404, 'not-found', `this companion does not offer ${String(name)}`);
    return (method as (...args: unknown[]) => unknown).bind(sessions) as NonNullable<SessionService[K]>;
  };

  router.post('/api/sessions/:id/workspace/backup', async (req, res) => {
    const id = sessionId(req);
    res.json(workspaceBackupReply(await need('backupWorkspace')(id)));
  });

  router.get('/api/sessions/:id/workspace/backups', async (req, res) => {
    const id = sessionId(req);
    res.json((await need('listWorkspaceBackups')(id)).map(workspaceBackupReply));
  });

  router.post('/api/sessions/:id/workspace/restore', json, async (req, res) => {
    const id = sessionId(req);
    if (req.body === undefined)
      throw invalidField('body', 'expected a JSON object: {"name": "newest"} or {"name": "workspace-…"}');
    const { name } = parse(restoreSchema, req.body, 'body');
    const restored = await need('restoreWorkspace')(id, name === 'newest' ? undefined : name);
    res.json(restored && workspaceBackupReply(restored));
  });

  router.post('/api/sessions/:id/extend', json, async (req, res) => {
    const id = sessionId(req);
    if (req.body === undefined) throw invalidField('body', 'expected a JSON object like {"minutes": 60}');
    const { minutes } = parse(extendSchema, req.body, 'body');
    res.json(await need('extend')(id, minutes));
  });

  router.get('/api/sessions/:id/log', async (req, res) => {
    const id = sessionId(req);
    const tailBytes = readQuery(req, 'tail', tailSchema, TAIL_DEFAULT_BYTES);
    const follow = readQuery(req, 'follow', followSchema, false);
    if (!follow) {
      res.type('text/plain; charset=utf-8').send(await sessions.readLog(id, { tailBytes }));
      return;
    }
    // Follow: the tail, then whatever the job appends, until the session is over or the
    // client leaves. One small read a second over the pooled connection.
    let { size } = await sessions.readLogFrom(id, Number.MAX_SAFE_INTEGER);
    let offset = Math.max(0, size - tailBytes);
    let open = true;
    req.on('close', () => (open = false));
    res.type('text/plain; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.flushHeaders();
    while (open) {
      // A failed read (the login node busy, the connection reconnecting) is retried at the next tick;
      // the session's own state says whether the job is still there.
      const chunk = await sessions.readLogFrom(id, offset).catch(() => ({ text: '', size: offset }));
      if (chunk.text) res.write(chunk.text);
      offset += Buffer.byteLength(chunk.text);
      size = chunk.size;
      const state = sessions.get(id)?.state;
      if ((state === 'ended' || state === 'failed') && offset >= size) break;
      await new Promise(r => setTimeout(r, FOLLOW_EVERY_MS));
    }
    res.end();
  });
}
