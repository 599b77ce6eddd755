import './dom-polyfills';
import { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';
import { HpclabApi } from '../../src/api';
import { registerLogCommand } from '../../src/log/commands';
import { LogView } from '../../src/log/view';
import { CommandIDs } from '../../src/tokens';
import { english } from '../../src/translate';
import { FakeModel } from './fake-model';

// apputils and ui-components ship ES modules jest does not load; the log command needs only these.
jest.mock('@jupyterlab/apputils', () => {
  const { Widget: Base } = jest.requireActual<typeof import('@lumino/widgets')>('@lumino/widgets');
  class MainAreaWidget<T extends Widget> extends Base {
    constructor(readonly options: { content: T }) {
      super();
    }
    get content(): T {
      return this.options.content;
    }
  }
  class WidgetTracker<T> {
    readonly widgets: T[] = [];
    add = async (w: T) => void this.widgets.push(w);
    find = (f: (w: T) => boolean) => this.widgets.find(f);
  }
  return { MainAreaWidget, WidgetTracker };
});
jest.mock('../../src/icons', () => ({ hpcIcon: {} }));

const { TextEncoder } = jest.requireActual<{ TextEncoder: { new (): { encode(s: string): Uint8Array } } }>('util');

/** A streamed reply, as fetch gives one: the body read chunk by chunk. */
function streamed(chunks: Uint8Array[]) {
  const queue = [...chunks];
  return {
    ok: true,
    status: 200,
    statusText: 'OK',
    text: async () => '',
    body: {
      getReader: () => ({
        read: async () => (queue.length ? { value: queue.shift(), done: false } : { value: undefined, done: true })
      })
    }
  };
}

test('the log reaches a companion whose URL carries only a token: the token goes in the Authorization header', async () => {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetchImpl = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    if ((init.headers as Record<string, string>).Authorization !== 'token secret')
      return { ok: false, status: 401, statusText: 'Unauthorized', text: async () => '' };
    const bytes = new TextEncoder().encode('épreuve 1\nline 2\n');
    // "é" is two bytes: split between chunks, it must come out whole.
    return streamed([bytes.slice(0, 1), bytes.slice(1, 9), bytes.slice(9)]);
  }) as unknown as typeof fetch;
  const model = new FakeModel(new HpclabApi('http://127.0.0.1:9999/?token=secret', fetchImpl));
  model.sessions = [
    {
      kind: 'lab',
      cluster: 'c',
      profile: 'gpu',
      id: 's1',
      state: 'running',
      jobId: '42',
      pending: null,
      node: 'n1',
      createdAt: 'x',
      startedAt: null,
      endsAt: null,
      endedAt: null,
      endReason: null,
      message: null,
      baseUrl: '/hpclab/node/s1/'
    }
  ];
  const view = new LogView('s1', model, english);
  await view.done;
  expect(calls).toHaveLength(1);
  expect(calls[0].url).toBe('http://127.0.0.1:9999/hpclab/api/sessions/s1/log?tail=65536&follow=1');
  expect(calls[0].init.credentials).toBe('same-origin'); // never the cookie of this origin to another
  expect(view.node.querySelector('pre')!.textContent).toBe('épreuve 1\nline 2\n');
  expect(view.title.label).toBe('Log 42');
  view.dispose();
});

test('a restored tab waits for the model to find the companion, then says why the log stopped', async () => {
  const calls: string[] = [];
  const fetchImpl = (async (url: string) => {
    calls.push(url);
    return {
      ok: false,
      status: 404,
      statusText: 'Not Found',
      text: async () => JSON.stringify({ error: { code: 'not-found', message: 'no session s9' } })
    };
  }) as unknown as typeof fetch;
  const model = new FakeModel(new HpclabApi('', fetchImpl));
  model.loaded = false;
  const view = new LogView('s9', model, english);
  await new Promise(resolve => setTimeout(resolve, 0));
  expect(calls).toEqual([]); // the companion may not be located yet: nothing asked
  expect(view.title.label).toBe('Log s9');
  model.set({ loaded: true });
  await view.done;
  expect(calls).toHaveLength(1);
  expect(view.node.textContent).toContain('[hpclab: the log stopped: no session s9]');
  view.dispose();
});

test('closing the tab aborts the request and says nothing', async () => {
  let signal: AbortSignal | undefined;
  const fetchImpl = ((_url: string, init: RequestInit) => {
    signal = init.signal ?? undefined;
    return new Promise((_resolve, reject) => signal!.addEventListener('abort', () => reject(new Error('aborted'))));
  }) as unknown as typeof fetch;
  const view = new LogView('s1', new FakeModel(new HpclabApi('', fetchImpl)), english);
  await new Promise(resolve => setTimeout(resolve, 0));
  view.dispose();
  await view.done;
  expect(signal?.aborted).toBe(true);
  expect(view.node.textContent).toBe('');
});

test('show log: one tab per session, tracked so the layout restorer reopens it with {sessionId}', async () => {
  const commands = new CommandRegistry();
  const shell = { add: jest.fn(), activateById: jest.fn() };
  const restorer = { restore: jest.fn(async () => undefined) };
  const never = (() => new Promise(() => undefined)) as unknown as typeof fetch;
  registerLogCommand({ commands, shell } as never, new FakeModel(new HpclabApi('', never)), english, restorer as never);
  const first = (await commands.execute(CommandIDs.showLog, { sessionId: 's1' })) as Widget & { content: LogView };
  const again = await commands.execute(CommandIDs.showLog, { sessionId: 's1' });
  expect(again).toBe(first);
  expect(shell.add).toHaveBeenCalledTimes(1);
  expect(first.id).toBe('hpclab-log-s1');
  expect(shell.activateById).toHaveBeenLastCalledWith('hpclab-log-s1');
  const [[, options]] = restorer.restore.mock.calls as unknown as [
    unknown,
    { command: string; args: (w: unknown) => unknown; name: (w: unknown) => string }
  ][];
  expect(options.command).toBe(CommandIDs.showLog);
  expect(options.args(first)).toEqual({ sessionId: 's1' });
  expect(options.name(first)).toBe('s1');
  first.content.dispose();
});
