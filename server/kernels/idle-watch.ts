/**
 * Watches the bytes a remote kernel's iopub channel sends towards Jupyter, to tell an idle
 * kernel (one that may be released, see sessions/idle-policy.ts) from a busy one. Like the
 * control channel's ShutdownWatch it only looks: the bytes pass untouched, nothing is answered.
 *
 * iopub is a ZMQ PUB socket speaking ZMTP 3 (rfc.zeromq.org/spec/23): a 64-byte greeting, then
 * frames of `flags, size (1 byte, or 8 with the LONG flag), body`. Command frames (READY, PING)
 * say nothing about the kernel. A Jupyter message is one multipart message: topic frames,
 * `<IDS|MSG>`, the HMAC, then header, parent_header, metadata and content as JSON, then buffers
 * (jupyter-client's messaging docs, "The Wire Protocol"). Only the header's `msg_type` and a
 * status message's `execution_state` are read; large frames are counted past, never buffered.
 */

const GREETING_BYTES = 64;
const DELIMITER = '<IDS|MSG>';
/** Frames larger than this are skipped unread: headers, identities and status contents are far smaller. */
const MAX_READ_FRAME = 64 * 1024;

const FLAG_MORE = 0x01;
const FLAG_LONG = 0x02;
const FLAG_COMMAND = 0x04;

export type ExecutionState = 'busy' | 'idle' | 'starting';

const STATUS_TYPE = /"msg_type"\s*:\s*"status"/;
const EXECUTION_STATE = /"execution_state"\s*:\s*"(busy|idle|starting)"/;

/**
 * One kernel's activity as its iopub messages show it: the last `execution_state` and when
 * something last happened. Every iopub connection gets its own decoder (`stream()`): Jupyter
 * opens one per client, and each starts with its own greeting.
 */
export class IdleWatch {
  private state: ExecutionState | undefined;
  private lastActivity: number;
  /** A connection whose bytes were not ZMTP: until the next status message, the kernel's state is unknown. */
  private blind = false;
  private readonly now: () => number;
  private readonly unreadable: (() => void) | undefined;

  /** `unreadable`: told when a connection's bytes are not ZMTP 3 (the kernel then never counts as idle). */
  constructor(options: { now?: () => number; unreadable?: () => void } = {}) {
    this.now = options.now ?? Date.now;
    this.unreadable = options.unreadable;
    // A kernel just started (or just watched) counts as active now.
    this.lastActivity = this.now();
  }

  /** A decoder for one new iopub connection; feed it that connection's bytes in order. */
  stream(): (chunk: Buffer) => void {
    const decoder = new ZmtpDecoder({
      message: (header, content) => this.onMessage(header, content),
      broken: () => {
        this.blind = true;
        this.unreadable?.();
      }
    });
    return chunk => decoder.feed(chunk);
  }

  /** The last execution state seen, if any. */
  executionState(): ExecutionState | undefined {
    return this.state;
  }

  /**
   * When the kernel last did something, while it is not busy; undefined while it is busy, or
   * while its iopub bytes could not be read (unknown is never taken for idle).
   */
  idleSince(): number | undefined {
    if (this.blind || this.state === 'busy') return undefined;
    return this.lastActivity;
  }

  private onMessage(header: string | undefined, content: string | undefined): void {
    this.lastActivity = this.now();
    if (header === undefined || !STATUS_TYPE.test(header)) return;
    const state = content === undefined ? undefined : EXECUTION_STATE.exec(content)?.[1];
    if (!state) return;
    this.state = state as ExecutionState;
    this.blind = false;
  }
}

interface DecoderEvents {
  /** A whole Jupyter message: its header and content frames as text, when they were small enough to read. */
  message(header: string | undefined, content: string | undefined): void;
  /** The bytes are not ZMTP 3 (or not a stream we follow): the decoder ignores the rest of them. */
  broken(): void;
}

type Phase = 'greeting' | 'flags' | 'size' | 'body' | 'broken';

/**
 * An incremental ZMTP 3 frame decoder for one direction of one connection. Never throws: input
 * it cannot follow turns it `broken`, after which it ignores everything.
 */
class ZmtpDecoder {
  private phase: Phase = 'greeting';
  private greeting = Buffer.alloc(0);
  private flags = 0;
  /** Bytes of the size field still wanted, and what was read of it. */
  private sizeBytes: number[] = [];
  private remaining = 0;
  /** The body of the current frame, when it is one to read; undefined while skipping it. */
  private body: Buffer[] | undefined;
  private bodyLength = 0;
  // The current multipart message.
  private frameIndex = 0;
  private delimiterAt = -1;
  private header: string | undefined;
  private content: string | undefined;
  private isStatus = false;

  constructor(private readonly events: DecoderEvents) {}

  feed(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && this.phase !== 'broken') {
      switch (this.phase) {
        case 'greeting': {
          const take = Math.min(GREETING_BYTES - this.greeting.length, chunk.length - at);
          this.greeting = Buffer.concat([this.greeting, chunk.subarray(at, at + take)]);
          at += take;
          if (!this.greetingSoFarValid()) this.fail();
          else if (this.greeting.length === GREETING_BYTES) this.phase = 'flags';
          break;
        }
        case 'flags': {
          this.flags = chunk[at++];
          // Bits 3-7 are reserved and always zero in ZMTP 3.
          if (this.flags & 0xf8) {
            this.fail();
            break;
          }
          this.sizeBytes = [];
          this.phase = 'size';
          break;
        }
        case 'size': {
          this.sizeBytes.push(chunk[at++]);
          const want = this.flags & FLAG_LONG ? 8 : 1;
          if (this.sizeBytes.length < want) break;
          const size = this.sizeBytes.reduce((n, b) => n * 256 + b, 0);
          // A size beyond 2^53 cannot be counted exactly, and no kernel sends one: not ours to follow.
          if (!Number.isSafeInteger(size)) {
            this.fail();
            break;
          }
          this.startBody(size);
          break;
        }
        case 'body': {
          const take = Math.min(this.remaining, chunk.length - at);
          if (this.body) {
            this.body.push(chunk.subarray(at, at + take));
            this.bodyLength += take;
          }
          at += take;
          this.remaining -= take;
          if (this.remaining === 0) this.endFrame();
          break;
        }
      }
    }
  }

  /** The signature (0xFF, 8 bytes, 0x7F) and a major version of 3 or more, as far as they have arrived. */
  private greetingSoFarValid(): boolean {
    const g = this.greeting;
    if (g.length > 0 && g[0] !== 0xff) return false;
    if (g.length > 9 && g[9] !== 0x7f) return false;
    if (g.length > 10 && g[10] < 3) return false;
    return true;
  }

  private startBody(size: number): void {
    this.remaining = size;
    this.bodyLength = 0;
    this.body = this.wantsBody(size) ? [] : undefined;
    this.phase = 'body';
    if (size === 0) this.endFrame();
  }

  /** Read a frame only if it may be the delimiter, the header, or a status message's content. */
  private wantsBody(size: number): boolean {
    if (this.flags & FLAG_COMMAND || size > MAX_READ_FRAME) return false;
    if (this.delimiterAt < 0) return size === DELIMITER.length;
    const index = this.frameIndex - this.delimiterAt;
    return index === 2 || (index === 5 && this.isStatus);
  }

  private endFrame(): void {
    this.phase = 'flags';
    if (this.flags & FLAG_COMMAND) return;
    const text = this.body ? Buffer.concat(this.body, this.bodyLength).toString('utf8') : undefined;
    this.body = undefined;
    if (this.delimiterAt < 0) {
      if (text === DELIMITER) this.delimiterAt = this.frameIndex;
    } else {
      const index = this.frameIndex - this.delimiterAt;
      if (index === 2) {
        this.header = text;
        this.isStatus = text !== undefined && STATUS_TYPE.test(text);
      } else if (index === 5) this.content = text;
    }
    this.frameIndex++;
    if (this.flags & FLAG_MORE) return;
    // The last frame of a message: a whole message went by, whether or not it was a Jupyter one.
    this.events.message(this.header, this.content);
    this.frameIndex = 0;
    this.delimiterAt = -1;
    this.header = undefined;
    this.content = undefined;
    this.isStatus = false;
  }

  private fail(): void {
    this.phase = 'broken';
    this.body = undefined;
    this.greeting = Buffer.alloc(0);
    this.events.broken();
  }
}
