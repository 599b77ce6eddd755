import type { KernelMessage } from '@jupyterlab/services';
import { MARKERS } from '../../src/checkpoint/code';
import { probeKernel, runMarked, saveVariables, SnippetError, type SnippetKernel } from '../../src/checkpoint/run';

/**
 * A kernel that answers one execute request with the given iopub messages, then the reply; or
 * never, for the timeout. Records the request so a test can check what was sent.
 */
function fakeKernel(iopub: { msg_type: string; content: unknown }[], reply: { status: string; [k: string]: unknown }) {
  const sent: KernelMessage.IExecuteRequestMsg['content'][] = [];
  let disposed = false;
  const kernel = {
    requestExecute: (content: KernelMessage.IExecuteRequestMsg['content']) => {
      sent.push(content);
      const future = {
        onIOPub: (_msg: KernelMessage.IIOPubMessage) => undefined,
        done: new Promise(resolve =>
          setTimeout(() => {
            for (const m of iopub) future.onIOPub({ header: { msg_type: m.msg_type }, content: m.content } as never);
            resolve({ content: reply });
          }, 0)
        ),
        dispose: () => {
          disposed = true;
        }
      };
      return future;
    }
  } as unknown as SnippetKernel;
  return { kernel, sent, disposed: () => disposed };
}

const stream = (text: string, name = 'stdout') => ({ msg_type: 'stream', content: { name, text } });

test('the marker line is found in stdout even when the stream cuts it, and its JSON parsed', async () => {
  const { kernel, sent } = fakeKernel(
    [stream('some output\nHPCLAB-JO'), stream('B {"job": "7", '), stream('"count": 3}\nmore\n')],
    { status: 'ok' }
  );
  expect(await probeKernel(kernel)).toEqual({ job: '7', count: 3 });
  // Not in the history, no stdin, and an error must not abort the user's queued cells.
  expect(sent[0]).toMatchObject({ silent: false, store_history: false, allow_stdin: false, stop_on_error: false });
  expect(sent[0].code.startsWith('# hpclab:')).toBe(true);
});

test("an error in the kernel rejects with Python's ename and evalue", async () => {
  const { kernel } = fakeKernel(
    [
      {
        msg_type: 'error',
        content: { ename: 'PermissionError', evalue: "[Errno 13] Permission denied: '/home/u/.hpclab'" }
      }
    ],
    { status: 'error', ename: 'PermissionError', evalue: 'x' }
  );
  const err = await saveVariables(kernel, '~/.hpclab/checkpoints/a.pkl').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(SnippetError);
  expect(err).toMatchObject({
    ename: 'PermissionError',
    message: "PermissionError: [Errno 13] Permission denied: '/home/u/.hpclab'"
  });
});

test('no marker line: rejected, with the last thing the kernel said on stderr', async () => {
  const { kernel } = fakeKernel([stream('hello\n'), stream('something odd\nlast words\n', 'stderr')], { status: 'ok' });
  await expect(runMarked(kernel, 'pass', MARKERS.checkpoint, 1000)).rejects.toThrow(
    'the kernel printed no HPCLAB-CHECKPOINT line (it said: last words)'
  );
});

test('a report of another shape is refused with the field it lacks', async () => {
  const { kernel } = fakeKernel([stream('HPCLAB-CHECKPOINT {"path": "/h/a.pkl"}\n')], { status: 'ok' });
  await expect(saveVariables(kernel, 'a')).rejects.toThrow(/unexpected checkpoint report/);
});

test('a kernel that does not answer in time: rejected, and the future let go', async () => {
  jest.useFakeTimers();
  const kernel = {
    requestExecute: () => ({ onIOPub: undefined, done: new Promise(() => undefined), dispose: jest.fn() })
  } as unknown as SnippetKernel;
  const run = runMarked(kernel, 'pass', MARKERS.probe, 20_000);
  jest.advanceTimersByTime(20_000);
  await expect(run).rejects.toThrow('the kernel did not answer in 20 s (busy?)');
  jest.useRealTimers();
});
