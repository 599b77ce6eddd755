import * as readline from 'node:readline';
import type { Readable } from 'node:stream';
import type { Transport } from '../transport/types';

/** How a streamed step ended, and its last lines (what an error message shows). */
export interface StepResult {
  code: number | null;
  signal: string | null;
  tail: string[];
  /** The caller's signal ended it. */
  aborted: boolean;
}

/** Lines kept for an error message: pip's reason is at its end, after the traceback. */
export const TAIL_LINES = 25;
/** One line of pip's output shown at most this long (a wrapped dependency list can be huge). */
const LINE_MAX = 2000;

/**
 * Runs a long command (venv, conda, pip) with `execStream`, handing each line it prints to
 * `onLine` as it comes, so a pip install of minutes shows progress instead of a spinner.
 * An abort kills the command; the result says so.
 */
export async function streamStep(
  transport: Transport,
  argv: string[],
  onLine: (line: string) => void,
  signal?: AbortSignal
): Promise<StepResult> {
  const tail: string[] = [];
  const take = (line: string) => {
    const shown = line.length > LINE_MAX ? `${line.slice(0, LINE_MAX)}…` : line;
    tail.push(shown);
    if (tail.length > TAIL_LINES) tail.shift();
    onLine(shown);
  };
  const proc = await transport.execStream(argv);
  let aborted = false;
  const abort = () => {
    aborted = true;
    proc.kill();
  };
  if (signal?.aborted) abort();
  else signal?.addEventListener('abort', abort, { once: true });
  // Nothing to read: pip and conda are told not to ask (--no-input, --yes), and an open stdin
  // would keep a remote command waiting for the end of input.
  proc.stdin.end();
  const read = (stream: Readable) =>
    new Promise<void>(resolve => {
      const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
      lines.on('line', line => take(line.replace(/\r/g, '')));
      lines.on('close', resolve);
    });
  try {
    const [ended] = await Promise.all([proc.exited, read(proc.stdout), read(proc.stderr)]);
    return { ...ended, tail, aborted };
  } finally {
    signal?.removeEventListener('abort', abort);
  }
}
