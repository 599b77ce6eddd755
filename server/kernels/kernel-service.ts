import * as os from 'node:os';
import { getProfile } from '../config/load';
import { kernelDirectory } from '../config/path-map';
import type { HpclabConfig, ProfileConfig } from '../config/schema';
import { errorMessage, RepeatedFailures, stderrLogger, type Logger } from '../log';
import { requestsGpu } from '../sessions/job-script';
import type { SessionManager } from '../sessions/manager';
import { isFinal } from '../sessions/reconcile';
import type { ClusterAccess, SessionEvent } from '../sessions/types';
import { ipcSocketName, type ChannelPort } from './connection-file';
import { InterruptWatch } from './remote-kernel';
import { ShutdownWatch } from './control-watch';
import {
  newLiveKernel,
  type KernelAttachRequest,
  type KernelChannel,
  type KernelLease,
  type LiveKernel
} from './kernel-lease';
import { endOf, waitUntilRunning } from './allocation-wait';
import { AllocationHeartbeat } from './allocation-heartbeat';
import { SharedAllocations, sharesAllocations } from './shared-allocations';
import { KernelIdle } from './kernel-idle';
import { profileIdleMinutes } from '../sessions/idle-policy';
import {
  findRunningKernelStep,
  kernelLogTail,
  startKernelStep,
  stopKernelSteps,
  interruptKernelSteps,
  type KernelIdentity,
  type KernelStep,
  type KernelWhere
} from './kernel-step';

export interface KernelServiceOptions {
  config: HpclabConfig;
  clusters: ClusterAccess;
  sessions: SessionManager;
  /** How long an allocation waits for the next launcher after a restart or a kernel death (default 60 s). */
  graceMs?: number;
  /** The launcher's home, where `~/` in a cluster's `pathMap` points (default the companion's). */
  localHome?: string;
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
  private readonly allocations: SharedAllocations;
  private readonly heartbeat: AllocationHeartbeat;
  private readonly unsubscribe: () => void;
  private closed = false;
  private readonly logger: Logger;
  /** The heartbeat and channel opens repeat: a failure is logged when it starts or changes, and its end. */
  private readonly failures: RepeatedFailures;

  constructor(private readonly o: KernelServiceOptions) {
    this.logger = o.logger ?? stderrLogger('kernels');
    this.allocations = new SharedAllocations({
      sessions: o.sessions,
      clusters: o.clusters,
      members: id => this.members(id),
      kernels: () => this.kernels.values()
    });
    this.failures = new RepeatedFailures(this.logger);
    this.heartbeat = new AllocationHeartbeat({
      sessions: o.sessions,
      clusters: o.clusters,
      failures: this.failures,
      // Kernels that left a shared allocation keep it during its hold, so it is still beaten for.
      wanted: () => [
        ...[...this.kernels.values()]
          .filter(k => !k.asleep)
          .map(k => ({ id: k.allocation ?? k.id, cluster: k.cluster })),
        ...this.allocations.held().map(id => ({ id, cluster: this.o.sessions.get(id)?.cluster }))
      ]
    });
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
      kernel = newLiveKernel(request.kernelId, cluster, request.profile);
      this.kernels.set(kernel.id, kernel);
    }
    kernel.lease = lease;
    kernel.asleep = false;
    kernel.shutdown = new ShutdownWatch();
    kernel.interrupts = request.kernel?.interruptMode === 'signal' ? new InterruptWatch() : undefined;
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
  async openChannel(kernelId: string, channel: ChannelPort): Promise<KernelChannel | undefined> {
    const kernel = this.kernels.get(kernelId);
    const step = kernel?.step;
    const where = kernel?.where;
    if (!kernel || !step || !kernel.lease || !where) return undefined;
    // ipc: a socket in the job's private directory, through the allocation's relay; tcp: a port on the node.
    const [opening, at] =
      'socketDir' in where
        ? [
            this.o.sessions.openNodeStream(kernel.allocation ?? kernel.id, ipcSocketName(step.remote, channel)),
            step.remote.ip
          ]
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
    // Only the control channel says whether a shutdown is a restart (or asks for an interrupt
    // a signal must carry); the bytes pass untouched.
    if (channel === 'iopub_port' && kernel.idle) return { upstream, fromKernel: kernel.idle.iopubStream() };
    if (channel !== 'control_port') return { upstream };
    return {
      upstream,
      fromClient: chunk => {
        kernel.shutdown.feed(chunk);
        if (kernel.interrupts && kernel.interrupts.feed(chunk) > 0) this.interrupt(kernel);
      }
    };
  }

  /** Releases the kernel's allocation after the profile's idleMinutes without activity on its iopub, warning first. */
  private watchIdle(kernel: LiveKernel, profile: ProfileConfig, lease: KernelLease): void {
    kernel.idle?.stop();
    const idleMinutes = profileIdleMinutes(profile);
    if (idleMinutes <= 0) return void (kernel.idle = undefined);
    const allocation = kernel.allocation ?? kernel.id;
    kernel.idle = new KernelIdle({
      idleMinutes,
      minuteMs: this.o.sessions.idleMinuteMs,
      warn: (minutesLeft, message, releaseAt) => {
        lease.send({ type: 'warning', message, minutesLeft });
        this.o.sessions.warnIdle(allocation, minutesLeft, releaseAt, idleMinutes); // the UI's notification, the log
      },
      release: message => void this.sleep(kernel, lease, message),
      note: message => this.logger.info(`kernel ${kernel.id}: ${message}`)
    });
    kernel.idle.start();
  }

  /**
   * An idle kernel gives its share back: its step ends, and its allocation with the last kernel
   * in it, at once. The launcher stays (a launcher that exits is restarted by Jupyter, which
   * would queue for the GPU again); restarting the kernel starts a new one.
   */
  private async sleep(kernel: LiveKernel, lease: KernelLease, why: string): Promise<void> {
    if (kernel.lease !== lease) return;
    kernel.asleep = true;
    const id = kernel.allocation ?? kernel.id;
    this.countKernels(id);
    const info = this.o.sessions.get(id);
    this.logger.info(
      `kernel ${kernel.id}: ${why}; its share of allocation ${info?.jobId ?? id} goes back to the queue`
    );
    lease.send({
      type: 'warning',
      message: `${why}: the kernel and its variables are gone and its GPU is back in the queue; restart the kernel (Kernel → Restart Kernel) to get a new one`,
      minutesLeft: 0
    });
    if (!info || isFinal(info.state)) return;
    if (this.members(id).length > 0) {
      if (info.jobId) await this.stopSteps(kernel, info.jobId);
      return;
    }
    await this.o.sessions
      .stop(id, { reason: 'idle', message: `Released after ${why.replace(/^released after /, '')}.` })
      .catch(err => this.logger.warn(`kernel ${kernel.id}: cannot release its idle allocation ${info.jobId}`, err));
  }

  /** SIGINT to a kernel that takes its interrupts as signals (IRkernel ignores interrupt_request). */
  private interrupt(kernel: LiveKernel): void {
    const jobId = this.o.sessions.get(kernel.allocation ?? kernel.id)?.jobId;
    if (!jobId) return;
    const who = { kernelId: kernel.id, allocationId: kernel.allocation ?? kernel.id };
    interruptKernelSteps(this.o.clusters(kernel.cluster).transport, jobId, who).catch(err =>
      this.logger.warn(`kernel ${kernel.id}: cannot interrupt its step in job ${jobId}`, err)
    );
  }

  close(): void {
    // Kernel steps keep running on the cluster (the next companion re-attaches); only our watches stop.
    this.closed = true;
    this.heartbeat.close();
    this.unsubscribe();
    for (const kernel of this.kernels.values()) clearTimeout(kernel.grace);
    this.allocations.close();
    for (const kernel of this.kernels.values()) kernel.idle?.stop();
  }

  private async run(
    kernel: LiveKernel,
    request: KernelAttachRequest,
    lease: KernelLease,
    profile: ProfileConfig
  ): Promise<void> {
    const { sessions } = this.o;
    const { transport, poller } = this.o.clusters(kernel.cluster);
    const allocation = await this.allocations.choose(kernel, profile.kernels?.perAllocation ?? 1);
    kernel.allocation = allocation.id;
    const who: KernelIdentity = { kernelId: kernel.id, allocationId: allocation.id };
    const info = allocation.joined
      ? await this.allocations.info(allocation.id)
      : await this.allocations.create(allocation.id, request.profile, kernel.cluster);
    const chosen = allocation.joined
      ? `joining allocation ${info.jobId ?? info.id} (${this.members(allocation.id).length} kernel(s) of profile ${request.profile})`
      : info.state === 'running'
        ? `re-using allocation ${info.jobId} on ${info.node}`
        : `submitted allocation ${info.jobId} for profile ${request.profile} on ${kernel.cluster}`;
    lease.send({ type: 'progress', message: chosen, session: info });
    const where = await waitUntilRunning(sessions, allocation.id, lease, () => this.closed);
    kernel.where = where;
    const running = sessions.get(allocation.id)!;
    const jobId = running.jobId!;
    if (kernel.lease !== lease) return;
    const stillWanted = () =>
      !this.closed && this.kernels.get(kernel.id) === kernel && !isFinal(sessions.get(allocation.id)?.state ?? 'ended');
    const sessionDir = sessions.sessionDir(allocation.id);
    // A companion restarted (or a launcher back after losing it): the kernel and its variables may still be there.
    const adopted =
      kernel.adopt && info.state === 'running'
        ? await findRunningKernelStep(transport, jobId, where, sessionDir, request.key, who, stillWanted).catch(err => {
            this.logger.warn(
              `kernel ${kernel.id}: cannot re-attach to its kernel in allocation ${jobId}; starting a new one`,
              err
            );
            return undefined;
          })
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
      // A kernel that ignored its shutdown must not linger beside the new one. A fresh allocation
      // has none, nor has a kernel new to a shared one (its steps carry its own name): skipping
      // the squeue saves a notebook's start a round trip to slurmctld.
      if (info.state === 'running' && (kernel.started || !allocation.joined)) await this.stopSteps(kernel, jobId);
      kernel.started = true;
      const cwd = kernelDirectory(
        this.o.config.clusters[kernel.cluster]?.pathMap,
        request.notebookDir,
        this.o.localHome ?? os.homedir()
      );
      if (cwd.message) lease.send({ type: 'progress', message: cwd.message, session: running });
      step = await startKernelStep(
        {
          ...who,
          transport,
          jobId,
          where,
          sessionDir,
          key: request.key,
          signatureScheme: request.signatureScheme,
          env: request.env ?? profile.env,
          gpu: requestsGpu(profile.gres),
          share: sharesAllocations(profile) ? profile.kernels : undefined,
          cwd: cwd.path,
          kernel: request.kernel
        },
        stillWanted
      );
    }
    if (kernel.lease !== lease) {
      await this.stopSteps(kernel, jobId);
      return;
    }
    kernel.step = step;
    this.countKernels(allocation.id);
    this.logger.info(
      `kernel ${kernel.id}: ${adopted ? 're-attached' : 'started'} in allocation ${jobId} on ${running.node ?? describeWhere(kernel.where)}`
    );
    lease.send({ type: 'ready', jobId, node: running.node ?? '', host: describeWhere(kernel.where) });
    this.watchIdle(kernel, profile, lease);
    const result = await step.done;
    kernel.idle?.stop();
    if (kernel.step === step) kernel.step = undefined;
    if (kernel.lease !== lease || kernel.asleep) return;
    let message = 'the kernel exited';
    if (result.code !== 0) {
      const ended = await endOf(sessions, allocation.id, poller);
      const tail = await kernelLogTail(transport, sessionDir, who);
      message = `the kernel on the node ended (${result.code ?? result.signal ?? (result.stderr || 'no exit code')})${ended ? `: ${ended}` : ''}${tail ? `\n--- end of kernel.log ---\n${tail}` : ''}`;
    }
    this.logger.info(`kernel ${kernel.id}: ${message.split('\n')[0]}`);
    lease.send({ type: 'ended', code: result.code === 0 ? 0 : 1, message });
    lease.end();
    kernel.lease = undefined;
    if (kernel.shutdown.requested() === 'shutdown') await this.release(kernel);
    else this.waitForNextLauncher(kernel);
  }

  private onLeaseClosed(kernel: LiveKernel, lease: KernelLease): void {
    if (kernel.lease !== lease) return; // already ended, or taken over by a newer launcher
    kernel.lease = undefined;
    kernel.idle?.stop();
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

  /**
   * A kernel is no longer wanted. Its allocation goes when no other kernel uses it: at once when
   * each kernel has its own, after the grace time when kernels share it (the next notebook then
   * starts in seconds instead of queueing again).
   */
  private async release(kernel: LiveKernel): Promise<void> {
    clearTimeout(kernel.grace);
    // A newer kernel of the same id (restarted after its allocation was replaced) owns the id,
    // the allocation and step names now: this one's grace must not stop that one's step.
    const current = this.kernels.get(kernel.id);
    if (current && current !== kernel) {
      this.logger.debug(`kernel ${kernel.id}: an older launcher's release skipped; a newer one runs`);
      return;
    }
    if (current === kernel && !kernel.lease) this.kernels.delete(kernel.id);
    const id = kernel.allocation ?? kernel.id;
    this.countKernels(id);
    const info = this.o.sessions.get(id);
    if (!info || isFinal(info.state)) return;
    if (this.members(id).length > 0) {
      // Its neighbours keep the allocation: only this kernel's step goes, if it still runs.
      if (info.jobId) await this.stopSteps(kernel, info.jobId);
      return;
    }
    const profile = this.profileOf(kernel.profile);
    if (profile && sharesAllocations(profile))
      return this.allocations.hold(id, this.o.graceMs ?? 60_000, () => void this.stopAllocation(id, kernel));
    await this.stopAllocation(id, kernel);
  }

  private async stopAllocation(id: string, kernel: LiveKernel): Promise<void> {
    const info = this.o.sessions.get(id);
    if (!info || isFinal(info.state)) return;
    await this.o.sessions
      .stop(id)
      .catch(err =>
        this.logger.warn(
          `kernel ${kernel.id}: cannot release allocation ${info.jobId} on ${kernel.cluster}; without heartbeats it releases itself within kernelHoldMinutes`,
          err
        )
      );
  }

  /** Tells the sessions layer how many kernels allocation `id` holds, for the sidebar and `sessions show`. */
  private countKernels(id: string): void {
    this.o.sessions.noteKernels(id, this.members(id).filter(k => k.step).length);
  }

  /** The kernels (attached or waiting for their next launcher) that run in allocation `id`. */
  private members(id: string): LiveKernel[] {
    return [...this.kernels.values()].filter(k => k.allocation === id && !k.asleep);
  }

  private profileOf(name: string): ProfileConfig | undefined {
    try {
      return getProfile(this.o.config, name);
    } catch (err) {
      // A profile removed from the config while its kernels ran: they keep one allocation each.
      this.logger.debug(`profile ${name} is gone from the config`, err);
      return undefined;
    }
  }

  /** Old kernel steps must not linger beside a new one; if they cannot be stopped, the new one still starts. */
  private async stopSteps(kernel: LiveKernel, jobId: string): Promise<void> {
    const { transport } = this.o.clusters(kernel.cluster);
    const who = { kernelId: kernel.id, allocationId: kernel.allocation ?? kernel.id };
    await stopKernelSteps(transport, jobId, who).catch(err =>
      this.logger.warn(`kernel ${kernel.id}: cannot stop old kernel steps in allocation ${jobId}`, err)
    );
  }

  private onSessionEvent(event: SessionEvent): void {
    if (event.type !== 'walltime-warning') return;
    const message = `the kernel's allocation reaches its time limit in ${event.minutesLeft} min (at ${event.endsAt}): save your work`;
    for (const kernel of this.members(event.sessionId))
      kernel.lease?.send({ type: 'warning', message, minutesLeft: event.minutesLeft });
  }
}

/** For the launcher's log: the node's address, or that there is none to connect to. */
function describeWhere(where: KernelWhere): string {
  return 'host' in where ? where.host : 'private sockets';
}
