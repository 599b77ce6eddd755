import './dom-polyfills';
import type { TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { readLiveEvent } from '../../src/live-events';
import { SessionNotifier } from '../../src/notifications';
import { FakeModel } from './fake-model';
import { sessionBase } from './fixtures';

// apputils ships ES modules jest does not load; the notifier only needs Notification.
const notes: { id: string; message: string; type: string; actions: string[] }[] = [];
jest.mock('@jupyterlab/apputils', () => {
  const add = (message: string, type: string, options: { actions?: { label: string }[] } = {}) => {
    notes.push({ id: String(notes.length + 1), message, type, actions: (options.actions ?? []).map(a => a.label) });
    return String(notes.length);
  };
  return {
    Notification: {
      warning: (message: string, options: { actions?: { label: string }[] }) => add(message, 'warning', options),
      emit: add,
      update: (u: { id: string; message: string; type: string }) => {
        const note = notes.find(n => n.id === u.id);
        if (note) Object.assign(note, { message: u.message, type: u.type });
        return note !== undefined;
      }
    }
  };
});

const trans = {
  __: (s: string, ...args: unknown[]) => s.replace(/%(\d)/g, (_m, i) => String(args[Number(i) - 1])),
  _n: (one: string, many: string, n: number, ...args: unknown[]) =>
    (n === 1 ? one : many).replace(/%(\d)/g, (_m, i) => String([n, ...args][Number(i) - 1]))
} as unknown as TranslationBundle;

const settle = () => new Promise(resolve => setTimeout(resolve, 0));
const s1 = { ...sessionBase, id: 's1', state: 'running' as const, node: 'c1', jobId: '7' };
const s2 = { ...s1, id: 's2', jobId: '8' };

/** JupyterLab's Save all as the docmanager registers it: enabled while a writable document is open. */
function setup(open: { documents: number; fails?: Error } | null) {
  const commands = new CommandRegistry();
  const saves = jest.fn(async () => {
    if (open?.fails) throw open.fails;
    return new Array(open?.documents ?? 0).fill(undefined);
  });
  if (open) commands.addCommand('docmanager:save-all', { execute: saves, isEnabled: () => open.documents > 0 });
  const model = new FakeModel();
  model.sessions = [s1, s2];
  new SessionNotifier(model, commands, trans);
  const warn = (sessionId: string, minutesLeft: number) => {
    const frame = { type: 'walltime-warning', sessionId, minutesLeft, endsAt: '2026-01-01T11:00:00Z' };
    model.events.emit(readLiveEvent('walltime-warning', frame, model.sessions).event!);
  };
  return { saves, warn };
}

afterEach(() => notes.splice(0));

test('the first walltime warning of a session saves the open documents once, and says so', async () => {
  const { saves, warn } = setup({ documents: 2 });
  warn('s1', 10);
  // Shown at once, before the save has answered.
  expect(notes).toEqual([
    {
      id: '1',
      type: 'warning',
      message: 'Your hpclab session gpu (job 7) reaches its time limit in 10 min. Saving the documents open here…',
      actions: ['Save all']
    }
  ]);
  await settle();
  expect(saves).toHaveBeenCalledTimes(1);
  expect(notes[0].message).toBe(
    'Your hpclab session gpu (job 7) reaches its time limit in 10 min. Saved the 2 documents open here.'
  );

  // The next warning of the same session only warns; another session's first one saves again.
  warn('s1', 2);
  await settle();
  expect(saves).toHaveBeenCalledTimes(1);
  expect(notes[1]).toMatchObject({
    message: 'Your hpclab session gpu (job 7) reaches its time limit in 2 min: save your work.',
    actions: ['Save all']
  });
  warn('s2', 10);
  await settle();
  expect(saves).toHaveBeenCalledTimes(2);
  expect(notes[2].message).toBe(
    'Your hpclab session gpu (job 8) reaches its time limit in 10 min. Saved the 2 documents open here.'
  );
});

test('nothing open, or no document manager in this Lab: a plain warning, nothing saved', async () => {
  for (const open of [{ documents: 0 }, null]) {
    const { saves, warn } = setup(open);
    warn('s1', 10);
    await settle();
    expect(saves).not.toHaveBeenCalled();
    expect(notes.at(-1)?.message).toBe(
      'Your hpclab session gpu (job 7) reaches its time limit in 10 min: save your work.'
    );
  }
});

test('a save that fails is said in the warning, which still asks the user to save', async () => {
  const logged = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  const { warn } = setup({ documents: 1, fails: new Error('Permission denied: analysis.ipynb') });
  warn('s1', 10);
  await settle();
  expect(notes[0].message).toBe(
    'Your hpclab session gpu (job 7) reaches its time limit in 10 min. Saving the open documents failed (Permission denied: analysis.ipynb): save your work.'
  );
  expect(logged).toHaveBeenCalled();
  logged.mockRestore();
});

test('a warning closed while saving comes back with the outcome', async () => {
  const { warn } = setup({ documents: 1 });
  warn('s1', 10);
  notes.splice(0); // the user closed it
  await settle();
  expect(notes).toEqual([
    {
      id: '1',
      type: 'warning',
      message: 'Your hpclab session gpu (job 7) reaches its time limit in 10 min. Saved the document open here.',
      actions: ['Save all']
    }
  ]);
});

test('a held node is named so in its notifications', () => {
  const model = new FakeModel();
  new SessionNotifier(model, new CommandRegistry(), trans);
  const held = { ...s1, kind: 'alloc' as const };
  model.events.emit({ type: 'session', previous: { ...held, state: 'starting' }, session: held });
  expect(notes[0]).toMatchObject({ type: 'success', message: 'Held node 7 is running on c1.', actions: [] });
});
