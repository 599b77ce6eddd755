import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { RequestHandler, Response } from 'express';
import { ApiError, sendError } from './errors';
import { decodeParam, queryTokens, withoutToken } from '../proxy/token-param';
import { checkHost, checkOrigin, isStateChanging, loopbackCrossOrigin, originPolicy, type Verdict } from './origin';

/*
 * The token: in `Authorization: token X` / `Bearer X`, in the cookie that opening the tokened
 * URL (`…?token=X`) sets, or as `?token=X` on any method and on WebSocket URLs, as Jupyter
 * accepts it (nbclient-style and REST clients send it on every request). Every route and the
 * node proxy go through `guard`; the proxies cut the parameter before a request goes on.
 * A page of another loopback origin (plain `jupyter lab` with hpclab's server extension) gets
 * CORS answers and must send the token itself: its cookie would be a cross-site request forgery.
 */

export const TOKEN_COOKIE = 'hpclab-token';

export type UpgradeVerdict = { ok: true } | { ok: false; status: number; message: string; code?: string };

export interface Guard {
  /** True when the request carries the token (header, cookie or URL). Does not look at Host/Origin. */
  authenticate(req: IncomingMessage): boolean;
  /** Host, Origin (writes), then token; `?token=` on GET sets the cookie and redirects. */
  middleware: RequestHandler;
  /** Host, Origin (always: browsers send it on WebSocket handshakes), then token. */
  checkUpgrade(req: IncomingMessage): UpgradeVerdict;
  /** The middleware's checks for a plain request outside express (Host, Origin on writes, token). */
  checkRequest(req: IncomingMessage): UpgradeVerdict;
}

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** Constant time: both sides are hashed first, so neither content nor length leaks. */
function tokenMatcher(token: string): (candidate: string) => boolean {
  if (typeof token !== 'string' || token.length === 0)
    throw new Error('createApi: the token must be a non-empty string');
  const expected = sha256(token);
  return candidate => timingSafeEqual(sha256(candidate), expected);
}

/** The token in `Authorization: token X` / `Bearer X`, if any. */
function headerTokens(req: IncomingMessage): string[] {
  const auth = /^(?:token|bearer)[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? '');
  return auth ? [auth[1]] : [];
}

/** Every token the request presents: the Authorization header and each `hpclab-token` cookie. */
export function presentedTokens(req: IncomingMessage): string[] {
  const found = headerTokens(req);
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== TOKEN_COOKIE) continue;
    const raw = part
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    if (raw) found.push(decodeParam(raw));
  }
  return found;
}

function refuse(res: Response, verdict: Extract<Verdict, { ok: false }>): void {
  sendError(res, new ApiError(verdict.status, verdict.code, verdict.message));
}

const UNAUTHORIZED =
  'a valid token is required: open the URL that `hpclab serve` printed, or send "Authorization: Bearer <token>"';

function unauthorized(res: Response, message = UNAUTHORIZED): void {
  res.set('WWW-Authenticate', 'Bearer realm="hpclab"');
  sendError(res, new ApiError(401, 'unauthorized', message));
}

export function createGuard(options: { token: string; allowedOrigins?: readonly string[] }): Guard {
  const matches = tokenMatcher(options.token);
  const policy = originPolicy(options.allowedOrigins);
  const cookie = `${TOKEN_COOKIE}=${encodeURIComponent(options.token)}; HttpOnly; SameSite=Strict; Path=/`;

  const authenticate = (req: IncomingMessage) => {
    const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '';
    return [...presentedTokens(req), ...queryTokens(url)].some(matches);
  };

  /** A token the request carries itself (header or URL), not one the browser attached (the cookie). */
  const carriesToken = (req: IncomingMessage) => {
    const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '';
    return [...headerTokens(req), ...queryTokens(url)].some(matches);
  };

  const middleware: RequestHandler = (req, res, next) => {
    const host = checkHost(policy, req);
    if (!host.ok) return refuse(res, host);
    const foreign = loopbackCrossOrigin(policy, req);
    if (foreign) {
      // CORS for a Jupyter page on another loopback port: readable with the token it holds.
      res.set({ 'Access-Control-Allow-Origin': foreign, Vary: 'Origin' });
      if (req.method === 'OPTIONS') {
        res.set({
          'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE',
          'Access-Control-Allow-Headers': 'Authorization, Content-Type, Idempotency-Key',
          'Access-Control-Max-Age': '600'
        });
        return void res.status(204).end();
      }
      return carriesToken(req)
        ? next()
        : unauthorized(res, `${UNAUTHORIZED} (from ${foreign}: the cookie does not count for another origin)`);
    }
    if (isStateChanging(req.method)) {
      const origin = checkOrigin(policy, req);
      if (!origin.ok) return refuse(res, origin);
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      const inUrl = queryTokens(req.originalUrl);
      if (inUrl.length > 0) {
        if (!inUrl.some(matches)) return unauthorized(res, 'the token in the URL is not valid');
        // The token leaves the address bar (and history, and Referer) at once.
        res.append('Set-Cookie', cookie).set({ 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' });
        return res.redirect(302, withoutToken(req.originalUrl));
      }
    }
    if (authenticate(req)) return next();
    unauthorized(res);
  };

  const checkUpgrade = (req: IncomingMessage): UpgradeVerdict => {
    for (const verdict of [checkHost(policy, req), checkOrigin(policy, req)]) {
      if (!verdict.ok) return { ok: false, status: verdict.status, message: verdict.message };
    }
    return authenticate(req) ? { ok: true } : { ok: false, status: 401, message: UNAUTHORIZED };
  };

  const checkRequest = (req: IncomingMessage): UpgradeVerdict => {
    const verdicts = isStateChanging(req.method)
      ? [checkHost(policy, req), checkOrigin(policy, req)]
      : [checkHost(policy, req)];
    for (const verdict of verdicts) {
      if (!verdict.ok) return { ok: false, status: verdict.status, code: verdict.code, message: verdict.message };
    }
    return authenticate(req) ? { ok: true } : { ok: false, status: 401, code: 'unauthorized', message: UNAUTHORIZED };
  };

  return { authenticate, middleware, checkUpgrade, checkRequest };
}
