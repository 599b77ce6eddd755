import type { Request, Response } from 'express';
import type { SessionEvent } from '../sessions/types';
import { ApiError } from './errors';
import { sessionEventReply, sessionReply } from './replies';
import type { SessionService } from './services';

/*
 * GET /events: Server-Sent Events. Each client gets a `snapshot` ({type, sessions}), then every
 * SessionEvent as `event: <type>`, and a comment line every 15 s so proxies and the browser
 * keep the stream open. A closed client unsubscribes at once, and a client that stops reading
 * is dropped once too much is buffered for it: a stuck tab must not grow the companion's
 * memory (configurable-http-proxy#388).
 */

/** Another source of live events: subscribes a listener, returns its unsubscribe function. */
export type EventSource = (listener: (event: { type: string }) => void) => () => void;

export interface EventHubOptions {
  sessions: SessionService;
  /** More event sources (login prompts, cluster links). */
  sources?: EventSource[];
  /** Default 15 000. */
  heartbeatMs?: number;
  /** Bytes queued for a client that is not reading before it is dropped; default 1 MiB. */
  maxBufferedBytes?: number;
}

interface Client {
  res: Response;
  unsubscribe: () => void;
  heartbeat?: NodeJS.Timeout;
}

/** One SSE frame. JSON.stringify never emits a raw newline, so `data:` is one line. */
export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export class EventHub {
  private readonly clients = new Set<Client>();
  private closed = false;

  constructor(private readonly options: EventHubOptions) {}

  /** Open streams (for tests and diagnostics). */
  get size(): number {
    return this.clients.size;
  }

  readonly handle = (req: Request, res: Response): void => {
    if (this.closed) throw new ApiError(503, 'closing', 'the companion is shutting down');
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no'
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const client: Client = { res, unsubscribe: () => undefined };
    const send = (chunk: string) => this.send(client, chunk);
    // Registered before anything can throw, so 'close' always finds the client to clean up.
    this.clients.add(client);
    res.on('close', () => this.drop(client));
    res.on('error', () => this.drop(client));
    try {
      const offs = [
        this.options.sessions.subscribe((event: SessionEvent) => send(sseFrame(event.type, sessionEventReply(event))))
      ];
      client.unsubscribe = () => offs.forEach(off => off());
      // After the snapshot below would be nicer, but a source may replay at once (a waiting prompt): order does not matter to clients.
      for (const source of this.options.sources ?? []) offs.push(source(event => send(sseFrame(event.type, event))));
    } catch (err) {
      res.removeHeader('Content-Type'); // the error handler answers in JSON
      throw err;
    }
    res.flushHeaders();
    send('retry: 3000\n\n');
    // Like every other event, the data carries its type.
    send(sseFrame('snapshot', { type: 'snapshot', sessions: this.options.sessions.list().map(sessionReply) }));
    client.heartbeat = setInterval(() => send(': heartbeat\n\n'), this.options.heartbeatMs ?? 15_000);
    client.heartbeat.unref();
  };

  /** Ends every stream (the companion is stopping) and refuses new ones. */
  close(): void {
    this.closed = true;
    for (const client of [...this.clients]) this.drop(client);
  }

  private send(client: Client, chunk: string): void {
    const { res } = client;
    if (!this.clients.has(client) || res.writableEnded || res.destroyed) return;
    if (res.writableLength > (this.options.maxBufferedBytes ?? 1024 * 1024)) {
      this.drop(client);
      res.destroy();
      return;
    }
    res.write(chunk);
  }

  private drop(client: Client): void {
    if (!this.clients.delete(client)) return;
    clearInterval(client.heartbeat);
    client.unsubscribe();
    if (!client.res.writableEnded && !client.res.destroyed) client.res.end();
  }
}
