import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { Duplex } from 'node:stream';
import { TransportError } from '../errors';
import type { ProxyCommandSpec } from './proxy-command';

export interface ProxyProcessOptions {
  cluster: string;
  /** Where the command's stderr lines and its exit go, one message a call. */
  log: (message: string) => void;
  /** Given to the command as SSH_AUTH_SOCK, so an ssh it runs uses the agent hpclab uses. */
  agentSocket?: string;
}

/** How many of the command's last stderr lines an error quotes. */
const TAIL_LINES = 5;
const MAX_LINE_CHARS = 500;
/** After stdin is closed, how long the command may take to deliver the last bytes and exit. */
const EXIT_GRACE_MS = 500;
/** How long a command that ignores SIGHUP gets before SIGKILL. */
const KILL_GRACE_MS = 3_000;
/** How long a failed connect waits for the command's exit status, to say why it failed. */
const EXIT_STATUS_WAIT_MS = 2_000;

/**
 * A ProxyCommand running as OpenSSH runs it (`$SHELL -c "exec <command>"`, else /bin/sh): its
 * stdin/stdout are the connection, given to ssh2 as `socket`; its stderr is logged with context
 * and the last lines kept for error messages. It is stopped when the socket ends or is destroyed,
 * so ending the ssh2 client ends the process too.
 */
export class ProxyProcess {
  readonly socket: Duplex;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly tailLines: string[] = [];
  private partial = '';
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private startFailure: TransportError | undefined;
  private stopping = false;
  /** stop() was called while the command still served the connection: its exit is ours. */
  private stopRequested = false;
  private stdoutEnded = false;
  private readonly closed: Promise<void>;

  constructor(
    readonly spec: ProxyCommandSpec,
    private readonly options: ProxyProcessOptions
  ) {
    const shell = process.env.SHELL || '/bin/sh';
    const env = options.agentSocket ? { ...process.env, SSH_AUTH_SOCK: options.agentSocket } : process.env;
    // `exec` as in OpenSSH: the command replaces the shell, so the pid we signal is the command's.
    this.child = spawn(shell, ['-c', `exec ${spec.command}`], { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.socket = this.makeSocket();
    this.closed = new Promise(resolve => this.child.once('close', () => resolve()));
    this.child.once('error', err => {
      // spawn failed ($SHELL missing or not executable): there is no process to wait for.
      this.startFailure = this.failure(`could not be started with ${shell}: ${err.message}`);
      this.socket.destroy(this.startFailure);
    });
    this.child.once('exit', (code, signal) => {
      this.exit = { code, signal };
      // An exit we asked for is expected; any other one drops the connection and is worth a line.
      if (!this.stopRequested) this.options.log(`${this.label()} ${this.describeExit()}`);
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (text: string) => this.onStderr(text));
    this.child.stderr.once('end', () => this.onStderr('\n'));
    this.child.stderr.on('error', err => options.log(`${this.label()}: its stderr could not be read: ${err.message}`));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The last stderr lines, joined; empty if it printed nothing. */
  stderrTail(): string {
    return this.tailLines.join(' | ');
  }

  /**
   * Why a connect through this command failed, if the command ended it: its exit status (waited
   * for briefly once its stdout has ended) and last stderr lines. Undefined while it still
   * serves the connection, so the caller's own error stands.
   */
  async exitFailure(): Promise<TransportError | undefined> {
    if (this.startFailure) return this.startFailure;
    // Still serving (stdout open): the command did not end the connection; do not wait on it.
    if (!this.exit && !this.stdoutEnded) return undefined;
    await Promise.race([this.closed, new Promise(r => setTimeout(r, EXIT_STATUS_WAIT_MS).unref())]);
    if (!this.exit) return undefined;
    const tail = this.stderrTail();
    const said = tail ? `: ${tail}` : ' (it printed nothing)';
    return this.failure(`${this.describeExit()} before the SSH handshake${said}`);
  }

  /**
   * Ends the command: stdin closed first so it can pass on the SSH disconnect and exit by
   * itself (nc and ssh -W do), then SIGHUP as OpenSSH sends it, then SIGKILL.
   */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    if (this.exit || this.startFailure) return;
    this.stopRequested = !this.stdoutEnded;
    this.child.stdin.end();
    const hup = setTimeout(() => this.signal('SIGHUP'), EXIT_GRACE_MS);
    const kill = setTimeout(() => this.signal('SIGKILL'), EXIT_GRACE_MS + KILL_GRACE_MS);
    this.child.once('exit', () => {
      clearTimeout(hup);
      clearTimeout(kill);
    });
  }

  private signal(name: NodeJS.Signals): void {
    if (this.exit) return;
    // kill() returns false when the process is already gone (reaped meanwhile): nothing left to end.
    if (!this.child.kill(name)) return;
    this.options.log(`${this.label()} did not exit when its connection ended; sent ${name}`);
  }

  private makeSocket(): Duplex {
    const { stdin, stdout } = this.child;
    const socket = new Duplex({
      // The command's stdout ending means it is done: end our side too, so ssh2 sees 'close'.
      allowHalfOpen: false,
      read: () => stdout.resume(),
      // A failed write (EPIPE: the command closed its stdin) is logged by stdin's 'error' handler
      // and not passed on: the command's exit, seen as the end of its stdout, is what ends the
      // connection and says why. Passing it on would report a bare "write EPIPE" instead.
      write: (chunk: Buffer, _encoding, callback) => {
        if (stdin.writable) stdin.write(chunk, () => callback());
        else callback();
      },
      final: callback => {
        this.stop();
        callback();
      },
      destroy: (err, callback) => {
        this.stop();
        callback(err);
      }
    });
    stdout.on('data', (chunk: Buffer) => {
      if (!socket.push(chunk)) stdout.pause();
    });
    stdout.once('end', () => {
      this.stdoutEnded = true;
      socket.push(null);
    });
    // EPIPE when the command exits while we write: the exit itself is what ends the connection.
    stdin.on('error', err => this.options.log(`${this.label()} could not be written to: ${err.message}`));
    stdout.on('error', err => socket.destroy(this.failure(`could not be read from: ${err.message}`)));
    return socket;
  }

  private onStderr(text: string): void {
    const lines = (this.partial + text).split(/\r?\n/);
    this.partial = lines.pop() ?? '';
    for (const raw of lines) {
      const line = raw.trim().slice(0, MAX_LINE_CHARS);
      if (!line) continue;
      this.options.log(`${this.label()}: ${line}`);
      this.tailLines.push(line);
      if (this.tailLines.length > TAIL_LINES) this.tailLines.shift();
    }
  }

  private describeExit(): string {
    const e = this.exit!;
    return e.signal ? `was killed by ${e.signal}` : `exited with code ${e.code}`;
  }

  private label(): string {
    return `ProxyCommand "${this.spec.written}"`;
  }

  private failure(what: string): TransportError {
    return new TransportError('unreachable', `${this.label()} ${what}`, this.options.cluster);
  }
}
