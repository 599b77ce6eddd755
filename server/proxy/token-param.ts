/*
 * The `token` query parameter. Clients of the companion may carry its token in the URL (Jupyter's
 * REST docs and many scripts do); it proves the user to the companion only, so the proxies cut it
 * before a request goes on: a node's jupyter_server reads `?token=` before the Authorization
 * header, and would refuse the companion's token, then fall back to cookies and XSRF checks.
 */

/** decodeURIComponent with `+` as space; undecodable text is kept as it is (a token that cannot match). */
export function decodeParam(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value; // malformed escapes: compared as written, so they simply do not match
  }
}

/** Splits a URL's query into raw `k=v` parts, keeping their encoding. */
function splitUrl(url: string): { path: string; parts: string[] } {
  const q = url.indexOf('?');
  if (q < 0) return { path: url, parts: [] };
  return {
    path: url.slice(0, q),
    parts: url
      .slice(q + 1)
      .split('&')
      .filter(Boolean)
  };
}

const keyOf = (part: string) => decodeParam(part.split('=', 1)[0]);

/** Every `token` value in the URL's query. */
export function queryTokens(url: string): string[] {
  return splitUrl(url)
    .parts.filter(p => keyOf(p) === 'token')
    .map(p => decodeParam(p.slice(p.indexOf('=') + 1 || p.length)));
}

/** The same URL without `token` params; other params keep their order and encoding. */
export function withoutToken(url: string): string {
  const { path, parts } = splitUrl(url);
  // `//evil.example/…` in a Location header is another site: keep the redirect on this one.
  const local = path.replace(/^[/\\]+/, '/');
  const kept = parts.filter(p => keyOf(p) !== 'token');
  return kept.length > 0 ? `${local}?${kept.join('&')}` : local;
}
