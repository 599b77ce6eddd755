import type { Duplex, Readable, Writable } from 'node:stream';
import type { SFTPWrapper } from 'ssh2';

/** What a command printed and how it ended. A non-zero exit is not an error here: callers decide. */
export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Bytes written to the command's standard input, then closed. */
  stdin?: string | Buffer;
  /** Kill the command after this long (default 60 s). */
  timeoutMs?: number;
  /** Cap on stdout+stderr kept; past it the command is killed (default 16 MiB). */
  maxOutputBytes?: number;
}

/**
 * A command left running with its stdio as streams (a relay step): stdin to write, stdout to
 * read, stderr kept by the caller for its words; `exited` settles when it ends.
 */
export interface RemoteProcess {
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** Ends it now (the channel or the child), whatever it is doing. */
  kill(): void;
}

/** The terminal a command gets from `execPty`: its type ($TERM) and size in characters. */
export interface PtyOptions {
  term: string;
  rows: number;
  cols: number;
  /**
   * The caller's own stdin and stdout are a terminal the command may use directly. Only the
   * local transport acts on it (the command inherits that terminal, as it would from a shell);
   * over SSH the terminal is always the remote one sshd allocates.
   */
  inheritTerminal?: boolean;
}

/**
 * A command running on a terminal (`hpclab shell`): what it prints, stderr included, comes on
 * `stdout` as from any terminal; keystrokes (Ctrl-C as \x03) go to `stdin`. Both are null when
 * the command took over the caller's own terminal (see PtyOptions.inheritTerminal).
 */
export interface PtyProcess {
  stdin: Writable | null;
  stdout: Readable | null;
  /** Tells the command's terminal its new size (SIGWINCH on the far side). */
  resize(rows: number, cols: number): void;
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** Hangs up its terminal now, as closing a terminal window does. */
  kill(): void;
}

/** Where a stream goes: a TCP port or a unix socket, as seen from the cluster side. */
export type StreamTarget = { host: string; port: number } | { socketPath: string };

/** One question from the remote side (keyboard-interactive, key passphrase). */
export interface PromptRequest {
  cluster: string;
  kind: 'keyboard-interactive' | 'passphrase';
  name: string;
  instructions: string;
  prompts: { prompt: string; echo: boolean }[];
}

/** Answers prompts: the CLI asks on the TTY, the companion hands them to the UI. */
export type Prompter = (request: PromptRequest) => Promise<string[]>;

/**
 * How everything above reaches a cluster. Commands are argv arrays, never shell strings;
 * the one place that renders argv for a remote shell is `quote.ts`.
 */
export interface Transport {
  readonly cluster: string;
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  openStream(target: StreamTarget): Promise<Duplex>;
  /**
   * Starts a command and hands back its stdio as streams, for as long as it runs: no timeout,
   * no output cap (the caller reads as it goes). It ends with the connection.
   */
  execStream(argv: readonly string[]): Promise<RemoteProcess>;
  readFile(path: string, options?: { maxBytes?: number }): Promise<Buffer>;
  /** Writes atomically enough for small files; `mode` defaults to 0600. */
  writeFile(path: string, data: string | Buffer, options?: { mode?: number }): Promise<void>;
  /**
   * Why the link to the cluster is down right now (the last connection attempt's error), or
   * undefined while it is up or has not failed. Asking starts an attempt in the background when
   * none runs: someone is waiting, so the link should come back as soon as it can. (A local
   * transport has no link and does not implement it.)
   */
  linkDown?(): Error | undefined;
  /**
   * Starts an interactive command on a terminal of its own, for as long as it runs: no timeout,
   * no output cap. Absent where a transport cannot give one.
   */
  execPty?(argv: readonly string[], pty: PtyOptions): Promise<PtyProcess>;
  /**
   * An SFTP session on the cluster's connection, for bulk file work (`hpclab sync`): one per
   * connection, shared, ending with it. Absent where the files are on this machine (local).
   */
  sftp?(): Promise<SFTPWrapper>;
  close(): Promise<void>;
}
