import { Duplex, type Readable, type Writable } from 'node:stream';
import { encodeFrame, FrameReader, FrameType, HANDSHAKE, MAX_PAYLOAD, WINDOW, type Frame } from './frames';

/*
 * The companion's side of a relay (see frames.ts and sessions/relay-script.ts): one process's
 * stdin/stdout, many channels, each handed out as an ordinary Duplex, so whatever reads a node's
 * socket (the node proxy, a kernel channel) need not know a relay carries it.
 */

/** The relay process as the mux needs it: a Transport's long-lived exec, or a local child. */
export interface RelayProcess {
  stdin: Writable;
  stdout: Readable;
}

export interface RelayHello {
  version: number;
  pid: number;
  python: string;
  /** The address of the host srun runs on, as the node reaches it ('' when Slurm did not say). */
  launchHost?: string;
}

/** Why a channel could not be opened, in the relay's words (`ENOENT`, `ECONNREFUSED`, `bad-name`…). */
export class RelayOpenError extends Error {
  constructor(
    readonly name: string,
    readonly code: string
  ) {
    super(`the relay could not open ${JSON.stringify(name)}: ${code}`);
  }
}

const NEWLINE = Buffer.from('\n');

/** A keepalive often enough that the relay's idle exit (60 s) never fires while we live. */
export const PING_MS = 15_000;

interface Channel {
  name: string;
  stream: Duplex;
  /** Bytes we may still send before the relay grants more. */
  credit: number;
  /** Bytes received and consumed that the relay has not been granted back yet. */
  consumed: number;
  queue: { chunk: Buffer; done: (err?: Error | null) => void }[];
  opened?: () => void;
  failed?: (err: Error) => void;
  /** open() has resolved with the stream: from then on its owner listens for its errors. */
  handedOut?: boolean;
}

export class RelayMux {
  readonly ready: Promise<RelayHello>;
  private readonly reader = new FrameReader();
  private readonly channels = new Map<number, Channel>();
  private next = 1;
  private ended: Error | null = null;
  private outgoing: Buffer[] = [];
  private readonly dials = new Map<number, { name: string; resolve: () => void; reject: (err: Error) => void }>();
  private flushing = false;
  private ackOwed = false;
  private readonly ping: NodeJS.Timeout;
  private settle!: { resolve: (h: RelayHello) => void; reject: (e: Error) => void };

  constructor(private readonly proc: RelayProcess) {
    this.ready = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    // Nobody may be waiting on `ready` when the relay fails later: the channels carry the error.
    this.ready.catch(() => undefined);
    // EPIPE: the relay is gone; its output's end says so in the same words, whichever comes first.
    proc.stdin.on('error', err =>
      this.end((err as NodeJS.ErrnoException).code === 'EPIPE' ? new Error('the relay ended') : err)
    );
    proc.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    proc.stdout.on('end', () => this.end(new Error('the relay ended')));
    proc.stdout.on('error', err => this.end(err));
    proc.stdin.write(HANDSHAKE);
    this.ping = setInterval(() => this.send(FrameType.Ping, 0), PING_MS);
    this.ping.unref();
  }

  get channelCount(): number {
    return this.channels.size;
  }

  /** Why the relay is gone (it exited, failed, or was closed); null while it serves. */
  get failure(): Error | null {
    return this.ended;
  }

  /** A byte stream to `<socket dir>/<name>` on the node; rejects with RelayOpenError. */
  async open(name: string): Promise<Duplex> {
    await this.ready;
    if (this.ended) throw this.ended;
    const id = this.next++;
    const channel: Channel = { name, credit: WINDOW, consumed: 0, queue: [], stream: undefined as unknown as Duplex };
    const send = (type: FrameType, payload?: Buffer) => this.send(type, id, payload);
    channel.stream = new Duplex({
      // The window: what the relay may send before the consumer has read it.
      readableHighWaterMark: WINDOW,
      read: () => {
        if (channel.consumed === 0) return;
        const grant = Buffer.alloc(4);
        grant.writeUInt32BE(channel.consumed);
        channel.consumed = 0;
        send(FrameType.Credit, grant);
      },
      write: (chunk: Buffer, _encoding, done) => {
        if (!this.channels.has(id)) return done(this.ended ?? new Error('the socket on the node closed'));
        channel.queue.push({ chunk, done });
        this.flush(id, channel);
      },
      final: done => {
        send(FrameType.Eof);
        done();
      },
      destroy: (err, done) => {
        if (this.channels.delete(id)) send(FrameType.Close);
        for (const item of channel.queue.splice(0)) item.done(err ?? new Error('channel closed'));
        done(err);
      }
    });
    this.channels.set(id, channel);
    return new Promise((resolve, reject) => {
      channel.opened = () => {
        channel.handedOut = true;
        resolve(channel.stream);
      };
      channel.failed = reject;
      send(FrameType.Open, Buffer.from(name, 'utf8'));
    });
  }

  /**
   * Asks the relay to join `<socket dir>/<name>` to a connection it makes out to the hub's port
   * on the login node, presenting `secret`; resolves once it has. Rejects with RelayOpenError.
   */
  async dial(name: string, hub: { port: number; secret: string }): Promise<void> {
    await this.ready;
    if (this.ended) throw this.ended;
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.dials.set(id, { name, resolve, reject });
      this.send(FrameType.Dial, id, Buffer.from(JSON.stringify({ name, port: hub.port, secret: hub.secret })));
    });
  }

  /** Ends the relay (it exits when its stdin closes) and every channel with it. */
  close(): void {
    this.end(new Error('the relay was closed'), false);
    this.proc.stdin.end();
  }

  private send(type: FrameType, channel: number, payload?: Buffer): void {
    if (this.ended) return; // every channel has been destroyed with the reason already
    this.outgoing.push(encodeFrame(type, channel, payload));
    this.scheduleFlush();
  }

  /**
   * Frames made in one turn of the event loop go out in one write. Slurm carries a step's stdin
   * and stdout as one message per read over a TCP connection that keeps Nagle's algorithm on:
   * a second small message waits for the first one's ACK, and the receiver delays that ACK by
   * up to 40 ms. So: as few writes as possible, and (see onData) an answer to every burst the
   * relay sends, which carries the ACK its next message waits for.
   */
  private scheduleFlush(): void {
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => {
      this.flushing = false;
      if (this.ended) return;
      if (this.outgoing.length === 0 && this.ackOwed) this.outgoing.push(encodeFrame(FrameType.Pad, 0, NEWLINE));
      this.ackOwed = false;
      if (this.outgoing.length === 0) return;
      const batch = this.outgoing.length === 1 ? this.outgoing[0] : Buffer.concat(this.outgoing);
      this.outgoing = [];
      this.proc.stdin.write(batch);
    });
  }

  /** Sends queued writes as far as the channel's credit goes. */
  private flush(id: number, channel: Channel): void {
    while (channel.queue.length > 0 && channel.credit > 0) {
      const head = channel.queue[0];
      const n = Math.min(head.chunk.length, channel.credit, MAX_PAYLOAD);
      this.send(FrameType.Data, id, head.chunk.subarray(0, n));
      channel.credit -= n;
      if (n === head.chunk.length) {
        channel.queue.shift();
        head.done();
      } else head.chunk = head.chunk.subarray(n);
    }
  }

  private onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch (err) {
      this.end(err as Error);
      this.proc.stdin.end();
      return;
    }
    for (const frame of frames) this.onFrame(frame);
    // Every burst is answered, a partial frame too (its rest waits for the ACK this carries),
    // with padding if nothing else goes out; the relay does not answer padding alone, so the
    // exchange of answers ends there.
    this.ackOwed = true;
    this.scheduleFlush();
  }

  private onFrame({ type, channel: id, payload }: Frame): void {
    if (type === FrameType.Hello) {
      try {
        this.settle.resolve(JSON.parse(payload.toString('utf8')) as RelayHello);
      } catch (err) {
        this.end(new Error(`an unreadable hello from the relay: ${(err as Error).message}`));
      }
      return;
    }
    if (type === FrameType.Pong || type === FrameType.Pad) return;
    const dial = this.dials.get(id);
    if (dial && (type === FrameType.Opened || type === FrameType.Error)) {
      this.dials.delete(id);
      if (type === FrameType.Opened) dial.resolve();
      else dial.reject(new RelayOpenError(dial.name, payload.toString('ascii')));
      return;
    }
    const channel = this.channels.get(id);
    if (!channel) return; // a frame for a channel we closed: the relay had not seen CLOSE yet
    switch (type) {
      case FrameType.Opened:
        channel.opened?.();
        break;
      case FrameType.Error:
        this.channels.delete(id);
        channel.failed?.(new RelayOpenError(channel.name, payload.toString('ascii')));
        channel.stream.destroy();
        break;
      case FrameType.Data:
        channel.consumed += payload.length;
        channel.stream.push(payload);
        break;
      case FrameType.Credit:
        if (payload.length === 4) channel.credit += payload.readUInt32BE(0);
        this.flush(id, channel);
        break;
      case FrameType.Eof:
        channel.stream.push(null);
        break;
      case FrameType.Close: {
        this.channels.delete(id);
        // The socket on the node closed: end the readable side, and destroy the stream only once
        // what came has been read (destroying drops a readable buffer nobody has read yet).
        const { stream } = channel;
        stream.push(null);
        for (const item of channel.queue.splice(0)) item.done(new Error('the socket on the node closed'));
        if (stream.readableEnded) stream.destroy();
        else stream.once('end', () => stream.destroy());
        break;
      }
    }
  }

  /** Ends every channel: with `err` when the relay failed, quietly when its owner closed it. */
  private end(err: Error, failed = true): void {
    if (this.ended) return;
    this.ended = err;
    clearInterval(this.ping);
    this.settle.reject(err);
    for (const dial of this.dials.values()) dial.reject(err);
    this.dials.clear();
    for (const channel of this.channels.values()) {
      channel.failed?.(err);
      // A channel still opening was never handed out: its open() rejects with the reason above,
      // and an 'error' on a stream nobody holds would be unheard and end the companion.
      channel.stream.destroy(failed && channel.handedOut ? err : undefined);
    }
    this.channels.clear();
  }
}
