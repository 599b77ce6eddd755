import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { SessionState } from '../sessions/types';

/** Why the proxy answers itself instead of the node server. */
export interface ProxyProblem {
  status: 404 | 503;
  code: 'session-not-found' | 'session-unavailable' | 'session-not-answering';
  title: string;
  message: string;
  state?: SessionState;
  /** Sent as Retry-After; the HTML page also reloads itself after this long. */
  retryAfterSeconds?: number;
}

const TITLES: Record<SessionState, string> = {
  pending: 'The session is waiting for its job to start',
  starting: "The session's server is starting",
  running: 'The session cannot be reached right now',
  ending: 'The session is ending',
  ended: 'The session has ended',
  failed: 'The session failed'
};

export function sessionNotFound(): ProxyProblem {
  return {
    status: 404,
    code: 'session-not-found',
    title: 'No such session',
    message: 'There is no session with this address.'
  };
}

export function sessionUnavailable(state: SessionState, message: string): ProxyProblem {
  // Worth retrying: a session on its way up, or a running one whose link is down for now.
  const retry = state === 'pending' || state === 'starting' || state === 'running';
  return {
    status: 503,
    code: 'session-unavailable',
    title: TITLES[state],
    message,
    state,
    ...(retry ? { retryAfterSeconds: 5 } : {})
  };
}

export function sessionNotAnswering(detail?: string): ProxyProblem {
  const message = "The session's server is not answering." + (detail ? ` (${detail})` : '');
  return { status: 503, code: 'session-not-answering', title: "The session's server is not answering", message };
}

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** JSON for API clients that ask for it (`Accept: application/json` without `text/html`), a small page otherwise. */
export function renderProblem(problem: ProxyProblem, accept: string | undefined): Reply {
  const headers: Record<string, string> = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
  if (problem.retryAfterSeconds !== undefined) headers['retry-after'] = String(problem.retryAfterSeconds);
  let body: string;
  if (accept && /application\/json/i.test(accept) && !/text\/html/i.test(accept)) {
    headers['content-type'] = 'application/json; charset=utf-8';
    const error = { code: problem.code, message: problem.message, ...(problem.state ? { state: problem.state } : {}) };
    body = JSON.stringify({ error });
  } else {
    headers['content-type'] = 'text/html; charset=utf-8';
    const refresh =
      problem.retryAfterSeconds === undefined
        ? ''
        : `<meta http-equiv="refresh" content="${problem.retryAfterSeconds}">`;
    const state = problem.state ? `<p>Session state: <code>${escapeHtml(problem.state)}</code></p>` : '';
    body =
      `<!doctype html><html lang="en"><head><meta charset="utf-8">${refresh}<title>${escapeHtml(problem.title)} · hpclab</title></head>` +
      `<body><h1>${escapeHtml(problem.title)}</h1><p>${escapeHtml(problem.message)}</p>${state}</body></html>\n`;
  }
  headers['content-length'] = String(Buffer.byteLength(body));
  return { status: problem.status, headers, body };
}

export function sendProblem(req: IncomingMessage, res: ServerResponse, problem: ProxyProblem): void {
  const reply = renderProblem(problem, req.headers.accept);
  res.writeHead(reply.status, reply.headers);
  res.end(req.method === 'HEAD' ? undefined : reply.body);
}

export function sendRedirect(res: ServerResponse, location: string): void {
  res.writeHead(301, { location, 'content-length': '0' });
  res.end();
}

/** The same answer on a socket that asked to upgrade: one HTTP response, then close. */
export function writeProblemToSocket(req: IncomingMessage, socket: Duplex, problem: ProxyProblem): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const reply = renderProblem(problem, req.headers.accept);
  const head = Object.entries({ ...reply.headers, connection: 'close' }).map(
    ([name, value]) => `${name}: ${value}\r\n`
  );
  socket.end(`HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status]}\r\n${head.join('')}\r\n${reply.body}`, () =>
    socket.destroy()
  );
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`);
}
