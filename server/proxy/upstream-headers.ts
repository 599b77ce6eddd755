import type { IncomingHttpHeaders } from 'node:http';

/**
 * The Host every upstream request carries. A Jupyter server bound to localhost (or a unix
 * socket) refuses non-loopback Host headers (DNS-rebinding check, `allow_remote_access`);
 * one bound to the node's address does not check at all. A loopback literal passes both and
 * never reveals the companion's own address or port.
 */
export const UPSTREAM_HOST = '127.0.0.1';

/** The origin a page served by that host would have; see `toUpstreamHeaders`. */
export const UPSTREAM_ORIGIN = `http://${UPSTREAM_HOST}`;

/** The companion's own auth cookie: it proves the user to the companion, never to the node. */
export const COMPANION_COOKIE = 'hpclab-token';

/** Hop-by-hop headers (RFC 9110 §7.6.1 and the usual proxy extras): they describe one connection, not the message. */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade'
];

/**
 * The headers the node server sees, in place of the browser's.
 *
 * - `Authorization: token <node token>` replaces whatever the user sent; the companion's
 *   cookie is cut from `Cookie` and every other cookie (Jupyter's `_xsrf`) stays.
 * - `Host` is `UPSTREAM_HOST`. `Origin`, when present, becomes `UPSTREAM_ORIGIN`: the caller
 *   has already checked the real Origin, and Jupyter refuses WebSocket upgrades whose Origin
 *   differs from Host unless it has authenticated the token first (version-dependent order).
 *   A fixed Origin also keeps Jupyter from echoing a foreign origin into
 *   Access-Control-Allow-Origin on token-authenticated replies.
 * - `Referer` is dropped: it may carry the companion's `?token=` and Jupyter consults it only
 *   for requests that are not token-authenticated, which ours always are.
 * - Hop-by-hop headers go; for an upgrade `Connection: Upgrade` and `Upgrade` are set again.
 *   `Expect` goes too: Node's server has already answered `100-continue` to the browser.
 */
export function toUpstreamHeaders(incoming: IncomingHttpHeaders, token: string, upgrade: boolean): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = { ...incoming };
  for (const name of [...HOP_BY_HOP, ...connectionTokens(incoming.connection)]) delete out[name];
  delete out.expect;
  delete out.authorization;
  delete out.referer;
  delete out['sec-websocket-origin'];

  out.host = UPSTREAM_HOST;
  out.authorization = `token ${token}`;
  if (incoming.origin !== undefined) out.origin = UPSTREAM_ORIGIN;
  const cookie = withoutCookie(incoming.cookie, COMPANION_COOKIE);
  if (cookie) out.cookie = cookie;
  else delete out.cookie;
  if (upgrade) {
    out.connection = 'Upgrade';
    if (incoming.upgrade !== undefined) out.upgrade = incoming.upgrade;
  }
  return out;
}

/** Replaces a request's headers in place (http-proxy copies `req.headers` when it builds the upstream request). */
export function replaceHeaders(target: IncomingHttpHeaders, next: IncomingHttpHeaders): void {
  for (const name of Object.keys(target)) delete target[name];
  Object.assign(target, next);
}

/** A `Cookie` header without the named cookie; undefined when nothing is left. */
export function withoutCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  const kept = header
    .split(';')
    .map(pair => pair.trim())
    .filter(pair => pair !== '' && pair.split('=', 1)[0].trim() !== name);
  return kept.length ? kept.join('; ') : undefined;
}

/**
 * Cleans the node's reply before the browser sees it: hop-by-hop headers describe the
 * companion↔node connection, not the browser's, and the browser connection's fate is
 * `keepAlive`'s (Node decided it from the browser's request). CORS grants are dropped:
 * everything is served same-origin by the companion, so a grant could only widen access.
 * A redirect the node spelled with the Host it was given becomes a path on the companion.
 */
export function toBrowserHeaders(headers: IncomingHttpHeaders, keepAlive: boolean): void {
  for (const name of [...HOP_BY_HOP, ...connectionTokens(headers.connection)]) delete headers[name];
  delete headers['access-control-allow-origin'];
  delete headers['access-control-allow-credentials'];
  if (headers.location?.startsWith(`${UPSTREAM_ORIGIN}/`))
    headers.location = headers.location.slice(UPSTREAM_ORIGIN.length);
  headers.connection = keepAlive ? 'keep-alive' : 'close';
}

function connectionTokens(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map(token => token.trim().toLowerCase())
    .filter(token => token !== '');
}
