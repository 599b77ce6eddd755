import type { Duplex } from 'node:stream';
import { getProfile } from '../config/load';
import type { EnvConfig, HpclabConfig, ProfileConfig } from '../config/schema';
import { errorMessage, RepeatedFailures, stderrLogger, type Logger } from '../log';
import { HEARTBEAT_EVERY_SEC } from '../sessions/allocation-script';
import { requestsGpu } from '../sessions/job-script';
import type { ClusterPoller } from '../scheduler/poller';
import type { SessionManager } from '../sessions/manager';
import { isFinal } from '../sessions/reconcile';
import type { ClusterAccess, SessionEvent, SessionInfo } from '../sessions/types';
import { ipcSocketName, type ChannelPort } from './connection-file';
import { ShutdownWatch } from './control-watch';
import {
  findRunningKernelStep,
  kernelLogTail,
  startKernelStep,
  stopKernelSteps,
  type KernelStep,
  type KernelWhere
} from './kernel-step';

/** What a launcher asks for: a kernel for this profile, signing with this key. */
export interface KernelAttachRequest {
  /** Stable per connection file, so a restarted kernel finds its allocation again. */
  kernelId: string;
  profile: string;
  cluster?: string;
  /** A discovered environment to run the kernel in, instead of the profile's. */
  env?: EnvConfig;
  key: string;
  signatureScheme: string;
}

/** What the companion tells a launcher while it is attached (one JSON line each). */
export type KernelLeaseEvent =
  | { type: 'progress'; message: string; session: SessionInfo }
  | { type: 'ready'; jobId: string; node: string; host: string }
  | { type: 'warning'; message: string; minutesLeft: number }
  | { type: 'ended'; code: number; message: string };

/** The launcher's open connection: while it lasts, the kernel and its allocation are wanted. */
export interface KernelLease {
  send(event: KernelLeaseEvent): void;
  end(): void;
}

interface LiveKernel {
  id: string;
  cluster: string;
  lease: KernelLease | undefined;
  step: KernelStep | undefined;
  /** Where its allocation's kernels bind; undefined until the allocation runs. */
  where: KernelWhere | undefined;
  shutdown: ShutdownWatch;
  /** Set while the allocation waits for the next launcher (a restart, or Jupyter's auto-restart). */
  grace: NodeJS.Timeout | undefined;
  /** New to this companion: its kernel may still run from before a restart, to re-attach to. */
  adopt: boolean;
}

export interface KernelServiceOptions {
  config: HpclabConfig;
  clusters: ClusterAccess;
  sessions: SessionManager;
  /** How long an allocation waits for the next launcher after a restart or a kernel death (default 60 s). */
  graceMs?: number;
  /** Default: warnings on stderr. */
  logger?: Logger;
}

/**
 * Remote kernels, run by the companion so every kernel of a cluster shares its one connection
 * (one 2FA prompt). A kernel's allocation is a session of kind `kernel`: the sessions layer
 * submits it, follows it in the queue (those events reach the UI) and warns before walltime.
 * Kernels run in it as job steps; the launcher Jupyter started holds a lease (an open
 * request) for as long as it wants the kernel, and reaches the five channels through
 * `openChannel`. A lease that closes without a restart releases the allocation at once.
 */
export class KernelService {
  private readonly kernels = new Map<string, LiveKernel>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private closed = false;
  private readonly logger: Logger;
  /** The heartbeat and channel opens repeat: a failure is logged when it starts or changes, and its end. */
  private readonly failures: RepeatedFailures;

  constructor(private readonly o: KernelServiceOptions) {
    this.logger = o.logger ?? stderrLogger('kernels');
    this.failures = new RepeatedFailures(this.logger);
    this.heartbeat = setInterval(() => void this.beat(), HEARTBEAT_EVERY_SEC * 1000);
    this.heartbeat.unref();
    this.unsubscribe = o.sessions.subscribe(event => this.onSessionEvent(event));
  }

  /** Kernels attached or waiting for their next launcher. */
  count(): number {
    return this.kernels.size;
  }

  /**
   * Starts (or re-uses) the allocation and a kernel step, telling `lease` how it goes. Throws
   * before anything runs for an unknown profile or cluster. Returns what to call when the
   * launcher's connection closes.
   */
  attach(request: KernelAttachRequest, lease: KernelLease): () => void {
    const profile = getProfile(this.o.config, request.profile);
    const cluster = request.cluster ?? profile.cluster;
    this.o.clusters(cluster); // unknown cluster: throws now, as a 404
    let kernel = this.kernels.get(request.kernelId);
    if (kernel) {
      // A new launcher for the same kernel (a restart): it takes over from the old one.
      kernel.lease?.end();
      clearTimeout(kernel.grace);
      kernel.grace = undefined;
    } else {
      kernel = {
        id: request.kernelId,
        cluster,
        lease: undefined,
        step: undefined,
        where: undefined,
        shutdown: new ShutdownWatch(),
        grace: undefined,
        adopt: true
      };
      this.kernels.set(kernel.id, kernel);
    }
    kernel.lease = lease;
    kernel.shutdown = new ShutdownWatch();
    this.run(kernel, request, lease, profile).catch(err => {
      if (kernel.lease !== lease)
        return this.logger.debug(`kernel ${kernel.id}: a launcher replaced meanwhile failed`, err);
      this.logger.warn(`kernel ${kernel.id}: failed (profile ${request.profile} on ${cluster})`, err);
      lease.send({ type: 'ended', code: 1, message: errorMessage(err) });
      lease.end();
      kernel.lease = undefined;
      this.waitForNextLauncher(kernel);
    });
    const owned = kernel;
    return () => this.onLeaseClosed(owned, lease);
  }

  /** A byte stream to one of a live kernel's ports on the node; undefined if it has none. */
  async openChannel(
    kernelId: string,
    channel: ChannelPort
  ): Promise<{ upstream: Duplex; fromClient?: (chunk: Buffer) => void } | undefined> {
    const kernel = this.kernels.get(kernelId);
    const step = kernel?.step;
    const where = kernel?.where;
    if (!kernel || !step || !kernel.lease || !where) return undefined;
    // ipc: a socket in the job's private directory, through the allocation's relay; tcp: a port on the node.
    const [opening, at] =
      'socketDir' in where
        ? [this.o.sessions.openNodeStream(kernel.id, ipcSocketName(step.remote, channel)), step.remote.ip]
        : [
            this.o.clusters(kernel.cluster).transport.openStream({ host: where.host, port: step.remote[channel] }),
            `${where.host}:${step.remote[channel]}`
          ];
    // The launcher opens channels again and again while the node is unreachable: say so once.
    const upstream = await opening.catch(err => {
      this.failures.failed(
        `channel ${kernelId}`,
        `kernel ${kernelId}: cannot open its ${channel.replace(/_port$/, '')} channel at ${at}`,
        err
      );
      throw err;
    });
    this.failures.recovered(`channel ${kernelId}`, `kernel ${kernelId}: its channels open again`);
    // Only the control channel says whether a shutdown is a restart; the bytes pass untouched.
    return channel === 'control_port' ? { upstream, fromClient: chunk => kernel.shutdown.feed(chunk) } : { upstream };
  }

  close(): void {
    // Kernel steps keep running on the cluster (the next companion re-attaches); only our watches stop.
    this.closed = true;
    clearInterval(this.heartbeat);
    this.unsubscribe();
    for (const kernel of this.kernels.values()) clearTimeout(kernel.grace);
  }

  private async run(
    kernel: LiveKernel,
    request: KernelAttachRequest,
    lease: KernelLease,
    profile: ProfileConfig
  ): Promise<void> {
    const { sessions } = this.o;
    const { transport, poller } = this.o.clusters(kernel.cluster);
    const info = await sessions.create({
      kind: 'kernel',
      id: kernel.id,
      profile: request.profile,
      cluster: kernel.cluster
    });
    if (info.state === 'running')
      lease.send({ type: 'progress', message: `re-using allocation ${info.jobId} on ${info.node}`, session: info });
    else
      lease.send({
        type: 'progress',
        message: `submitted allocation ${info.jobId} for profile ${request.profile} on ${kernel.cluster}`,
        session: info
      });
    kernel.where = await this.waitUntilRunning(kernel.id, lease);
    const running = sessions.get(kernel.id)!;
    const jobId = running.jobId!;
    if (kernel.lease !== lease) return;
    const stillWanted = () =>
      !this.closed && this.kernels.get(kernel.id) === kernel && !isFinal(sessions.get(kernel.id)?.state ?? 'ended');
    const sessionDir = sessions.sessionDir(kernel.id);
    // A companion restarted (or a launcher back after losing it): the kernel and its variables may still be there.
    const adopted =
      kernel.adopt && info.state === 'running'
        ? await findRunningKernelStep(transport, jobId, kernel.where, sessionDir, request.key, stillWanted).catch(
            err => {
              this.logger.warn(
                `kernel ${kernel.id}: cannot re-attach to its kernel in allocation ${jobId}; starting a new one`,
                err
              );
              return undefined;
            }
          )
        : undefined;
    kernel.adopt = false;
    let step: KernelStep;
    if (adopted) {
      step = adopted;
      lease.send({
        type: 'progress',
        message: `re-attached to the running kernel in allocation ${jobId}`,
        session: running
      });
    } else {
      // A kernel that ignored its shutdown must not linger beside the new one (a fresh allocation has none).
      if (info.state === 'running') await this.stopSteps(kernel, jobId);
      step = await startKernelStep(
        {
          transport,
          jobId,
          where: kernel.where,
          sessionDir,
          key: request.key,
          signatureScheme: request.signatureScheme,
          env: request.env ?? profile.env,
          gpu: requestsGpu(profile.gres)
        },
        stillWanted
      );
    }
    if (kernel.lease !== lease) {
      await this.stopSteps(kernel, jobId);
      return;
    }
    kernel.step = step;
    this.logger.info(
      `kernel ${kernel.id}: ${adopted ? 're-attached' : 'started'} in allocation ${jobId} on ${running.node ?? describeWhere(kernel.where)}`
    );
    lease.send({ type: 'ready', jobId, node: running.node ?? '', host: describeWhere(kernel.where) });
    const result = await step.done;
    if (kernel.step === step) kernel.step = undefined;
    if (kernel.lease !== lease) return;
    let message = 'the kernel exited';
    if (result.code !== 0) {
      const ended = await this.endOf(kernel.id, poller);
      const tail = await kernelLogTail(transport, sessions.sessionDir(kernel.id));
      message = `the kernel on the node ended (${result.code ?? result.signal ?? (result.stderr || 'no exit code')})${ended ? `: ${ended}` : ''}${tail ? `\n--- end of kernel.log ---\n${tail}` : ''}`;
    }
    this.logger.info(`kernel ${kernel.id}: ${message.split('\n')[0]}`);
    lease.send({ type: 'ended', code: result.code === 0 ? 0 : 1, message });
    lease.end();
    kernel.lease = undefined;
    if (kernel.shutdown.requested() === 'shutdown') await this.release(kernel);
    else this.waitForNextLauncher(kernel);
  }

  /**
   * Why the allocation ended, if it did: a kernel killed at walltime or by a node failure dies
   * a moment before Slurm says so, so ask the poller for a few seconds before answering.
   */
  private async endOf(id: string, poller: ClusterPoller): Promise<string | undefined> {
    // Still running and inside its time: the kernel died on its own, the allocation is fine.
    const { jobId, endsAt } = this.o.sessions.get(id) ?? {};
    // No squeue answer at all yet (the session manager logs why): then ask below until the session says.
    const job = (await poller.jobs.get(0).catch(() => undefined))?.data.find(j => j.id === jobId);
    if (job?.state === 'RUNNING' && !(endsAt && Date.now() >= Date.parse(endsAt))) return undefined;
    for (let i = 0; i < 10; i++) {
      const info = this.o.sessions.get(id);
      if (info && isFinal(info.state)) return info.message ?? info.endReason ?? undefined;
      // Slurm may list the job as completing for a while after killing it at its time limit.
      if (info?.endsAt && Date.now() >= Date.parse(info.endsAt)) return 'The job reached its time limit.';
      poller.jobs.invalidate();
      await new Promise(r => setTimeout(r, 1000));
    }
    return undefined;
  }

  /** Resolves with where the allocation's kernels bind; tells the lease where the job is while it waits. */
  private waitUntilRunning(id: string, lease: KernelLease): Promise<KernelWhere> {
    return new Promise((resolve, reject) => {
      let said = '';
      const check = () => {
        const info = this.o.sessions.get(id);
        const where = this.o.sessions.allocationTarget(id);
        if (where) return done(() => resolve(where));
        if (this.closed) return done(() => reject(new Error('the companion is stopping')));
        if (!info || isFinal(info.state))
          return done(() =>
            reject(
              new Error(`the allocation ended before the kernel started: ${info?.message ?? info?.endReason ?? 'gone'}`)
            )
          );
        const words = describeWait(info);
        if (words !== said) lease.send({ type: 'progress', message: (said = words), session: info });
      };
      const unsubscribe = this.o.sessions.subscribe(e => {
        if (e.type === 'session' && e.session.id === id) check();
      });
      const timer = setInterval(check, 1000);
      const done = (settle: () => void) => {
        unsubscribe();
        clearInterval(timer);
        settle();
      };
      check();
    });
  }

  private onLeaseClosed(kernel: LiveKernel, lease: KernelLease): void {
    if (kernel.lease !== lease) return; // already ended, or taken over by a newer launcher
    kernel.lease = undefined;
    // The launcher went away on its own (killed, or Jupyter gave up waiting): unless the kernel
    // was asked to restart, nobody wants this allocation any more, pending or running.
    if (kernel.shutdown.requested() === 'restart') this.waitForNextLauncher(kernel);
    else void this.release(kernel);
  }

  private waitForNextLauncher(kernel: LiveKernel): void {
    clearTimeout(kernel.grace);
    kernel.grace = setTimeout(() => {
      if (!kernel.lease) void this.release(kernel);
    }, this.o.graceMs ?? 60_000);
    kernel.grace.unref();
  }

  private async release(kernel: LiveKernel): Promise<void> {
    clearTimeout(kernel.grace);
    if (this.kernels.get(kernel.id) === kernel && !kernel.lease) this.kernels.delete(kernel.id);
    const info = this.o.sessions.get(kernel.id);
    if (info && !isFinal(info.state)) {
      await this.o.sessions
        .stop(kernel.id)
        .catch(err =>
          this.logger.warn(
            `kernel ${kernel.id}: cannot release allocation ${info.jobId} on ${kernel.cluster}; without heartbeats it releases itself within kernelHoldMinutes`,
            err
          )
        );
    }
  }

  /** Old kernel steps must not linger beside a new one; if they cannot be stopped, the new one still starts. */
  private async stopSteps(kernel: LiveKernel, jobId: string): Promise<void> {
    const { transport } = this.o.clusters(kernel.cluster);
    await stopKernelSteps(transport, jobId).catch(err =>
      this.logger.warn(`kernel ${kernel.id}: cannot stop old kernel steps in allocation ${jobId}`, err)
    );
  }

  /** Keeps the allocations of wanted kernels alive (they release themselves otherwise). */
  private async beat(): Promise<void> {
    const byCluster = new Map<string, string[]>();
    for (const kernel of this.kernels.values()) {
      const info = this.o.sessions.get(kernel.id);
      if (!info || isFinal(info.state)) continue;
      const files = byCluster.get(kernel.cluster) ?? [];
      files.push(`${this.o.sessions.sessionDir(kernel.id)}/heartbeat`);
      byCluster.set(kernel.cluster, files);
    }
    for (const [cluster, files] of byCluster) {
      // Every 5 s: a failure is logged when it starts and when it ends, not at each beat.
      const what = `cannot touch the heartbeat of ${files.length} kernel allocation(s) on ${cluster}; they release themselves after kernelHoldMinutes without it`;
      try {
        const r = await this.o.clusters(cluster).transport.exec(['touch', '--', ...files]);
        if (r.code !== 0) throw new Error(`touch exited ${r.code ?? r.signal}: ${r.stderr.trim()}`);
        this.failures.recovered(`heartbeat ${cluster}`, `kernel heartbeats on ${cluster} work again`);
      } catch (err) {
        this.failures.failed(`heartbeat ${cluster}`, what, err);
      }
    }
  }

  private onSessionEvent(event: SessionEvent): void {
    if (event.type !== 'walltime-warning') return;
    const lease = this.kernels.get(event.sessionId)?.lease;
    const message = `the kernel's allocation reaches its time limit in ${event.minutesLeft} min (at ${event.endsAt}): save your work`;
    lease?.send({ type: 'warning', message, minutesLeft: event.minutesLeft });
  }
}

/** For the launcher's log: the node's address, or that there is none to connect to. */
function describeWhere(where: KernelWhere): string {
  return 'host' in where ? where.host : 'private sockets';
}

function describeWait(info: SessionInfo): string {
  if (info.state === 'pending') {
    const p = info.pending;
    const where = p?.position ? `, position ${p.position} in the queue` : '';
    const when = p?.estimatedStart ? `, estimated start ${p.estimatedStart}` : '';
    return `allocation ${info.jobId ?? ''} pending (${p?.reason ?? 'waiting'}${where}${when})`;
  }
  return `allocation ${info.jobId ?? ''} ${info.state}${info.node ? ` on ${info.node}` : ''}`;
}
