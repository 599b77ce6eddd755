import type { Duplex } from 'node:stream';
import type { EnvConfig } from '../config/schema';
import type { SessionInfo } from '../sessions/types';
import { ShutdownWatch } from './control-watch';
import type { KernelIdle } from './kernel-idle';
import type { KernelStep, KernelWhere } from './kernel-step';
import type { InterruptWatch, RemoteKernelSpec } from './remote-kernel';

/*
 * What a launcher and the kernel service say to each other, and what the service keeps for
 * each kernel it runs.
 */

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
  /** The notebook's folder on the launcher's machine: the kernel starts where `pathMap` maps it. */
  notebookDir?: string;
  /** An env's own kernelspec (R, Julia…), as `hpclab kernels add --kernel` recorded it. */
  kernel?: RemoteKernelSpec;
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

/**
 * A stream to one of a kernel's ports on the node, with taps on the bytes each way (the
 * control channel's shutdown and interrupt requests, iopub's status for idleness).
 */
export interface KernelChannel {
  upstream: Duplex;
  fromClient?: (chunk: Buffer) => void;
  fromKernel?: (chunk: Buffer) => void;
}

/** A kernel the service runs for a launcher: where it is, who holds it, what watches it. */
export interface LiveKernel {
  id: string;
  cluster: string;
  profile: string;
  /** The session id of the allocation it runs in (shared with other kernels of its profile). */
  allocation: string | undefined;
  lease: KernelLease | undefined;
  step: KernelStep | undefined;
  /** Where its allocation's kernels bind; undefined until the allocation runs. */
  where: KernelWhere | undefined;
  shutdown: ShutdownWatch;
  /** This companion started a step for it (a restart must stop what is left of the old one). */
  started: boolean;
  /** Watches its iopub for idleness while it runs (profiles with idleMinutes). */
  idle: KernelIdle | undefined;
  /**
   * Released for idleness: no step, no allocation, the launcher still there (Jupyter would
   * restart a kernel whose launcher exits, and take the GPU again). Restarting it wakes it.
   */
  asleep: boolean;
  /** Set for kernels whose interrupt is a signal: Jupyter's interrupt_request becomes SIGINT to the step. */
  interrupts: InterruptWatch | undefined;
  /** Set while the allocation waits for the next launcher (a restart, or Jupyter's auto-restart). */
  grace: NodeJS.Timeout | undefined;
  /** New to this companion: its kernel may still run from before a restart, to re-attach to. */
  adopt: boolean;
}

/** A kernel new to this companion: nothing started yet, and perhaps a step to re-attach to. */
export function newLiveKernel(id: string, cluster: string, profile: string): LiveKernel {
  return {
    id,
    cluster,
    profile,
    allocation: undefined,
    lease: undefined,
    step: undefined,
    where: undefined,
    shutdown: new ShutdownWatch(),
    interrupts: undefined,
    idle: undefined,
    asleep: false,
    started: false,
    grace: undefined,
    adopt: true
  };
}
