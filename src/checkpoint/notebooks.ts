import type { ISessionContext } from '@jupyterlab/apputils';
import type { Kernel, KernelSpec } from '@jupyterlab/services';
import * as z from 'zod/mini';
import type { Kernelspec } from '../contract';

/** An open notebook as the checkpoint plugin sees it: its path and its kernel's session. */
export interface OpenNotebook {
  /** The notebook's path under the Jupyter root. */
  path: string;
  /** Its file name, for messages. */
  name: string;
  sessionContext: ISessionContext;
}

/** Which hpclab profile (and cluster) a kernelspec runs its kernel with. */
export interface RemoteKernelOf {
  profile: string;
  cluster: string;
}

const hpclabMetadataSchema = z.object({ profile: z.string(), cluster: z.string() });

/**
 * The notebook in a widget, or null: a document widget with a session context (a notebook panel;
 * a console has no document path). Duck-typed so this plugin needs no @jupyterlab/notebook.
 */
export function asNotebook(widget: unknown): OpenNotebook | null {
  const w = widget as { sessionContext?: ISessionContext; context?: { path?: unknown }; isDisposed?: boolean } | null;
  const path = w?.context?.path;
  if (!w || w.isDisposed || !w.sessionContext || typeof path !== 'string') return null;
  return { path, name: path.split('/').pop() || path, sessionContext: w.sessionContext };
}

/** Every notebook open in the main area. */
export function openNotebooks(widgets: Iterable<unknown>): OpenNotebook[] {
  const found: OpenNotebook[] = [];
  for (const widget of widgets) {
    const nb = asNotebook(widget);
    if (nb) found.push(nb);
  }
  return found;
}

/**
 * The profile a notebook's kernel runs with: `metadata.hpclab` of its kernelspec as Jupyter
 * lists it, else the companion's list of the kernelspecs it wrote; null for any other kernel.
 */
export function remoteKernelOf(
  nb: OpenNotebook,
  specs: KernelSpec.ISpecModels | null,
  known: readonly Kernelspec[]
): RemoteKernelOf | null {
  const name = nb.sessionContext.session?.kernel?.name ?? nb.sessionContext.kernelPreference.name;
  if (!name) return null;
  const parsed = hpclabMetadataSchema.safeParse(specs?.kernelspecs[name]?.metadata?.hpclab);
  if (parsed.success) return { profile: parsed.data.profile, cluster: parsed.data.cluster };
  const spec = known.find(k => k.name === name);
  return spec ? { profile: spec.metadata.profile, cluster: spec.metadata.cluster } : null;
}

/**
 * The notebook's kernel once it can take a request: connected and idle or busy (a request to a
 * busy kernel waits its turn). Rejects when the notebook closes, its kernel dies, or `timeoutMs`
 * passes; a remote kernel may wait a long time for its allocation, so the caller picks the bound.
 */
export function readyKernel(
  sessionContext: ISessionContext,
  timeoutMs: number,
  pollMs = 250
): Promise<Kernel.IKernelConnection> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = () => {
      const kernel = sessionContext.session?.kernel;
      if (sessionContext.isDisposed) return fail(new Error('the notebook was closed'));
      if (kernel?.status === 'dead') return fail(new Error('its kernel is dead'));
      if (kernel && kernel.connectionStatus === 'connected' && (kernel.status === 'idle' || kernel.status === 'busy')) {
        clearInterval(timer);
        resolve(kernel);
        return;
      }
      if (Date.now() - started >= timeoutMs)
        fail(new Error(`its kernel was not ready within ${Math.round(timeoutMs / 60_000)} min`));
    };
    const fail = (err: Error) => {
      clearInterval(timer);
      reject(err);
    };
    const timer = setInterval(check, pollMs);
    check();
  });
}
