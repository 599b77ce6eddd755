import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { PtyOptions, PtyProcess } from '../transport/types';

/*
 * The local end of `hpclab shell`: this terminal wired to a command on a remote one. Keys go
 * through untouched (the terminal in raw mode), so Ctrl-C reaches the remote foreground command
 * as \x03 and interrupts it there instead of ending hpclab; the size follows this window; the
 * exit code is the command's. Whatever happens, the terminal is given back as it was found.
 */

/** This process's terminal, or what stands for it (pipes in a test or a script). */
export interface LocalTerminal {
  stdin: Readable & { isTTY?: boolean; isRaw?: boolean; setRawMode?(raw: boolean): unknown };
  stdout: Writable & { isTTY?: boolean; rows?: number; columns?: number };
}

/** Where signals and the process's exit are heard: `process`, or an EventEmitter in tests. */
export interface ProcessEvents {
  on(event: 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'exit', listener: () => void): unknown;
  off(event: 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'exit', listener: () => void): unknown;
}

/** A signal's name as Node has it (`SIGHUP`): SSH names them without the prefix (`HUP`). */
export function signalName(signal: string): string {
  return signal.startsWith('SIG') ? signal : `SIG${signal}`;
}

/** What an ended command's end becomes as an exit code: its own, else 128 + the signal, as shells do. */
export function exitCodeOf(end: { code: number | null; signal: string | null }): number {
  if (end.code !== null) return end.code;
  const number = end.signal ? (constants.signals as Record<string, number>)[signalName(end.signal)] : undefined;
  return number ? 128 + number : 1;
}

/**
 * The terminal to ask for: this one's type and size, or 24x80 when output goes to a pipe.
 * `inheritTerminal` when both ends are a terminal (only a local transport acts on it).
 */
export function ptyOptionsFor(terminal: LocalTerminal, env: NodeJS.ProcessEnv): PtyOptions {
  const tty = Boolean(terminal.stdout.isTTY);
  return {
    term: env.TERM || 'xterm-256color',
    rows: (tty && terminal.stdout.rows) || 24,
    cols: (tty && terminal.stdout.columns) || 80,
    inheritTerminal: tty && Boolean(terminal.stdin.isTTY)
  };
}

/** How long output still in flight may take to arrive once the command has ended. */
const DRAIN_MS = 2_000;

/** Ctrl-D: a terminal's end of input, sent when local input ends (a pipe that ran dry). */
const EOT = '\x04';

/** Runs the session to its end; resolves with the command's end, after its last output is written. */
export async function runPtySession(
  proc: PtyProcess,
  terminal: LocalTerminal,
  events: ProcessEvents
): Promise<{ code: number | null; signal: string | null }> {
  const undo: (() => void)[] = [];
  const listen = (event: Parameters<ProcessEvents['on']>[0], listener: () => void) => {
    events.on(event, listener);
    undo.push(() => events.off(event, listener));
  };
  try {
    // Told to stop (SIGTERM, or the window closed): hang the remote terminal up as well.
    listen('SIGTERM', () => proc.kill());
    listen('SIGHUP', () => proc.kill());
    if (!proc.stdin || !proc.stdout) {
      // The command has this very terminal (a local cluster): a Ctrl-C before it sets the
      // terminal raw reaches it too, and it decides; hpclab must not leave first.
      listen('SIGINT', () => undefined);
      return await proc.exited;
    }
    wireInput(proc.stdin, terminal, listen, undo);
    proc.stdout.pipe(terminal.stdout, { end: false });
    const output = new Promise<void>(resolve => {
      proc.stdout!.once('end', resolve);
      proc.stdout!.once('close', resolve);
    });
    const { stdout } = terminal;
    if (stdout.isTTY) {
      const onResize = () => proc.resize(stdout.rows || 24, stdout.columns || 80);
      stdout.on('resize', onResize);
      undo.push(() => stdout.off('resize', onResize));
    }
    const end = await proc.exited;
    // Output the command printed just before it ended may still be on its way.
    await Promise.race([output, new Promise(resolve => setTimeout(resolve, DRAIN_MS).unref())]);
    return end;
  } finally {
    for (const step of undo.reverse()) step();
  }
}

/** Keys (or piped input) to the command; raw mode on a terminal, undone by `undo`. */
function wireInput(
  remote: Writable,
  terminal: LocalTerminal,
  listen: (event: 'SIGINT' | 'exit', listener: () => void) => void,
  undo: (() => void)[]
): void {
  const { stdin } = terminal;
  // Keys typed after the command ended have nowhere to go; its end is reported by `exited`.
  remote.on('error', () => undefined);
  if (stdin.isTTY && stdin.setRawMode) {
    const wasRaw = Boolean(stdin.isRaw);
    const restore = () => stdin.setRawMode!(wasRaw);
    stdin.setRawMode(true);
    undo.push(restore);
    // Even if something ends the process without unwinding (process.exit elsewhere).
    listen('exit', restore);
  }
  // A SIGINT still reaches hpclab when input is not a raw terminal (piped, or `kill -INT`): it
  // is meant for the remote command, as Ctrl-C on its terminal.
  listen('SIGINT', () => remote.write('\x03'));
  const onData = (chunk: Buffer | string) => remote.write(chunk);
  // Piped input that runs dry is the end of input on a terminal (Ctrl-D), so a shell fed a
  // script without `exit` still ends; closing our side alone would not end it.
  const onEnd = () => remote.end(EOT);
  stdin.on('data', onData);
  stdin.once('end', onEnd);
  stdin.resume();
  undo.push(() => {
    stdin.off('data', onData);
    stdin.off('end', onEnd);
    // A flowing stdin would keep hpclab running after the command ended.
    stdin.pause();
  });
}
