import './dom-polyfills';
import type { TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { readLiveEvent } from '../../src/live-events';
import { SessionNotifier } from '../../src/notifications';
import { FakeModel } from './fake-model';
import { sessionBase } from './fixtures';

// apputils ships ES modules jest does not load; the notifier only needs Notification.
const notes: string[] = [];
jest.mock('@jupyterlab/apputils', () => ({
  Notification: {
    warning: (message: string) => String(notes.push(message)),
    emit: (message: string) => String(notes.push(message)),
    update: (u: { id: string; message: string }) => {
      notes[Number(u.id) - 1] = u.message;
      return true;
    }
  }
}));

const trans = {
  __: (s: string, ...args: unknown[]) => s.replace(/%(\d)/g, (_m, i) => String(args[Number(i) - 1])),
  _n: (one: string, many: string, n: number, ...args: unknown[]) =>
    (n === 1 ? one : many).replace(/%(\d)/g, (_m, i) => String([n, ...args][Number(i) - 1]))
} as unknown as TranslationBundle;

const settle = () => new Promise(resolve => setTimeout(resolve, 0));

test('a kernel allocation submitted again (same session, new job) saves the documents at its own first warning', async () => {
  const commands = new CommandRegistry();
  const saves = jest.fn(async () => [undefined]);
  commands.addCommand('docmanager:save-all', { execute: saves, isEnabled: () => true });
  const model = new FakeModel();
  const session = { ...sessionBase, id: 'k1', kind: 'kernel' as const, profile: 'ckpt', state: 'running' as const };
  new SessionNotifier(model, commands, trans);
  const warn = (jobId: string, minutesLeft: number) => {
    model.sessions = [{ ...session, jobId }];
    const frame = { type: 'walltime-warning', sessionId: 'k1', minutesLeft, endsAt: '2026-01-01T11:00:00Z' };
    model.events.emit(readLiveEvent('walltime-warning', frame, model.sessions).event!);
  };
  warn('94', 4);
  await settle();
  warn('95', 4); // "Continue in a new session": the companion submitted the session again
  await settle();
  warn('95', 2);
  await settle();
  expect(saves).toHaveBeenCalledTimes(2);
  expect(notes).toEqual([
    'Your hpclab session ckpt (job 94) reaches its time limit in 4 min. Saved the document open here.',
    'Your hpclab session ckpt (job 95) reaches its time limit in 4 min. Saved the document open here.',
    'Your hpclab session ckpt (job 95) reaches its time limit in 2 min: save your work.'
  ]);
});
