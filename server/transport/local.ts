import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import { TransportError } from './errors';
import { DEFAULT_EXEC_TIMEOUT_MS, DEFAULT_MAX_OUTPUT_BYTES, OutputCollector, describeArgv } from './output';
import { mergedOutput } from './pty-output';
import type { ExecOptions, ExecResult, PtyOptions, PtyProcess, RemoteProcess, StreamTarget, Transport } from './types';

/**
 * The companion runs on the login node itself: commands run directly (argv, no shell) and
 * streams connect over the cluster network.
 */
export class LocalTransport implements Transport {
  private closed = false;
  private readonly running = new Set<ReturnType<typeof spawn>>();

  constructor(readonly cluster: string) {}

  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return this.run(argv, options).then(r => ({
      code: r.code,
      signal: r.signal,
      stdout: r.stdout.toString('utf8'),
      stderr: r.stderr.toString('utf8')
    }));
  }

  private run(
    argv: readonly string[],
    options: ExecOptions
  ): Promise<{ code: number | null; signal: string | null; stdout: Buffer; stderr: Buffer }> {
    if (this.closed) return Promise.reject(new TransportError('closed', 'transport closed', this.cluster));
    if (argv.length === 0) return Promise.reject(new TypeError('exec needs a command'));
    const timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      this.running.add(child);
      let failure: TransportError | undefined;
      const collector = new OutputCollector(options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES, () => {
        failure = new TransportError(
          'output-limit',
          `${describeArgv(argv)} printed more than the output limit`,
          this.cluster
        );
        child.kill('SIGKILL');
      });
      collector.attach(child.stdout, child.stderr);
      const timer = setTimeout(() => {
        failure = new TransportError('timeout', `${describeArgv(argv)} took longer than ${timeoutMs} ms`, this.cluster);
        child.kill('SIGKILL');
      }, timeoutMs);
      child.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        this.running.delete(child);
        // Same shape as a remote shell's "command not found", so callers see one behaviour.
        if (err.code === 'ENOENT') {
          resolve({
            code: 127,
            signal: null,
            stdout: Buffer.alloc(0),
            stderr: Buffer.from(`${argv[0]}: command not found\n`)
          });
        } else {
          reject(
            new TransportError('unreachable', `cannot run ${argv[0]}: ${err.message}`, this.cluster, { cause: err })
          );
        }
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        this.running.delete(child);
        if (failure) reject(failure);
        else resolve({ code, signal, stdout: collector.stdout(), stderr: collector.stderr() });
      });
      child.stdin.on('error', () => undefined); // a command that exits without reading stdin
      child.stdin.end(options.stdin ?? '');
    });
  }

  openStream(target: StreamTarget): Promise<Duplex> {
    if (this.closed) return Promise.reject(new TransportError('closed', 'transport closed', this.cluster));
    return new Promise((resolve, reject) => {
      const socket = 'socketPath' in target ? net.connect(target.socketPath) : net.connect(target.port, target.host);
      const where = 'socketPath' in target ? target.socketPath : `${target.host}:${target.port}`;
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        socket.setNoDelay(true);
        resolve(socket);
      });
      socket.once('error', err =>
        reject(
          new TransportError('unreachable', `cannot connect to ${where}: ${err.message}`, this.cluster, { cause: err })
        )
      );
    });
  }

  async readFile(file: string, options: { maxBytes?: number } = {}): Promise<Buffer> {
    const handle = await fs.open(file, 'r');
    try {
      const max = options.maxBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
      const buffer = Buffer.alloc(Math.min(max, (await handle.stat()).size));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  async writeFile(file: string, data: string | Buffer, options: { mode?: number } = {}): Promise<void> {
    const mode = options.mode ?? 0o600;
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
    try {
      await fs.writeFile(tmp, data, { mode, flag: 'wx' });
      await fs.chmod(tmp, mode);
      await fs.rename(tmp, file);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
  }

  async execStream(argv: readonly string[]): Promise<RemoteProcess> {
    if (this.closed) throw new TransportError('closed', 'transport closed', this.cluster);
    if (argv.length === 0) throw new TypeError('exec needs a command');
    const { child, exited } = await this.spawnTracked(argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    // The caller learns of the end from `exited`; a write after it is not an error to report twice.
    child.stdin!.on('error', () => undefined);
    return {
      stdin: child.stdin!,
      stdout: child.stdout!,
      stderr: child.stderr!,
      exited,
      kill: () => child.kill('SIGKILL')
    };
  }

  /** Starts `argv`, tracked until it ends (close() kills what still runs); resolves once it runs. */
  private async spawnTracked(
    argv: readonly string[],
    options: SpawnOptions
  ): Promise<{ child: ChildProcess; exited: Promise<{ code: number | null; signal: string | null }> }> {
    const child = spawn(argv[0], argv.slice(1), options);
    this.running.add(child);
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve, reject) => {
      child.once('error', err => {
        this.running.delete(child);
        reject(
          new TransportError('unreachable', `cannot run ${argv[0]}: ${err.message}`, this.cluster, { cause: err })
        );
      });
      child.once('close', (code, signal) => {
        this.running.delete(child);
        resolve({ code, signal });
      });
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      exited.catch(reject);
    });
    return { child, exited };
  }

  /**
   * An interactive command here, for `hpclab shell` on a `local` cluster. With the caller's
   * terminal (`inheritTerminal`) the command takes it over as it would from a shell: `srun
   * --pty` sets it raw, reads its size and follows its resizes itself, so there are no streams
   * to hand back and `resize` has nothing to do. Without one it gets pipes, and no terminal: a
   * pseudo-terminal here would take a native module or `script`, whose command is a shell
   * string, so `srun --pty` says it is not on a terminal and runs the command without one.
   */
  async execPty(argv: readonly string[], pty: PtyOptions): Promise<PtyProcess> {
    if (this.closed) throw new TransportError('closed', 'transport closed', this.cluster);
    if (argv.length === 0) throw new TypeError('exec needs a command');
    const { child, exited } = await this.spawnTracked(argv, {
      stdio: pty.inheritTerminal ? 'inherit' : ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, TERM: pty.term }
    });
    // The caller learns of the end from `exited`; a keystroke after it is not an error to report twice.
    child.stdin?.on('error', () => undefined);
    return {
      stdin: child.stdin,
      stdout: child.stdout && child.stderr ? mergedOutput(child.stdout, child.stderr) : null,
      resize: () => undefined, // see above: the terminal's own size reaches srun, pipes have none
      exited,
      // What closing a terminal sends: srun ends its step on it.
      kill: () => child.kill('SIGHUP')
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const child of this.running) child.kill('SIGKILL');
  }
}
