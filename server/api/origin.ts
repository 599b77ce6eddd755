import type { IncomingMessage } from 'node:http';

/*
 * Who may talk to the companion at all. It listens on loopback, but a web page the user has
 * open can still reach loopback: by DNS rebinding (evil.example resolving to 127.0.0.1; the
 * browser then sends `Host: evil.example`), or by a cross-origin form or fetch (the browser
 * sends `Origin`). The token stops reads; these checks stop the writes a browser makes on the
 * user's behalf with the cookie attached (cookies ignore ports: another localhost port is
 * "same-site", so SameSite alone does not help).
 */

export type Verdict = { ok: true } | { ok: false; status: number; code: string; message: string };

export interface OriginPolicy {
  /** Normalized origins (`https://lab.example.org`) accepted besides the companion's own. */
  readonly origins: ReadonlySet<string>;
  /** Host header values those origins imply. */
  readonly hosts: ReadonlySet<string>;
}

const LOOPBACK_HOST = /^(?:127\.0\.0\.1|localhost|\[::1\])(?::\d{1,5})?$/;
const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443' };
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Validates and normalizes allowedOrigins; a malformed entry is a programming error, thrown. */
export function originPolicy(allowedOrigins: readonly string[] = []): OriginPolicy {
  const origins = new Set<string>();
  const hosts = new Set<string>();
  for (const entry of allowedOrigins) {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new Error(`allowedOrigins: ${JSON.stringify(entry)} is not a URL such as http://host:port`);
    }
    if (!DEFAULT_PORT[url.protocol] || url.username || url.password || url.pathname !== '/' || url.search || url.hash)
      throw new Error(
        `allowedOrigins: ${JSON.stringify(entry)} must be an origin: http(s)://host[:port], nothing after it`
      );
    origins.add(url.origin);
    hosts.add(url.host);
    if (!url.port) hosts.add(`${url.host}:${DEFAULT_PORT[url.protocol]}`);
  }
  return { origins, hosts };
}

export function isStateChanging(method: string | undefined): boolean {
  return STATE_CHANGING.has((method ?? '').toUpperCase());
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Host must name loopback (or an allowed origin's host): anything else is DNS rebinding. */
export function checkHost(policy: OriginPolicy, req: IncomingMessage): Verdict {
  const host = header(req, 'host')?.toLowerCase();
  if (host && (LOOPBACK_HOST.test(host) || policy.hosts.has(host))) return { ok: true };
  return {
    ok: false,
    status: 403,
    code: 'host-not-allowed',
    message: 'the Host header must name 127.0.0.1, localhost or [::1]'
  };
}

/** For writes and upgrades: the request must come from the companion's own pages. */
export function checkOrigin(policy: OriginPolicy, req: IncomingMessage): Verdict {
  const refused: Verdict = {
    ok: false,
    status: 403,
    code: 'cross-origin',
    message: 'cross-origin requests are refused'
  };
  if (header(req, 'sec-fetch-site')?.toLowerCase() === 'cross-site') return refused;
  const origin = header(req, 'origin');
  if (origin === undefined) return { ok: true }; // not a browser, or a same-origin GET-like request
  const normalized = origin.toLowerCase();
  const host = header(req, 'host')?.toLowerCase();
  if (host && normalized === `http://${host}`) return { ok: true };
  if (policy.origins.has(normalized)) return { ok: true };
  return refused;
}

const LOOPBACK_NAME = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The Origin of a page served by another loopback port (a Jupyter server whose hpclab
 * extension talks to this companion), or undefined for same-origin, allowed or non-browser
 * requests. Such a page may use the API only with a token it holds (header or URL): the browser
 * attaches the cookie by itself, so the cookie never counts for it.
 */
export function loopbackCrossOrigin(policy: OriginPolicy, req: IncomingMessage): string | undefined {
  const origin = header(req, 'origin')?.toLowerCase();
  if (origin === undefined || origin === 'null') return undefined;
  const host = header(req, 'host')?.toLowerCase();
  if ((host && origin === `http://${host}`) || policy.origins.has(origin)) return undefined;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return undefined; // not an origin at all: the ordinary checks refuse it
  }
  return DEFAULT_PORT[url.protocol] && LOOPBACK_NAME.has(url.hostname) && url.origin === origin ? origin : undefined;
}
