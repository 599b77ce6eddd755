import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Client, ClientChannel, SFTPWrapper } from 'ssh2';
import { errorMessage, stderrLogger, type Logger } from '../../log';
import { TransportError } from '../errors';
import { DEFAULT_EXEC_TIMEOUT_MS, DEFAULT_MAX_OUTPUT_BYTES, OutputCollector, describeArgv } from '../output';
import { renderRemoteCommand } from '../quote';
import type { ExecOptions, ExecResult, PtyOptions, PtyProcess, RemoteProcess, StreamTarget, Transport } from '../types';
import { ChannelLimiter } from './channel-limiter';
import { openPtyChannel, ptyProcessOf } from './pty-channel';
import { SftpSessions } from './sftp-session';

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'closed';

/** What 'link' events carry: the state, whether it is a reconnect, why, and when the next try is. */
export interface LinkReport {
  state: ConnectionState;
  /** True once a connection has been up: a drop and the tries after it. */
  reconnect: boolean;
  reason?: string;
  /** Set while waiting between tries (the backoff). */
  retryInMs?: number;
}

export interface SshTransportOptions {
  cluster: string;
  /** Makes one new connection (through any jump hosts); the transport owns and reuses it. */
  connect: () => Promise<Client>;
  maxChannels: number;
  /** Reconnect backoff: first delay and cap, in ms. */
  backoffMs?: { first: number; max: number };
  /** How long a call waits for a connection, across retries, before it fails. */
  connectBudgetMs?: number;
  /** Where connection changes go (connected, lost, reconnecting, closed); default: warnings on stderr. */
  logger?: Logger;
}

const OPEN_RETRIES = 8;

/** The server refused to open a channel on a live connection; carries the error to report. */
class ChannelOpenRefused extends Error {
  constructor(readonly wrapped: TransportError) {
    super(wrapped.message);
  }
}

interface RawResult {
  code: number | null;
  signal: string | null;
  stdout: Buffer;
  stderr: Buffer;
}

/**
 * One pooled SSH connection per cluster, shared by every caller. After a drop the next call
 * reconnects, retrying with backoff within a budget; commands are never re-run by us, because
 * `sbatch` twice is two jobs. Emits 'state' (ConnectionState) and 'link' (LinkReport) for the UI, and logs each change
 * with its reason: a session that stops moving is often a link that went down.
 */
export class SshTransport extends EventEmitter implements Transport {
  readonly cluster: string;
  private client: Client | undefined;
  /** Streams open on each connection: ssh2 leaves them open when the connection dies under them. */
  private readonly streams = new WeakMap<Client, Set<Duplex>>();
  /** The SFTP session on each connection, opened on first use. */
  private readonly sftps = new SftpSessions();
  private connecting: Promise<Client> | undefined;
  private state: ConnectionState = 'idle';
  private failures = 0;
  /** The last failed connection attempt, until a connection is made again. */
  private lastError: Error | undefined;
  /** Why the live connection went away, when ssh2 said (an 'error' before its 'close'). */
  private dropReason: Error | undefined;
  /** The last link failure logged at info; the same words again go to debug (a dead cluster is asked every poll). */
  private reported: string | undefined;
  private readonly logger: Logger;
  private readonly limiter: ChannelLimiter;
  private readonly backoff: { first: number; max: number };
  private readonly budgetMs: number;
  /** Connections made, for tests and status. */
  connections = 0;

  constructor(private readonly options: SshTransportOptions) {
    super();
    this.cluster = options.cluster;
    this.limiter = new ChannelLimiter(options.maxChannels);
    this.backoff = options.backoffMs ?? { first: 500, max: 15_000 };
    this.budgetMs = options.connectBudgetMs ?? 30_000;
    this.logger = options.logger ?? stderrLogger(`ssh ${options.cluster}`);
  }

  get connectionState(): ConnectionState {
    return this.state;
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const r = await this.run(argv, options);
    return { code: r.code, signal: r.signal, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
  }

  async openStream(target: StreamTarget): Promise<Duplex> {
    const client = await this.ready();
    return new Promise((resolve, reject) => {
      const done = (err: Error | undefined, stream: ClientChannel) => {
        if (err) {
          const where = 'socketPath' in target ? target.socketPath : `${target.host}:${target.port}`;
          reject(
            new TransportError(
              'unreachable',
              `cannot reach ${where} from the login node: ${err.message}`,
              this.cluster,
              { cause: err }
            )
          );
          return;
        }
        // A pooled proxy stream left open on a dead connection would swallow the next request:
        // streams end with their connection (see adopt).
        const open = this.streams.get(client);
        open?.add(stream);
        stream.once('close', () => open?.delete(stream));
        resolve(stream);
      };
      if ('socketPath' in target) client.openssh_forwardOutStreamLocal(target.socketPath, done);
      else client.forwardOut('127.0.0.1', 0, target.host, target.port, done);
    });
  }

  /**
   * A long-lived command on its own session channel, outside the channel limiter: a relay
   * holds its channel for hours, and the limiter is for commands that end. Like streams, it
   * ends with its connection.
   */
  async execStream(argv: readonly string[]): Promise<RemoteProcess> {
    if (argv.length === 0) throw new TypeError('exec needs a command');
    const client = await this.ready();
    const channel = await new Promise<ClientChannel>((resolve, reject) =>
      client.exec(renderRemoteCommand(argv), (err, stream) =>
        err
          ? reject(
              new TransportError('unreachable', `cannot start ${describeArgv(argv)}: ${err.message}`, this.cluster, {
                cause: err
              })
            )
          : resolve(stream)
      )
    );
    const open = this.streams.get(client);
    open?.add(channel);
    let status: { code: number | null; signal: string | null } | undefined;
    let settle!: (end: { code: number | null; signal: string | null }) => void;
    const exited = new Promise<{ code: number | null; signal: string | null }>(resolve => (settle = resolve));
    channel.on('exit', (code: number | null, signal?: string) => (status = { code, signal: signal ?? null }));
    channel.once('close', () => {
      open?.delete(channel);
      // No exit status: the connection went, which ends the command's session as a hangup would.
      settle(status ?? { code: null, signal: 'HUP' });
    });
    const kill = () => {
      killChannel(channel);
      // sshd may keep the channel until a command that reads nothing ends by itself; the caller
      // is done with it either way (its stdio is closed, the command gets SIGPIPE or EOF).
      setTimeout(() => settle({ code: null, signal: 'KILL' }), 2_000).unref();
    };
    return { stdin: channel, stdout: channel, stderr: channel.stderr, exited, kill };
  }

  /**
   * An interactive command on a terminal of its own (see pty-channel.ts). Like execStream it
   * holds its channel for as long as someone types, so it stays outside the channel limiter,
   * and it ends with its connection.
   */
  async execPty(argv: readonly string[], pty: PtyOptions): Promise<PtyProcess> {
    if (argv.length === 0) throw new TypeError('exec needs a command');
    const client = await this.ready();
    const channel = await openPtyChannel(client, renderRemoteCommand(argv), pty).catch((err: Error) => {
      throw new TransportError('unreachable', `cannot start ${describeArgv(argv)}: ${err.message}`, this.cluster, {
        cause: err
      });
    });
    const open = this.streams.get(client);
    open?.add(channel);
    channel.once('close', () => open?.delete(channel));
    return ptyProcessOf(channel);
  }

  /**
   * The connection's SFTP session, opened on first use and shared (see sftp-session.ts); the
   * next call after the connection ends opens one on the new connection.
   */
  async sftp(): Promise<SFTPWrapper> {
    const client = await this.ready();
    return this.sftps.get(client, {
      cluster: this.cluster,
      stillCurrent: () => this.client === client,
      retries: OPEN_RETRIES,
      logger: this.logger
    });
  }

  linkDown(): Error | undefined {
    if (this.client || !this.lastError || this.state === 'closed') return undefined;
    // The attempt's failure is kept in lastError and logged by setState; nobody awaits it here.
    if (!this.connecting) void this.ready().catch(() => undefined);
    return this.lastError;
  }

  async readFile(path: string, options: { maxBytes?: number } = {}): Promise<Buffer> {
    const max = options.maxBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const r = await this.run(['head', '-c', String(max), '--', path], { maxOutputBytes: max + 64 * 1024 });
    if (r.code !== 0)
      throw new TransportError('unreachable', `cannot read ${path}: ${r.stderr.toString('utf8').trim()}`, this.cluster);
    return r.stdout;
  }

  async writeFile(path: string, data: string | Buffer, options: { mode?: number } = {}): Promise<void> {
    const mode = (options.mode ?? 0o600).toString(8);
    // A fixed script; the path and mode arrive as positional arguments, never spliced in.
    const script =
      'umask 077; t="$1.tmp.$$"; cat > "$t" && chmod "$2" "$t" && mv -f "$t" "$1" || { rm -f "$t"; exit 1; }';
    const r = await this.run(['sh', '-c', script, 'sh', path, mode], { stdin: data });
    if (r.code !== 0)
      throw new TransportError(
        'unreachable',
        `cannot write ${path}: ${r.stderr.toString('utf8').trim()}`,
        this.cluster
      );
  }

  async close(): Promise<void> {
    this.setState('closed');
    this.client?.end();
    this.client = undefined;
  }

  private run(argv: readonly string[], options: ExecOptions): Promise<RawResult> {
    if (argv.length === 0) return Promise.reject(new TypeError('exec needs a command'));
    const command = renderRemoteCommand(argv);
    return this.limiter.run(async () => {
      for (let attempt = 1; ; attempt++) {
        const client = await this.ready();
        try {
          return await this.execOn(client, command, argv, options);
        } catch (err) {
          // sshd frees a session slot a moment after the channel closes, so a refused channel
          // open is retried briefly. The command never started, so this cannot run it twice.
          if (!(err instanceof ChannelOpenRefused)) throw err;
          if (attempt >= OPEN_RETRIES) throw err.wrapped;
          await new Promise(r => setTimeout(r, 25 * attempt));
        }
      }
    });
  }

  private execOn(client: Client, command: string, argv: readonly string[], options: ExecOptions): Promise<RawResult> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      client.exec(command, (err, stream) => {
        if (err) {
          const wrapped = new TransportError(
            'unreachable',
            `cannot start ${describeArgv(argv)}: ${err.message}`,
            this.cluster,
            { cause: err }
          );
          reject(this.client === client ? new ChannelOpenRefused(wrapped) : wrapped);
          return;
        }
        let failure: TransportError | undefined;
        let code: number | null = null;
        let signal: string | null = null;
        let exited = false;
        let settled = false;
        const settle = (fn: () => void) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          fn();
        };
        const stop = () => {
          killChannel(stream);
          // If sshd never confirms the close, give up on the channel rather than hang the caller.
          setTimeout(() => settle(() => reject(failure)), 2_000).unref();
        };
        const collector = new OutputCollector(options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES, () => {
          failure = new TransportError(
            'output-limit',
            `${describeArgv(argv)} printed more than the output limit`,
            this.cluster
          );
          stop();
        });
        collector.attach(stream, stream.stderr);
        const timer = setTimeout(() => {
          failure = new TransportError(
            'timeout',
            `${describeArgv(argv)} took longer than ${timeoutMs} ms`,
            this.cluster
          );
          stop();
        }, timeoutMs);
        // The exit status arrives on 'exit', not 'close'.
        stream.on('exit', (c: number | null, s?: string) => {
          exited = true;
          code = c;
          signal = s ?? null;
        });
        stream.on('close', () =>
          settle(() => {
            if (failure) reject(failure);
            else if (!exited)
              reject(
                new TransportError('unreachable', `connection lost while running ${describeArgv(argv)}`, this.cluster)
              );
            else resolve({ code, signal, stdout: collector.stdout(), stderr: collector.stderr() });
          })
        );
        stream.end(options.stdin ?? '');
      });
    });
  }

  /** The live connection, making one if needed; concurrent callers share one attempt. */
  private async ready(): Promise<Client> {
    if (this.state === 'closed') throw new TransportError('closed', 'transport closed', this.cluster);
    if (this.client) return this.client;
    if (!this.connecting) {
      this.connecting = this.connectWithRetry().finally(() => {
        this.connecting = undefined;
      });
    }
    return this.connecting;
  }

  private async connectWithRetry(): Promise<Client> {
    const deadline = Date.now() + this.budgetMs;
    this.setState('connecting');
    for (;;) {
      try {
        const client = await this.options.connect();
        if (this.state === 'closed') {
          // close() ran while we connected: adopting would leave the connection (and any
          // ProxyCommand process under it) open with nobody to end it.
          client.end();
          throw new TransportError('closed', 'transport closed', this.cluster);
        }
        this.adopt(client);
        return client;
      } catch (err) {
        this.failures++;
        this.lastError = err instanceof Error ? err : new Error(String(err));
        // Only a link problem is worth retrying (a bad key or host key will not fix itself), and
        // only after a drop: a cluster never reached should fail fast, not after 30 s.
        const retriable =
          this.connections > 0 &&
          err instanceof TransportError &&
          (err.kind === 'unreachable' || err.kind === 'timeout');
        const delay = Math.min(this.backoff.max, this.backoff.first * 2 ** (this.failures - 1));
        if (!retriable || Date.now() + delay > deadline || this.state === 'closed') {
          // A closed transport stays closed; its callers get the closed error from ready().
          if (this.state !== 'closed') this.setState('disconnected', this.lastError);
          throw err;
        }
        this.logger.debug(`next try in ${delay} ms (try ${this.failures}): ${errorMessage(this.lastError)}`);
        this.emit('link', {
          state: 'connecting',
          reconnect: true,
          reason: errorMessage(this.lastError),
          retryInMs: delay
        } satisfies LinkReport);
        await new Promise(r => setTimeout(r, delay));
      }
    }
  }

  private adopt(client: Client): void {
    this.client = client;
    this.failures = 0;
    this.lastError = undefined;
    this.connections++;
    this.dropReason = undefined;
    this.setState('connected');
    this.streams.set(client, new Set());
    // ssh2 reports what broke the connection (keepalive timeout, reset) as an 'error' before 'close'.
    client.on('error', err => (this.dropReason = err));
    client.once('close', () => {
      for (const stream of this.streams.get(client) ?? [])
        stream.destroy(new TransportError('unreachable', 'the connection to the login node was lost', this.cluster));
      if (this.client === client) this.client = undefined;
      if (this.state !== 'closed')
        this.setState('disconnected', this.dropReason ?? new Error('the server or the network closed it'));
    });
  }

  private setState(state: ConnectionState, reason?: Error): void {
    if (this.state === state) return;
    const was = this.state;
    this.state = state;
    this.logState(state, was, reason);
    this.emit('state', state);
    // `connections` already counts the one just made when the state is 'connected'.
    const reconnect = this.connections > (state === 'connected' ? 1 : 0);
    this.emit('link', { state, reconnect, ...(reason ? { reason: errorMessage(reason) } : {}) } satisfies LinkReport);
  }

  private logState(state: ConnectionState, was: ConnectionState, reason: Error | undefined): void {
    if (state === 'connected') {
      this.logger.info(this.connections > 1 ? `connected again (connection ${this.connections})` : 'connected');
      this.reported = undefined;
    } else if (state === 'connecting') {
      const words = this.connections > 0 ? 'reconnecting' : 'connecting';
      // Another try after a failure to connect that is already logged: only its outcome, if new, is news.
      if (this.reported?.startsWith('cannot connect')) this.logger.debug(words);
      else this.logger.info(words);
    } else if (state === 'disconnected') {
      const what = was === 'connected' ? 'connection lost' : 'cannot connect';
      const words = `${what}: ${reason ? errorMessage(reason) : 'no reason given'}`;
      if (words === this.reported) return this.logger.debug(words);
      this.reported = words;
      this.logger.info(what, reason);
    } else if (state === 'closed') {
      // A transport built but never used (a registry closing) has nothing to say.
      if (was === 'idle') this.logger.debug('closed');
      else this.logger.info('closed');
    }
  }
}

/**
 * Kills the remote command and closes its channel. ssh2's `signal()` does nothing once stdin is
 * ended, but SSH allows a signal request after EOF (OpenSSH ≥ 7.9 honours it), so send it
 * through the protocol directly.
 */
function killChannel(stream: ClientChannel): void {
  const channel = stream as unknown as {
    outgoing?: { id: number; state: string };
    _client?: { _protocol?: { signal(id: number, name: string): void } };
  };
  const out = channel.outgoing;
  if (out && (out.state === 'open' || out.state === 'eof')) channel._client?._protocol?.signal(out.id, 'KILL');
  stream.close();
}
