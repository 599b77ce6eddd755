/*
 * The relay's wire format (see relay-script.ts for the node side). One byte stream (a job
 * step's stdio) carries many channels, each a byte stream to one unix socket on the node:
 *
 *   handshake  each side sends MAGIC and the 256 byte values 0..255 once, first: the stream
 *              must be 8-bit clean both ways; bytes before the relay's MAGIC (a login banner, a
 *              module system's chatter) are skipped, up to MAX_JUNK.
 *   frame      u8 type | u32 channel | u32 length (big-endian) | payload (at most MAX_PAYLOAD)
 *
 * Flow control is per channel: a sender may have at most WINDOW bytes of DATA unacknowledged;
 * the receiver grants more with CREDIT as its consumer drains, so one slow reader stalls only
 * its own channel, never the shared stream.
 */

export const MAGIC = Buffer.from('\x00HPCLAB-RELAY/1\n', 'latin1');
export const PATTERN = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
export const HEADER_BYTES = 9;
export const MAX_PAYLOAD = 64 * 1024;
/** Initial credit per channel and direction. */
export const WINDOW = 256 * 1024;
/** Bytes before the relay's MAGIC that are skipped before giving up on the stream. */
export const MAX_JUNK = 64 * 1024;

export const FrameType = {
  Hello: 0,
  Open: 1,
  Opened: 2,
  Data: 3,
  Eof: 4,
  Close: 5,
  Error: 6,
  Credit: 7,
  Ping: 8,
  Pong: 9,
  /**
   * A newline, ignored: the relay ends every write with one, because Slurm passes a step's
   * output on a line at a time and would hold a batch without one back (until 1 KiB more came).
   */
  Pad: 10,
  /**
   * `{name, port, secret}` (JSON): join the socket `name` to a TCP connection the relay makes to
   * the companion's hub on the login node, copying bytes there instead of through stdio (the
   * bulk lane). Answered like OPEN; the channel then carries no frames.
   */
  Dial: 11
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export interface Frame {
  type: number;
  channel: number;
  payload: Buffer;
}

export function encodeFrame(type: FrameType, channel: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  if (payload.length > MAX_PAYLOAD)
    throw new RangeError(`relay frame of ${payload.length} bytes: at most ${MAX_PAYLOAD}`);
  const frame = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  frame.writeUInt8(type, 0);
  frame.writeUInt32BE(channel, 1);
  frame.writeUInt32BE(payload.length, 5);
  payload.copy(frame, HEADER_BYTES);
  return frame;
}

/** The opening both sides send. */
export const HANDSHAKE = Buffer.concat([MAGIC, PATTERN]);

/**
 * Reads the relay's side of a stream: finds the handshake (skipping junk before it, checking
 * the pattern came through intact), then cuts frames out of chunks split anywhere.
 */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);
  private synced = false;

  /** Frames complete in what has come so far; throws when the stream is not the relay's. */
  push(chunk: Buffer): Frame[] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    if (!this.synced) {
      const at = this.buffer.indexOf(MAGIC);
      if (at < 0) {
        if (this.buffer.length > MAX_JUNK + MAGIC.length)
          throw new Error(
            `no relay greeting in the first ${MAX_JUNK} bytes: ${JSON.stringify(this.buffer.subarray(0, 200).toString('latin1'))}`
          );
        return [];
      }
      if (at > MAX_JUNK) throw new Error(`${at} bytes of other output before the relay's greeting`);
      const end = at + HANDSHAKE.length;
      if (this.buffer.length < end) return [];
      if (!this.buffer.subarray(at + MAGIC.length, end).equals(PATTERN))
        throw new Error('the stream to the relay is not 8-bit clean: its greeting came back changed');
      this.synced = true;
      this.buffer = this.buffer.subarray(end);
    }
    const frames: Frame[] = [];
    while (this.buffer.length >= HEADER_BYTES) {
      const length = this.buffer.readUInt32BE(5);
      if (length > MAX_PAYLOAD) throw new Error(`relay frame of ${length} bytes: at most ${MAX_PAYLOAD}`);
      if (this.buffer.length < HEADER_BYTES + length) break;
      frames.push({
        type: this.buffer.readUInt8(0),
        channel: this.buffer.readUInt32BE(1),
        // A copy: the buffer it came from is kept only until the next chunk.
        payload: Buffer.from(this.buffer.subarray(HEADER_BYTES, HEADER_BYTES + length))
      });
      this.buffer = this.buffer.subarray(HEADER_BYTES + length);
    }
    return frames;
  }
}
