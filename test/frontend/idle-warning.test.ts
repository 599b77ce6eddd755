import './dom-polyfills';
import type { TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { readLiveEvent } from '../../src/live-events';
import { SessionNotifier } from '../../src/notifications';
import { FakeModel } from './fake-model';
import { sessionBase } from './fixtures';

// apputils ships ES modules jest does not load; the notifier only needs Notification.
const notes: { message: string; type: string; actions: { label: string }[] }[] = [];
jest.mock('@jupyterlab/apputils', () => ({
  Notification: {
    warning: (message: string, options: { actions?: { label: string }[] }) =>
      String(notes.push({ message, type: 'warning', actions: options.actions ?? [] })),
    emit: (message: string, type: string, options: { actions?: { label: string }[] }) =>
      String(notes.push({ message, type, actions: options.actions ?? [] })),
    update: () => false
  }
}));

const trans = {
  __: (s: string, ...args: unknown[]) => s.replace(/%(\d)/g, (_m, i) => String(args[Number(i) - 1]))
} as unknown as TranslationBundle;

const running = { ...sessionBase, id: 's1', state: 'running' as const, node: 'n1' };
const frame = {
  type: 'idle-warning',
  sessionId: 's1',
  minutesLeft: 5,
  stopsAt: '2026-01-01T01:00:00Z',
  idleMinutes: 60
};

test('an idle-warning frame reaches the UI with its session, and a malformed one is ignored', () => {
  expect(readLiveEvent('idle-warning', frame, [running])).toEqual({
    event: { type: 'idle-warning', session: running, minutesLeft: 5, stopsAt: frame.stopsAt, idleMinutes: 60 }
  });
  expect(readLiveEvent('idle-warning', { ...frame, minutesLeft: 'soon' }, [running])).toEqual({});
});

test('the idle warning is a notification that stays, naming the time left and offering to open the Lab', () => {
  const model = new FakeModel();
  new SessionNotifier(model, new CommandRegistry(), trans);
  const { event } = readLiveEvent('idle-warning', frame, [running]);
  model.events.emit(event!);
  expect(notes).toEqual([
    {
      type: 'warning',
      message:
        'Your hpclab session gpu (job 7) has been idle and stops in 5 min to free its node (idle limit: 60 min). Use it to keep it.',
      actions: [{ label: 'Open', callback: expect.any(Function) }]
    }
  ]);
  // Then the end, with the reason's words.
  model.events.emit({
    type: 'session',
    previous: running,
    session: { ...running, state: 'ended', endReason: 'idle', message: 'Stopped after 60 idle minutes.' }
  });
  expect(notes[1]).toMatchObject({ type: 'info', message: 'Lab session 7 ended: Stopped after 60 idle minutes.' });
});
