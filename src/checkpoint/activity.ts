import type { Kernel, KernelMessage } from '@jupyterlab/services';
import type { IDisposable } from '@lumino/disposable';
import { SNIPPET_PREFIX } from './code';

/**
 * Calls `then` once, when a cell the user ran (an execute_input that is not one of hpclab's
 * snippets) has finished: its request's idle status. A checkpoint taken before the user ran
 * anything holds nothing; this says when there is something worth saving.
 */
export function afterNextUserRun(
  kernel: Pick<Kernel.IKernelConnection, 'iopubMessage'>,
  then: () => void
): IDisposable {
  let running: string | undefined;
  let disposed = false;
  const listener = (_sender: unknown, msg: KernelMessage.IIOPubMessage) => {
    const parent = (msg.parent_header as Partial<KernelMessage.IHeader>).msg_id;
    if (msg.header.msg_type === 'execute_input') {
      const { code } = (msg as KernelMessage.IExecuteInputMsg).content;
      if (!code.startsWith(SNIPPET_PREFIX)) running = parent;
    } else if (
      running !== undefined &&
      msg.header.msg_type === 'status' &&
      parent === running &&
      (msg as KernelMessage.IStatusMsg).content.execution_state === 'idle'
    ) {
      watch.dispose();
      then();
    }
  };
  kernel.iopubMessage.connect(listener);
  const watch: IDisposable = {
    get isDisposed() {
      return disposed;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      kernel.iopubMessage.disconnect(listener);
    }
  };
  return watch;
}
