import { Agent, type ClientRequest, type ClientRequestArgs } from 'node:http';
import type { Duplex } from 'node:stream';

export interface StreamAgentOptions {
  /** Opens a new byte stream to the node server (`ProxyTarget.connect`). */
  open: () => Promise<Duplex>;
  /** Pool streams between requests. Off for upgrades: an upgraded stream never comes back. */
  keepAlive: boolean;
  /** A stream that takes longer than this to open is given up on (the request gets a 503). */
  connectTimeoutMs: number;
  /** A pooled stream idle this long is closed. */
  idleMs: number;
}

/** Thrown to requests whose stream would arrive after the agent was destroyed. */
export class StreamAgentClosedError extends Error {
  readonly code = 'ERR_STREAM_AGENT_CLOSED';
  constructor() {
    super('the session was forgotten while its stream was opening');
  }
}

/**
 * An http.Agent whose connections all come from `open()`: no host or port is ever taken from
 * the request options. Node (≥ 15) accepts the stream through `createConnection`'s callback,
 * so opening can be asynchronous (an ssh channel). Keep-alive pooling is Node's own; this
 * class adds an idle limit that does not depend on `socket.setTimeout`, which an ssh2
 * channel lacks, and remembers every stream it made, so `destroy()` also reaches streams
 * still opening and streams detached by a WebSocket upgrade.
 */
export class StreamAgent extends Agent {
  private readonly streams = new Set<Duplex>();
  private readonly idleTimers = new Map<Duplex, NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly streamOptions: StreamAgentOptions) {
    super({ keepAlive: streamOptions.keepAlive });
  }

  /** Streams opened and not yet closed (pooled, busy and upgraded alike). */
  get openStreams(): number {
    return this.streams.size;
  }

  override createConnection(
    _options: ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void
  ): undefined {
    // Node only reads the stream when there is no error.
    const fail = (err: unknown) =>
      callback?.(err instanceof Error ? err : new Error(String(err)), undefined as unknown as Duplex);
    openWithin(this.streamOptions.open, this.streamOptions.connectTimeoutMs).then(stream => {
      if (this.closed) {
        stream.destroy();
        fail(new StreamAgentClosedError());
      } else callback?.(null, this.adopt(stream));
    }, fail);
    return undefined;
  }

  /** Called by Node when a finished request's stream goes back to the pool. */
  override keepSocketAlive(stream: Duplex): boolean {
    if (this.closed) return false;
    (stream as AgentStream).unref();
    const timer = setTimeout(() => stream.destroy(), this.streamOptions.idleMs);
    timer.unref();
    this.idleTimers.set(stream, timer);
    return true;
  }

  /** Called by Node when a pooled stream is handed to a new request. */
  override reuseSocket(stream: Duplex, request: ClientRequest): void {
    this.clearIdle(stream);
    super.reuseSocket(stream, request);
  }

  override destroy(): void {
    this.closed = true;
    super.destroy();
    for (const stream of this.streams) stream.destroy();
  }

  private adopt(stream: Duplex): Duplex {
    withSocketMethods(stream);
    (stream as AgentStream).setNoDelay(true);
    // Errors reach the request through Node's own listener; this one only guarantees that a
    // stream between owners (pooled, just opened, just upgraded) never has none.
    stream.on('error', () => undefined);
    this.streams.add(stream);
    stream.once('close', () => {
      this.streams.delete(stream);
      this.clearIdle(stream);
    });
    return stream;
  }

  private clearIdle(stream: Duplex): void {
    clearTimeout(this.idleTimers.get(stream));
    this.idleTimers.delete(stream);
  }
}

type SocketMethod = 'setTimeout' | 'setNoDelay' | 'setKeepAlive' | 'ref' | 'unref';
type AgentStream = Duplex & Record<SocketMethod, (...args: unknown[]) => unknown>;

/**
 * Node's agent and http-proxy call these net.Socket methods on every connection; an ssh2
 * channel has none of them. For such streams they do nothing: idle limits live in
 * StreamAgent, and TCP options belong to the ssh connection underneath.
 */
export function withSocketMethods(stream: Duplex): Duplex {
  const target = stream as Partial<AgentStream>;
  for (const name of ['setTimeout', 'setNoDelay', 'setKeepAlive', 'ref', 'unref'] as const) {
    if (typeof target[name] !== 'function') {
      Object.defineProperty(stream, name, { value: () => stream, configurable: true, writable: true });
    }
  }
  return stream;
}

/** `open()`, given up after `ms`; a stream that arrives late is closed, not leaked. */
function openWithin(open: () => Promise<Duplex>, ms: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(Object.assign(new Error(`no stream to the node server after ${ms} ms`), { code: 'ETIMEDOUT' }));
    }, ms);
    Promise.resolve()
      .then(open)
      .then(
        stream => {
          clearTimeout(timer);
          if (late) stream.destroy();
          else resolve(stream);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        }
      );
  });
}
