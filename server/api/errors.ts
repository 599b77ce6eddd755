import { RunNotFoundError } from '../runs/registry';
import { RunInputError } from '../runs/run-script';
import type { ErrorRequestHandler, Response } from 'express';
import { z } from 'zod';
import { ConfigError, issuesToProblems } from '../config/load';
import { DiscoveryError } from '../kernels/discovery';
import { EnvInputError } from '../envs/env-input';
import { KernelspecError } from '../kernels/kernelspec';
import { describeFailure, SchedulerError } from '../scheduler/errors';
import { TransportError } from '../transport/errors';
import { SessionNotFoundError } from './services';
import { SessionNotRunningError, StateSaveError } from '../sessions/errors';
import { WorkspaceError } from '../sessions/workspaces';
import { SetupError } from '../setup/errors';
import { stderrLogger, type Logger as CompanionLogger } from '../log';

/*
 * The one map from errors to HTTP statuses. Handlers throw (or reject); this decides what the
 * client sees. Only errors whose words are meant for the user are shown; anything else is a
 * 500 with a generic message and the detail goes to the log.
 */

export interface FieldProblem {
  /** `profile`, `overrides.cpus`, a route param (`cluster`), a query key (`tail`) or `body`. */
  path: string;
  message: string;
}

export interface ErrorBody {
  error: { code: string; message: string; fields?: FieldProblem[] };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields?: FieldProblem[]
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * Where a 500's detail goes: the companion's logger (server/log.ts; createApp passes its `api`
 * child), or a plain function taking the message and the error, as before it existed.
 */
export type Logger = CompanionLogger | ((message: string, err?: unknown) => void);
/** Without a logger: stderr, like every service that was given none. */
export const defaultLogger: Logger = (message, err) => stderrLogger('api').error(message, err);

export const INTERNAL_MESSAGE = "internal error (the companion's log has the detail)";

/** 400 `invalid` naming each field; `root` names the value itself (`body`, a param, a query key). */
export function invalid(error: z.ZodError, root: string): ApiError {
  const fields = issuesToProblems(error.issues).map(p => {
    const path = p.path ? (root === 'body' ? p.path : `${root}.${p.path}`) : root;
    // The scheduler's schemas start each message with their own field's name (`mailType: …`,
    // `job id: …`); the path already says it.
    const own = path.slice(path.lastIndexOf('.') + 1);
    const message = p.message.startsWith(`${own}: `) ? p.message.slice(own.length + 2) : p.message;
    return { path, message: message.replace(/^(job id|since): /, '') };
  });
  return new ApiError(400, 'invalid', fields.map(f => `${f.path}: ${f.message}`).join('; '), fields);
}

export function invalidField(path: string, message: string): ApiError {
  return new ApiError(400, 'invalid', `${path}: ${message}`, [{ path, message }]);
}

interface HttpishError {
  limit?: unknown;
  status?: unknown;
  expose?: unknown;
  type?: unknown;
  message?: unknown;
}

/** Errors from express.json (http-errors, most with a `type`). */
function fromBodyParser(err: HttpishError): ApiError | undefined {
  if (err.type === 'entity.parse.failed') return invalidField('body', `malformed JSON (${String(err.message)})`);
  if (err.type === 'entity.too.large')
    return new ApiError(
      413,
      'too-large',
      `body: larger than the ${typeof err.limit === 'number' ? `${Math.round(err.limit / 1024)} KiB` : 'allowed'} limit`
    );
  if (err.expose === true && typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
    // No `type`: the body did not inflate (zlib's error, e.g. `Content-Encoding: gzip` on plain JSON).
    const what =
      typeof err.type === 'string'
        ? String(err.message)
        : `does not decode as its Content-Encoding says (${String(err.message)})`;
    return new ApiError(err.status, 'bad-request', `body: ${what}`);
  }
  return undefined;
}

/** The status, code and words for an error, or undefined when it must be a generic 500. */
export function toApiError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof z.ZodError) return invalid(err, 'body');
  if (err instanceof StateSaveError) return new ApiError(503, 'state-not-saved', err.message);
  if (err instanceof SessionNotFoundError || (err instanceof Error && err.name === 'SessionNotFoundError'))
    return new ApiError(404, 'not-found', err.message);
  if (err instanceof KernelspecError) {
    if (err.kind === 'invalid') return new ApiError(400, 'invalid', err.message.replace(/^--name: /, 'name: '));
    return new ApiError(err.kind === 'conflict' ? 409 : 404, err.kind, err.message);
  }
  if (err instanceof SessionNotRunningError) return new ApiError(409, 'not-running', err.message);
  if (err instanceof WorkspaceError) {
    const status = { 'no-workspace': 400, 'not-running': 409, busy: 409, failed: 502 }[err.kind];
    return new ApiError(status, `workspace-${err.kind}`, err.message);
  }
  if (err instanceof RunInputError) return invalidField(err.field, err.message);
  if (err instanceof EnvInputError) return invalidField(err.field, err.message);
  if (err instanceof RunNotFoundError) return new ApiError(404, 'not-found', err.message);
  if (err instanceof DiscoveryError) return new ApiError(502, 'discovery-failed', err.message);
  if (err instanceof ConfigError) {
    if (err.kind === 'unknown-name') return new ApiError(404, 'not-found', err.message);
    // Setup read the user's file and it does not load: say where, change nothing.
    if (err.kind === 'invalid' || err.kind === 'unreadable')
      return new ApiError(409, 'config-broken', `${err.message}\nFix the file first; nothing was written.`);
    return undefined;
  }
  if (err instanceof SetupError) {
    const status = { invalid: 400, conflict: 409, 'not-found': 404 }[err.kind];
    return new ApiError(status, err.kind, err.message, err.fields.length ? err.fields : undefined);
  }
  if (err instanceof SchedulerError) {
    switch (err.kind) {
      case 'invalid-request':
        return new ApiError(400, 'scheduler-rejected', err.message);
      case 'not-found':
        return new ApiError(404, 'not-found', err.message);
      case 'permission':
        return new ApiError(403, 'forbidden', err.message);
      case 'unavailable':
        return new ApiError(503, 'scheduler-unavailable', describeFailure(err));
      // The history route answers this itself (accounting: false); elsewhere it is a missing feature.
      case 'no-accounting':
        return new ApiError(501, 'no-accounting', err.message);
      default:
        return undefined;
    }
  }
  if (err instanceof TransportError) {
    switch (err.kind) {
      case 'unreachable':
      case 'timeout':
        return new ApiError(503, 'cluster-unreachable', describeFailure(err));
      case 'host-key':
      case 'auth':
      case 'config':
        return new ApiError(502, 'cluster-login-failed', err.message);
      default:
        return undefined;
    }
  }
  // The router could not percent-decode a route param (`/api/sessions/%zz`): the client's URL is wrong.
  if (err instanceof URIError && (err as HttpishError).status === 400)
    return invalidField(
      'url',
      `${err.message.replace(/^Failed to decode param /, 'cannot decode ')} (malformed percent-encoding)`
    );
  if (typeof err === 'object' && err !== null) return fromBodyParser(err as HttpishError);
  return undefined;
}

export function sendError(res: Response, error: ApiError): void {
  const body: ErrorBody = { error: { code: error.code, message: error.message } };
  if (error.fields) body.error.fields = error.fields;
  res.status(error.status).set('Cache-Control', 'no-store').json(body);
}

/** Express error middleware built on toApiError. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  const log = typeof logger === 'function' ? logger : (message: string, err: unknown) => logger.error(message, err);
  return (err, req, res, next) => {
    const mapped = toApiError(err);
    if (!mapped) log(`${req.method} ${req.originalUrl.split('?')[0]} failed`, err);
    // A stream already under way (events, a log) cannot change its status: let express end it.
    if (res.headersSent) return next(err);
    sendError(res, mapped ?? new ApiError(500, 'internal', INTERNAL_MESSAGE));
  };
}
