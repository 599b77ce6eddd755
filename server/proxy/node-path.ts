/** Where a node's Jupyter server is served; its `base_url` is this prefix plus the session id. */
export const DEFAULT_NODE_PREFIX = '/hpclab/node/';

/** Session ids as the companion makes them; anything else is refused before any lookup. */
const SESSION_ID = /^[a-z0-9]{6,32}$/;

export type NodeRoute =
  { kind: 'proxy'; sessionId: string } | { kind: 'redirect'; location: string } | { kind: 'not-found' };

/** A prefix is an absolute path of whole segments: starts and ends with `/`. */
export function isValidPrefix(prefix: string): boolean {
  return /^\/(?:[^/?#]+\/)*$/.test(prefix) && !hasDotSegment(prefix);
}

/**
 * Decides what a request target under the prefix means. The path itself is never rewritten:
 * the node server's base_url equals `prefix + id + '/'`, so it is forwarded as it came.
 */
export function routeNodePath(url: string, prefix: string): NodeRoute {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q);
  if (!path.startsWith(prefix)) return { kind: 'not-found' };

  const rest = path.slice(prefix.length);
  const slash = rest.indexOf('/');
  const sessionId = slash < 0 ? rest : rest.slice(0, slash);
  if (!SESSION_ID.test(sessionId)) return { kind: 'not-found' };
  // The Lab's relative URLs only work under the trailing slash.
  if (slash < 0) return { kind: 'redirect', location: `${prefix}${sessionId}/${query}` };
  if (hasDotSegment(path)) return { kind: 'not-found' };
  return { kind: 'proxy', sessionId };
}

/**
 * True when some segment is `.` or `..`, also spelled `%2e`, or hidden behind an encoded
 * slash or a backslash (`..%2f`, `..\`): anything a server might normalise out of the
 * prefix. Browsers never send dot segments, so refusing them costs nothing.
 */
export function hasDotSegment(path: string): boolean {
  for (const segment of path.split('/')) {
    const decoded = segment.replace(/%2e/gi, '.');
    for (const part of decoded.split(/%2f|%5c|\\/i)) {
      if (part === '.' || part === '..') return true;
    }
  }
  return false;
}
