import './dom-polyfills';
import { continueLab, offerLabContinue } from '../../src/checkpoint/lab';
import type { Session } from '../../src/contract';
import type { LiveNotification } from '../../src/notifications';
import { english } from '../../src/translate';
import { FakeModel } from './fake-model';
import { sessionBase } from './fixtures';

// apputils ships ES modules jest does not load; the offer only needs Notification.
type Note = { id: string; message: string; type: string; actions: { label: string; callback: (e: unknown) => void }[] };
const notes: Note[] = [];
jest.mock('@jupyterlab/apputils', () => ({
  Notification: {
    emit: (message: string, type: string, options: { actions?: Note['actions'] }) => {
      notes.push({ id: String(notes.length + 1), message, type, actions: options.actions ?? [] });
      return String(notes.length);
    },
    update: (u: { id: string; message: string; type: string; actions?: Note['actions'] }) => {
      const note = notes.find(n => n.id === u.id);
      if (note) Object.assign(note, { message: u.message, type: u.type, actions: u.actions ?? [] });
      return note !== undefined;
    }
  }
}));

const lab: Session = { ...sessionBase, id: 's1', profile: 'ws', state: 'running', jobId: '50', node: 'c1' };

function setup(endsAfterRefreshes: number) {
  const ran: string[] = [];
  const shown: { message: string; type: string }[] = [];
  const note = {
    show: (message: string, type: string) => shown.push({ message, type })
  } as unknown as LiveNotification;
  const model = new FakeModel();
  model.sessions = [lab];
  let refreshes = 0;
  model.refresh.mockImplementation(async () => {
    ran.push('refresh');
    if (++refreshes >= endsAfterRefreshes) model.sessions = [{ ...lab, state: 'ended', endReason: 'cancelled' }];
  });
  model.api = {
    stopSession: async (id: string) => {
      ran.push(`stop ${id}`);
      return { ...lab, state: 'ending' };
    },
    createSession: async (body: unknown, key: string) => {
      ran.push(`create ${JSON.stringify(body)} ${key.startsWith('continue-s1-')}`);
      return { ...lab, id: 's2', state: 'pending', jobId: '51' };
    }
  } as never;
  return { ran, shown, note, model };
}

test('a Lab continues: stopped (its workspace backed up), ended, then a new session of its profile', async () => {
  jest.useFakeTimers();
  const info = jest.spyOn(console, 'info').mockImplementation(() => undefined);
  const { ran, shown, note, model } = setup(2);
  const done = continueLab(model, lab, note, english);
  await jest.advanceTimersByTimeAsync(10_000);
  expect(await done).toBe(true);
  expect(ran).toEqual([
    'stop s1',
    'refresh',
    'refresh',
    'create {"kind":"lab","profile":"ws","cluster":"testbed"} true',
    'refresh'
  ]);
  expect(shown.at(-1)).toEqual({
    type: 'success',
    message:
      'Stopped job 50 (workspace backed up) and requested a new Lab session of ws: job 51. It opens from its notification.'
  });
  expect(info).toHaveBeenCalledWith(expect.stringMatching(/s from "Continue in a new session"\]$/));
  info.mockRestore();
  jest.useRealTimers();
});

test('a Lab that does not end in time: no new session, and the user is told', async () => {
  jest.useFakeTimers();
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  const { ran, shown, note, model } = setup(Infinity);
  let clock = 0;
  const done = continueLab(model, lab, note, english, () => (clock += 60_000));
  await jest.advanceTimersByTimeAsync(60_000);
  expect(await done).toBe(false);
  expect(ran.some(r => r.startsWith('create'))).toBe(false);
  expect(shown.at(-1)).toEqual({
    type: 'error',
    message: 'Could not continue Lab session ws (job 50): job 50 has not ended after 10 min'
  });
  warn.mockRestore();
  jest.useRealTimers();
});

test('the walltime offer for a Lab continues it once, in the same notification', async () => {
  jest.useFakeTimers();
  const info = jest.spyOn(console, 'info').mockImplementation(() => undefined);
  const { ran, model } = setup(1);
  offerLabContinue(model, lab, english);
  expect(notes).toEqual([
    {
      id: '1',
      type: 'info',
      message: 'Lab session ws (job 50) can continue in a new session; its workspace is backed up when it stops.',
      actions: [expect.objectContaining({ label: 'Continue in a new session' })]
    }
  ]);
  const event = { preventDefault: jest.fn() };
  const button = notes[0].actions[0];
  button.callback(event);
  expect(notes[0].actions).toEqual([]); // in progress: no button to press
  button.callback(event); // a click on a stale toast while it runs does nothing more
  expect(event.preventDefault).toHaveBeenCalled(); // the toast stays to show the progress
  await jest.advanceTimersByTimeAsync(10_000);
  expect(ran.filter(r => r.startsWith('stop'))).toEqual(['stop s1']);
  expect(notes).toHaveLength(1);
  expect(notes[0].message).toMatch(
    /^Stopped job 50 \(workspace backed up\) and requested a new Lab session of ws: job 51/
  );
  info.mockRestore();
  jest.useRealTimers();
  notes.splice(0);
});
