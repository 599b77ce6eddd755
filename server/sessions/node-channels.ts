import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { errorMessage, type Logger } from '../log';
import { TransportError } from '../transport/errors';
import { RelayMux } from '../transport/relay/relay-mux';
import type { RemoteProcess, Transport } from '../transport/types';
import { hubArgs } from './hub-script';
import { relayArgs } from './relay-script';

/** The job-step name of relays, apart from kernels' so stopping old kernels never stops a relay. */
export const RELAY_STEP_NAME = 'hpclab-relay';

/** Where a job's private sockets are: the 0700 directory its script made, and a python there. */
export interface NodeRef {
  /** One relay per key: the session id. */
  key: string;
  cluster: string;
  transport: Transport;
  jobId: string;
  socketDir: string;
  relayPython: string;
}

export type RelayState = 'up' | 'starting' | 'down';

/** How a session's relay is doing, for `sessions show` and the sidebar. */
export interface RelayStatus {
  state: RelayState;
  /** Relay steps started for this session by this companion. */
  starts: number;
  lastError: string | null;
  /** The bulk lane (the relay dialling out to the login node's hub): used, not tried yet, or off with why. */
  bulk: 'on' | 'untried' | 'off';
  bulkError: string | null;
}

export interface NodeChannelsOptions {
  logger: Logger;
  /** A relay without channels for this long ends, freeing its step and SSH channel (default 10 min). */
  idleMs?: number;
  /** How long a new relay may take to greet (default 30 s: srun asks slurmctld for the step). */
  startTimeoutMs?: number;
  /** The relay's command; tests run it without srun. Default: an srun step into the job. */
  command?: (ref: NodeRef) => string[];
  /** The hub's command on the login node, listening on `address`; default `python3` with the hub program. */
  hubCommand?: (address: string) => string[];
}

/** The hub on one cluster's login node: its port, and how to let a secret in. */
interface Hub {
  port: number;
  allow(secret: string): void;
  stop(): void;
}

interface Relay {
  cluster: string;
  mux: RelayMux | undefined;
  starting: Promise<RelayMux> | undefined;
  kill: (() => void) | undefined;
  idle: NodeJS.Timeout | undefined;
  starts: number;
  lastError: string | null;
  /** No new start before this time (ms) after a failed one, so a launcher's retries do not spawn steps in a loop. */
  retryAt: number;
  backoffMs: number;
  bulk: 'on' | 'untried' | 'off';
  bulkError: string | null;
  /** Bulk streams open now (their bytes go through the relay process, not its stdio). */
  bulkStreams: number;
}

const MAX_BACKOFF_MS = 15_000;

/** `srun` into the job: the relay runs on the node as the user, in the job's own cgroup and /tmp. */
export function relayCommand(ref: NodeRef): string[] {
  return [
    'srun',
    `--jobid=${ref.jobId}`,
    '--overlap',
    '--nodes=1',
    '--ntasks=1',
    '--quiet',
    `--job-name=${RELAY_STEP_NAME}`,
    ref.relayPython,
    ...relayArgs(ref.socketDir)
  ];
}

/**
 * Byte streams to unix sockets in a job's private directory on its node, carried by one relay
 * step per job (see relay-script.ts) over the cluster's existing connection: nothing on the
 * node listens on TCP, and nothing but the user's own job step can reach those sockets.
 *
 * Relays start on the first stream a session asks for, start again after they end (a dropped
 * link, a companion restart: the next open makes a new one), and end after a while without
 * streams or when the session ends.
 */
export class NodeChannels {
  private readonly relays = new Map<string, Relay>();
  private readonly hubs = new Map<string, Promise<Hub>>();
  private closed = false;

  constructor(private readonly o: NodeChannelsOptions) {}

  /** A stream to `<socketDir>/<name>` on the job's node; rejects with the relay's reason. */
  async open(ref: NodeRef, name: string): Promise<Duplex> {
    const relay = this.entry(ref.key, ref.cluster);
    const mux = await this.running(ref, relay);
    clearTimeout(relay.idle);
    relay.idle = undefined;
    const stream = await mux.open(name);
    // A relay that ends (a dropped link, the job's end) destroys its streams with the reason; an
    // idle pooled stream may have no reader to take it, and an unheard 'error' would end the
    // companion. Readers that care listen themselves; the relay's end is logged once, above.
    stream.on('error', err => this.o.logger.debug(`session ${ref.key}: a stream to ${name} ended`, err));
    stream.once('close', () => this.idleLater(ref.key, relay, mux));
    return stream;
  }

  /**
   * A stream for bulk traffic (a Lab's HTTP): the relay joins the socket to a connection it
   * makes out to the companion's hub on the login node, which the companion reaches over SSH,
   * so bytes skip srun's stdio (about 20 MB/s). Where that cannot work (a firewall between
   * nodes and the login node, no python3 there), the session falls back to the relay's own
   * channels for good, and says why in its status.
   */
  async openBulk(ref: NodeRef, name: string): Promise<Duplex> {
    const relay = this.entry(ref.key, ref.cluster);
    if (relay.bulk === 'off') return this.open(ref, name);
    const mux = await this.running(ref, relay);
    let stream: Duplex | undefined;
    try {
      const address = (await mux.ready).launchHost ?? '';
      if (isIP(address) === 0)
        throw new Error(
          `Slurm did not tell the step where srun runs (SLURM_LAUNCH_NODE_IPADDR=${JSON.stringify(address)})`
        );
      const hub = await this.hub(ref, address);
      const secret = randomBytes(32).toString('hex');
      hub.allow(secret);
      const [near, far] = await Promise.allSettled([
        ref.transport.openStream({ host: address, port: hub.port }).then(s => {
          // Heard at once: the hub may close it before it is handed out (the relay side failed).
          s.on('error', err => this.o.logger.debug(`session ${ref.key}: a bulk stream to ${name} ended`, err));
          return s;
        }),
        mux.dial(name, { port: hub.port, secret })
      ]);
      if (near.status === 'fulfilled') stream = near.value;
      if (near.status === 'rejected') throw near.reason;
      if (far.status === 'rejected') throw far.reason;
      stream = near.value;
      stream.write(`${secret}\n`);
    } catch (err) {
      stream?.destroy();
      // Is it the lane, or the socket? The relay's own channel tells: if it opens, the lane is at fault.
      const fallback = await this.open(ref, name);
      relay.bulk = 'off';
      relay.bulkError = errorMessage(err);
      this.o.logger.warn(
        `session ${ref.key}: the bulk lane (node to login node) does not work; its streams go through the relay's stdio, about 20 MB/s`,
        err
      );
      return fallback;
    }
    relay.bulk = 'on';
    relay.bulkStreams++;
    clearTimeout(relay.idle);
    relay.idle = undefined;
    stream.once('close', () => {
      relay.bulkStreams--;
      this.idleLater(ref.key, relay, mux);
    });
    return stream;
  }

  status(key: string): RelayStatus {
    const relay = this.relays.get(key);
    if (!relay) return { state: 'down', starts: 0, lastError: null, bulk: 'untried', bulkError: null };
    const state: RelayState = relay.mux && !relay.mux.failure ? 'up' : relay.starting ? 'starting' : 'down';
    return { state, starts: relay.starts, lastError: relay.lastError, bulk: relay.bulk, bulkError: relay.bulkError };
  }

  /** The session ended: its relay goes (the job's end would take it anyway), and the cluster's hub with the last one. */
  forget(key: string): void {
    const relay = this.relays.get(key);
    if (!relay) return;
    this.relays.delete(key);
    this.stop(relay);
    if ([...this.relays.values()].some(r => r.cluster === relay.cluster)) return;
    for (const [hubKey, hub] of this.hubs) {
      if (!hubKey.startsWith(`${relay.cluster} `)) continue;
      this.hubs.delete(hubKey);
      void hub.then(
        h => h.stop(),
        () => undefined
      ); // a hub that never started has nothing to stop
    }
  }

  close(): void {
    this.closed = true;
    for (const key of [...this.relays.keys()]) this.forget(key);
    for (const hub of this.hubs.values())
      void hub.then(
        h => h.stop(),
        () => undefined
      ); // a hub that never started has nothing to stop
    this.hubs.clear();
  }

  /** The cluster's hub on `address` of its login node, started on first use and again after it ends. */
  private hub(ref: NodeRef, address: string): Promise<Hub> {
    const key = `${ref.cluster} ${address}`;
    let hub = this.hubs.get(key);
    if (!hub) {
      hub = this.startHub(ref, address, key);
      this.hubs.set(key, hub);
      hub.catch(() => this.hubs.delete(key)); // the caller reports the failure; the next use tries again
    }
    return hub;
  }

  private async startHub(ref: NodeRef, address: string, key: string): Promise<Hub> {
    const proc = await ref.transport.execStream(this.o.hubCommand?.(address) ?? ['python3', ...hubArgs(address)]);
    const stderr = tailOf(proc);
    // Its end is reported below (proc.exited); a write to a hub that just ended must not throw.
    proc.stdin.on('error', err => this.o.logger.debug(`cluster ${ref.cluster}: writing to the hub failed`, err));
    proc.stdout.on('error', err => this.o.logger.debug(`cluster ${ref.cluster}: reading the hub failed`, err));
    const port = await new Promise<number>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => fail(new Error('the hub did not start within 15 s')), 15_000);
      const fail = (err: Error) => {
        clearTimeout(timer);
        proc.kill();
        reject(new Error(`${err.message}${stderr() ? `: ${stderr()}` : ''}`));
      };
      proc.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        const line = text.split('\n')[0];
        if (!text.includes('\n')) return;
        clearTimeout(timer);
        let port = NaN;
        try {
          port = Number((JSON.parse(line) as { port?: unknown }).port);
        } catch {
          // not JSON: refused just below, with the line in the message
        }
        if (Number.isInteger(port) && port > 0 && port < 65536) resolve(port);
        else fail(new Error(`the hub said ${JSON.stringify(line)}`));
      });
      void proc.exited.then(end => fail(new Error(`the hub exited (${end.code ?? end.signal})`)));
    });
    void proc.exited.then(() => {
      // Forget it, unless a newer hub (another port) has taken its place meanwhile.
      const current = this.hubs.get(key);
      void current?.then(
        h => h.port === port && this.hubs.get(key) === current && this.hubs.delete(key),
        () => undefined // a newer hub that failed to start removes itself
      );
      if (!this.closed) this.o.logger.info(`cluster ${ref.cluster}: the bulk lane's hub on the login node ended`);
    });
    this.o.logger.info(
      `cluster ${ref.cluster}: the bulk lane's hub listens on ${address} port ${port} of the login node`
    );
    return {
      port,
      allow: secret => proc.stdin.write(`ALLOW ${secret}\n`),
      stop: () => proc.stdin.end()
    };
  }

  private entry(key: string, cluster: string): Relay {
    let relay = this.relays.get(key);
    if (!relay) {
      relay = {
        cluster,
        mux: undefined,
        starting: undefined,
        kill: undefined,
        idle: undefined,
        starts: 0,
        lastError: null,
        retryAt: 0,
        backoffMs: 500,
        bulk: 'untried',
        bulkError: null,
        bulkStreams: 0
      };
      this.relays.set(key, relay);
    }
    return relay;
  }

  private running(ref: NodeRef, relay: Relay): Promise<RelayMux> {
    if (this.closed) return Promise.reject(new Error('the companion is stopping'));
    if (relay.mux && !relay.mux.failure) return Promise.resolve(relay.mux);
    relay.mux = undefined;
    if (relay.starting) return relay.starting;
    if (Date.now() < relay.retryAt)
      return Promise.reject(
        new TransportError('unreachable', `the relay into job ${ref.jobId} failed: ${relay.lastError}`, ref.cluster)
      );
    relay.starting = this.start(ref, relay).finally(() => (relay.starting = undefined));
    return relay.starting;
  }

  private async start(ref: NodeRef, relay: Relay): Promise<RelayMux> {
    relay.starts++;
    let proc: RemoteProcess;
    try {
      proc = await ref.transport.execStream((this.o.command ?? relayCommand)(ref));
    } catch (err) {
      throw this.failed(ref, relay, `cannot start it: ${errorMessage(err)}`, err);
    }
    const stderr = tailOf(proc);
    const mux = new RelayMux(proc);
    relay.kill = () => proc.kill();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no greeting within ${(this.o.startTimeoutMs ?? 30_000) / 1000} s`)),
        this.o.startTimeoutMs ?? 30_000
      );
    });
    try {
      const hello = await Promise.race([mux.ready, timeout]);
      this.o.logger.info(
        `session ${ref.key}: relay into job ${ref.jobId} up (python ${hello.python}, pid ${hello.pid} on the node)`
      );
    } catch (err) {
      proc.kill();
      // The stderr of srun or the relay says why better than "the relay ended".
      await Promise.race([proc.exited, new Promise(r => setTimeout(r, 500))]);
      throw this.failed(ref, relay, `${errorMessage(err)}${stderr() ? `: ${stderr()}` : ''}`, err);
    } finally {
      clearTimeout(timer);
    }
    relay.mux = mux;
    relay.backoffMs = 500;
    relay.lastError = null;
    void proc.exited.then(end => {
      if (relay.mux !== mux) return;
      relay.mux = undefined;
      relay.kill = undefined;
      mux.close();
      const words = stderr();
      // Expected when the job ended or the link dropped; the next open starts a new relay.
      relay.lastError = `the relay step ended (${end.code ?? end.signal})${words ? `: ${words}` : ''}`;
      if (!this.closed && this.relays.get(ref.key) === relay)
        this.o.logger.info(`session ${ref.key}: ${relay.lastError}`);
    });
    return mux;
  }

  private failed(ref: NodeRef, relay: Relay, words: string, cause: unknown): Error {
    relay.lastError = words;
    relay.retryAt = Date.now() + relay.backoffMs;
    relay.backoffMs = Math.min(relay.backoffMs * 2, MAX_BACKOFF_MS);
    this.o.logger.warn(`session ${ref.key}: the relay into job ${ref.jobId} failed: ${words}`);
    return new TransportError('unreachable', `the relay into job ${ref.jobId} failed: ${words}`, ref.cluster, {
      cause
    });
  }

  private idleLater(key: string, relay: Relay, mux: RelayMux): void {
    // Bulk streams run inside the relay process too (it copies their bytes): they keep it as well.
    if (relay.mux !== mux || mux.channelCount > 0 || relay.bulkStreams > 0 || relay.idle) return;
    relay.idle = setTimeout(
      () => {
        relay.idle = undefined;
        const unused = mux.channelCount === 0 && relay.bulkStreams === 0;
        if (relay.mux === mux && unused && this.relays.get(key) === relay) this.stop(relay);
      },
      this.o.idleMs ?? 10 * 60_000
    );
    relay.idle.unref();
  }

  private stop(relay: Relay): void {
    clearTimeout(relay.idle);
    const { mux, kill } = relay;
    relay.mux = undefined;
    relay.kill = undefined;
    // Its stdin closes: the relay exits by itself; the channel goes a moment later in case it does not.
    mux?.close();
    if (kill) setTimeout(kill, 2_000).unref();
  }
}

/** The last 2,000 characters the relay step wrote to stderr, one line. */
function tailOf(proc: RemoteProcess): () => string {
  let text = '';
  proc.stderr.on('data', (chunk: Buffer) => (text = (text + chunk.toString('utf8')).slice(-2000)));
  // The stream errs only when the process's channel does, which the mux reports.
  proc.stderr.on('error', () => undefined);
  return () => text.trim().replace(/\s*\n\s*/g, ' | ');
}
