import type { ISessionContext } from '@jupyterlab/apputils';
import type { Kernel, KernelSpec } from '@jupyterlab/services';
import type { IDisposable } from '@lumino/disposable';
import type { Session } from '../contract';
import type { LiveNotification } from '../notifications';
import type { OpenNotebook } from './notebooks';
import type { CheckpointReport, ProbeReport, RestoreReport } from './run';

/** What the service does to a kernel; the plugin passes run.ts and readyKernel, tests pass fakes. */
export interface KernelOps {
  ready(sessionContext: ISessionContext, timeoutMs: number): Promise<Kernel.IKernelConnection>;
  probe(kernel: Kernel.IKernelConnection): Promise<ProbeReport>;
  save(kernel: Kernel.IKernelConnection, path: string): Promise<CheckpointReport>;
  restore(kernel: Kernel.IKernelConnection, path: string): Promise<RestoreReport>;
  restart(sessionContext: ISessionContext): Promise<void>;
}

/** What the service needs of JupyterLab. */
export interface CheckpointHost {
  notebooks(): OpenNotebook[];
  current(): OpenNotebook | null;
  specs(): KernelSpec.ISpecModels | null;
  /** The Jupyter root, so that the same path under another root gets another checkpoint. */
  root: string;
  confirm(title: string, body: string, ok: string): Promise<boolean>;
  details(title: string, body: string): void;
}

/** A notebook found on the allocation: where its checkpoint goes and what the last one held. */
export interface Member {
  nb: OpenNotebook;
  name: string;
  path: string;
  report?: CheckpointReport;
  error?: string;
  /** Set while a checkpoint found nothing: saves again once the user's next cell has run. */
  rearm?: IDisposable;
}

/** One kernel allocation near its walltime (or asked to continue): its notification and notebooks. */
export interface Allocation {
  session: Session;
  note: LiveNotification;
  members: Map<string, Member>;
  continuing: boolean;
}
