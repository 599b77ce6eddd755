import type { Readable } from 'node:stream';

export const DEFAULT_EXEC_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/**
 * Gathers a command's stdout and stderr up to a byte cap shared by both, so a runaway command
 * cannot fill the companion's memory. `onOverflow` fires once, when the cap is passed.
 */
export class OutputCollector {
  private readonly out: Buffer[] = [];
  private readonly err: Buffer[] = [];
  private bytes = 0;
  overflowed = false;

  constructor(
    private readonly maxBytes: number,
    private readonly onOverflow: () => void
  ) {}

  attach(stdout: Readable, stderr: Readable): void {
    stdout.on('data', (chunk: Buffer) => this.add(this.out, chunk));
    stderr.on('data', (chunk: Buffer) => this.add(this.err, chunk));
  }

  private add(into: Buffer[], chunk: Buffer): void {
    if (this.overflowed) return;
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      this.overflowed = true;
      this.onOverflow();
      return;
    }
    into.push(chunk);
  }

  stdout(): Buffer {
    return Buffer.concat(this.out);
  }

  stderr(): Buffer {
    return Buffer.concat(this.err);
  }
}

/** What a command's argv looks like in a message: short, and never the stdin payload. */
export function describeArgv(argv: readonly string[]): string {
  const text = argv.map(w => (/^[\w./:=@%+,-]+$/.test(w) ? w : JSON.stringify(w))).join(' ');
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
