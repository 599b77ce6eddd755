import './dom-polyfills';
import { SessionsSection } from '../../src/sidebar/sessions';
import { CommandIDs } from '../../src/tokens';
import { disposeShown, FakeModel, recordingCommands, redraw, sectionContext, shown } from './fake-model';
import { sessionBase } from './fixtures';

afterEach(() => {
  disposeShown();
  jest.useRealTimers();
});

const rows = (section: SessionsSection) => [...section.node.querySelectorAll<HTMLElement>('.jp-hpclab-session')];
const $ = <T extends HTMLElement>(root: HTMLElement, selector: string) => root.querySelector<T>(selector)!;

test('a pending session says why it waits and where it stands in the queue', () => {
  const model = new FakeModel();
  model.sessions = [
    {
      ...sessionBase,
      id: 'p1',
      state: 'pending',
      jobId: '42',
      pending: { reason: 'Resources', position: 2, estimatedStart: null }
    }
  ];
  const section = shown(new SessionsSection(sectionContext(model)));
  const [row] = rows(section);
  expect(row.dataset).toMatchObject({ session: 'p1', state: 'pending' });
  expect($(row, '.jp-hpclab-muted').textContent).toBe('job 42 · Resources, #2 in the queue');
  expect([...row.querySelectorAll<HTMLElement>('[data-action]')].map(b => b.dataset.action)).toEqual(['stop', 'log']);
});

test('a running session counts down every second, and Open, Stop and Log run their commands', () => {
  jest.useFakeTimers({ now: Date.parse('2026-01-01T10:00:00Z') });
  const { commands, ran } = recordingCommands([CommandIDs.openSession, CommandIDs.stopSession, CommandIDs.showLog]);
  const model = new FakeModel();
  model.sessions = [{ ...sessionBase, id: 'r1', state: 'running', node: 'c1', endsAt: '2026-01-01T11:00:00Z' }];
  const section = shown(new SessionsSection(sectionContext(model, commands)));
  const line = () => $(rows(section)[0], '.jp-hpclab-muted').textContent;
  expect(line()).toBe('job 7 · c1 · 1:00:00 left');
  jest.advanceTimersByTime(2000);
  expect(line()).toBe('job 7 · c1 · 0:59:58 left');
  for (const action of ['open', 'stop', 'log']) $(rows(section)[0], `[data-action="${action}"]`).click();
  expect(ran).toEqual([
    { id: CommandIDs.openSession, args: { id: 'r1' } },
    { id: CommandIDs.stopSession, args: { id: 'r1' } },
    { id: CommandIDs.showLog, args: { sessionId: 'r1' } }
  ]);
});

test('ended and failed sessions wait collapsed under "N ended"; each can be dismissed', () => {
  const model = new FakeModel();
  model.sessions = [
    { ...sessionBase, id: 'live', state: 'running' },
    { ...sessionBase, id: 'e1', state: 'ended', endReason: 'timeout' },
    { ...sessionBase, id: 'f1', state: 'failed', message: 'sbatch: error: invalid partition\nmore' }
  ];
  const section = shown(new SessionsSection(sectionContext(model)));
  expect(rows(section).map(r => r.dataset.session)).toEqual(['live']);
  const toggle = $<HTMLButtonElement>(section.node, '[data-hpclab-action="toggle-ended"]');
  expect(toggle.textContent).toBe('2 ended');
  expect(toggle.getAttribute('aria-expanded')).toBe('false');

  toggle.click();
  redraw();
  expect(rows(section).map(r => r.dataset.session)).toEqual(['live', 'e1', 'f1']);
  expect($(section.node, '[data-hpclab-action="toggle-ended"]').getAttribute('aria-expanded')).toBe('true');
  const failed = rows(section)[2];
  expect($(failed, '.jp-hpclab-muted').textContent).toBe('job 7 · failed · sbatch: error: invalid partition');
  expect([...failed.querySelectorAll<HTMLElement>('[data-action]')].map(b => b.dataset.action)).toEqual([
    'log',
    'dismiss'
  ]);

  $(failed, '[data-action="dismiss"]').click();
  redraw();
  expect(model.dismissed.has('f1')).toBe(true);
  expect(rows(section).map(r => r.dataset.session)).toEqual(['live', 'e1']);
  expect($(section.node, '[data-hpclab-action="toggle-ended"]').textContent).toBe('1 ended');

  $(rows(section)[1], '[data-action="dismiss"]').click();
  redraw();
  expect(section.node.querySelector('[data-hpclab-action="toggle-ended"]')).toBeNull();
});

test('nothing to show: loading first, then an invitation to request one', () => {
  const model = new FakeModel();
  model.loaded = false;
  const section = shown(new SessionsSection(sectionContext(model)));
  expect(section.node.textContent).toContain('Loading…');
  model.set({ loaded: true, sessions: [{ ...sessionBase, id: 'gone', state: 'ended' }] });
  model.dismiss('gone');
  redraw();
  expect(section.node.textContent).toContain('No sessions. Request one above.');
});

test('a running session says how its node is reached: private socket, or a TCP port others can reach', () => {
  const model = new FakeModel();
  const summary =
    'unix socket /tmp/hpclab.Ab3dE5gH7j/lab.sock (mode 0600) in a directory of mode 0700 on c1, reached through a relay step of job 7; no TCP port on the node';
  model.sessions = [
    { ...sessionBase, id: 'private', state: 'running', access: { kind: 'unix-socket', summary, relay: 'up' } },
    {
      ...sessionBase,
      id: 'open',
      state: 'running',
      access: { kind: 'tcp', summary: 'TCP port 8123 on c1: any cluster user can connect to it', relay: null }
    },
    { ...sessionBase, id: 'older', state: 'running' }
  ];
  const section = shown(new SessionsSection(sectionContext(model)));
  const access = (row: HTMLElement) => row.querySelector<HTMLElement>('.jp-hpclab-access');
  const [priv, open, older] = rows(section);
  expect(access(priv)?.textContent).toBe('Private: unix socket, no TCP port (relay up)');
  expect(access(priv)?.title).toBe(summary);
  expect(access(open)?.textContent).toBe('Open: TCP port any cluster user can connect to');
  expect(access(open)?.dataset.access).toBe('tcp');
  expect(access(older)).toBeNull();
});
