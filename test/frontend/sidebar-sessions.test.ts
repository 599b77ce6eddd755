import './dom-polyfills';
import { HpclabError } from '../../src/api';
import type { ExtendReply, WorkspaceBackup, WorkspaceStatus } from '../../src/contract';
import { SessionsSection } from '../../src/sidebar/sessions';
import { backupTime } from '../../src/sidebar/workspace-line';
import { CommandIDs } from '../../src/tokens';
import { disposeShown, FakeModel, recordingCommands, redraw, sectionContext, shown } from './fake-model';
import { sessionBase } from './fixtures';

// apputils ships ES modules jest does not load; Back up now and Extend need only these of it.
const notes: { id: string; message: string; type: string }[] = [];
const dialogs: { title: string; value?: number }[] = [];
let dialogAnswer: { button: { accept: boolean }; value: number | null } = { button: { accept: true }, value: 60 };
jest.mock('@jupyterlab/apputils', () => ({
  Notification: {
    emit: (message: string, type: string) => {
      notes.push({ id: String(notes.length + 1), message, type });
      return String(notes.length);
    },
    update: (u: { id: string; message: string; type: string }) => {
      const note = notes.find(n => n.id === u.id);
      if (note) Object.assign(note, { message: u.message, type: u.type });
      return note !== undefined;
    }
  },
  InputDialog: {
    getNumber: async (options: { title: string; value?: number }) => (dialogs.push(options), dialogAnswer)
  }
}));

afterEach(() => {
  disposeShown();
  jest.useRealTimers();
  notes.splice(0);
  dialogs.splice(0);
  dialogAnswer = { button: { accept: true }, value: 60 };
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

test('a kernel allocation says how many kernels share it', () => {
  const model = new FakeModel();
  model.sessions = [
    { ...sessionBase, id: 'shared', kind: 'kernel', state: 'running', kernels: 2 },
    { ...sessionBase, id: 'alone', kind: 'kernel', state: 'running' }
  ];
  const section = shown(new SessionsSection(sectionContext(model)));
  const title = (row: HTMLElement) => row.querySelector('.jp-hpclab-session-title')?.textContent;
  const [shared, alone] = rows(section);
  expect(title(shared)).toBe('Allocation, 2 kernels · gpu');
  expect(title(alone)).toBe('Kernel · gpu');
});

test('a held node (alloc) says so, and has no Open: there is no server on it', () => {
  const model = new FakeModel();
  model.sessions = [{ ...sessionBase, id: 'h1', kind: 'alloc', state: 'running', node: 'c1' }];
  const section = shown(new SessionsSection(sectionContext(model)));
  const [row] = rows(section);
  expect($(row, '.jp-hpclab-session-title').textContent).toBe('Held node · gpu');
  expect([...row.querySelectorAll<HTMLElement>('[data-action]')].map(b => b.dataset.action)).toEqual([
    'extend',
    'stop',
    'log'
  ]);
});

describe("a session's workspace", () => {
  const lastBackup: WorkspaceBackup = {
    name: 'workspace-20261206T081500Z.tar.zst',
    at: '2026-12-06T08:15:00Z',
    bytes: 12931234,
    compressor: 'zstd'
  };
  const workspace = (over: Partial<WorkspaceStatus> = {}): WorkspaceStatus => ({
    dir: '/scratch/$USER/ws',
    backupDir: '$HOME/ws-backups',
    autoBackupMinutes: 30,
    state: 'idle',
    lastBackup,
    error: null,
    ...over
  });
  const running = (over: Partial<WorkspaceStatus> = {}) => ({
    ...sessionBase,
    id: 'w1',
    state: 'running' as const,
    node: 'c1',
    jobId: '7',
    workspace: workspace(over)
  });
  const line = (row: HTMLElement) => row.querySelector<HTMLElement>('.jp-hpclab-workspace');
  const action = (row: HTMLElement, name: string) => row.querySelector<HTMLButtonElement>(`[data-action="${name}"]`);

  function section(...sessions: ReturnType<typeof running>[]) {
    const model = new FakeModel();
    model.sessions = sessions;
    return { model, section: shown(new SessionsSection(sectionContext(model))) };
  }

  test('a running session shows its state, the last backup (time, size) and where it lives on hover', () => {
    const { section: s } = section(running());
    const [row] = rows(s);
    expect(line(row)?.textContent).toBe(`Workspace · last backup ${backupTime(lastBackup.at)} (12.3 MiB)`);
    expect(line(row)?.title).toBe(
      '/scratch/$USER/ws → $HOME/ws-backups, backed up every 30 min, at the walltime warning and at stop'
    );
    // The countdown stays the first muted line: the ticker rewrites only that one.
    expect(row.querySelector('.jp-hpclab-muted')?.textContent).toBe('job 7 · c1');
    expect(row.querySelector('.jp-hpclab-workspace-error')).toBeNull();
    expect(action(row, 'backup')?.disabled).toBe(false);
  });

  test('no backup yet, a backup running, and why the last one failed', () => {
    const { section: s } = section(
      { ...running({ lastBackup: null, error: 'tar: /scratch/me/ws: No space left on device' }), id: 'a' },
      { ...running({ state: 'backing-up' }), id: 'b' },
      { ...running({ state: 'restoring', lastBackup: null }), id: 'c' }
    );
    const [a, b, c] = rows(s);
    expect(line(a)?.textContent).toBe('Workspace · no backup yet');
    expect(a.querySelector('.jp-hpclab-workspace-error')?.textContent).toBe(
      'tar: /scratch/me/ws: No space left on device'
    );
    expect(line(b)?.textContent).toMatch(/^Workspace: backing up… · last backup /);
    expect(action(b, 'backup')?.disabled).toBe(true);
    expect(line(c)?.textContent).toBe('Workspace: restoring… · no backup yet');
    expect(action(c, 'backup')?.disabled).toBe(true);
  });

  test('no line and no Back up now without a workspace, or before the session runs', () => {
    const { section: s } = section(
      { ...running(), id: 'none', workspace: null } as unknown as ReturnType<typeof running>,
      { ...running(), id: 'queued', state: 'pending' } as unknown as ReturnType<typeof running>
    );
    for (const row of rows(s)) {
      expect(line(row)).toBeNull();
      expect(action(row, 'backup')).toBeNull();
    }
  });

  test('Back up now: disabled until the companion answers, then a notification names the file', async () => {
    const { model, section: s } = section(running());
    let finish: (b: WorkspaceBackup) => void = () => undefined;
    const backup = jest
      .spyOn(model.api, 'backupWorkspace')
      .mockReturnValue(new Promise<WorkspaceBackup>(resolve => (finish = resolve)));
    action(rows(s)[0], 'backup')!.click();
    redraw();
    expect(backup).toHaveBeenCalledWith('w1');
    expect(action(rows(s)[0], 'backup')?.disabled).toBe(true);
    expect(line(rows(s)[0])?.dataset.workspace).toBe('backing-up');
    expect(notes).toEqual([{ id: '1', type: 'in-progress', message: 'Backing up the workspace of gpu (job 7)…' }]);

    finish({ ...lastBackup, name: 'workspace-20261206T091500Z.tar.zst', seconds: 3.4, sourceBytes: 40_000_000 });
    await new Promise(resolve => setTimeout(resolve, 0));
    redraw();
    expect(notes).toEqual([
      {
        id: '1',
        type: 'success',
        message: 'Backed up the workspace of gpu (job 7) to workspace-20261206T091500Z.tar.zst (12.3 MiB in 3 s).'
      }
    ]);
    expect(model.refresh).toHaveBeenCalled();
    expect(action(rows(s)[0], 'backup')?.disabled).toBe(false);
  });

  test('Back up now while one runs elsewhere is a warning; another failure an error', async () => {
    const { model, section: s } = section(running());
    const backup = jest
      .spyOn(model.api, 'backupWorkspace')
      .mockRejectedValueOnce(new HpclabError(409, 'workspace-busy', 'a backup of this workspace is running'))
      .mockRejectedValueOnce(new HpclabError(502, 'workspace-failed', 'tar exited with 2'));
    for (let i = 0; i < 2; i++) {
      action(rows(s)[0], 'backup')!.click();
      await new Promise(resolve => setTimeout(resolve, 0));
      redraw();
    }
    expect(backup).toHaveBeenCalledTimes(2);
    expect(notes.map(n => [n.type, n.message])).toEqual([
      ['warning', 'Cannot back up the workspace of gpu (job 7): a backup of this workspace is running'],
      ['error', 'Cannot back up the workspace of gpu (job 7): tar exited with 2']
    ]);
    expect(model.refresh).not.toHaveBeenCalled();
  });

  test("Extend asks for minutes (60 first), asks the companion, and shows the reply's words", async () => {
    const { model, section: s } = section(running());
    const granted: ExtendReply = {
      extended: true,
      endsAt: '2026-01-01T12:00:00Z',
      message: 'Job 7 now ends at 12:00.'
    };
    const refused: ExtendReply = {
      extended: false,
      endsAt: null,
      message: 'This site does not let users extend jobs.'
    };
    const extend = jest.spyOn(model.api, 'extendSession').mockResolvedValueOnce(granted).mockResolvedValueOnce(refused);
    const settle = async () => {
      for (let i = 0; i < 3; i++) await new Promise(resolve => setTimeout(resolve, 0));
    };

    action(rows(s)[0], 'extend')!.click();
    await settle();
    expect(dialogs[0]).toMatchObject({ title: 'Extend gpu (job 7)', value: 60 });
    expect(extend).toHaveBeenLastCalledWith('w1', 60);
    expect(notes.at(-1)).toMatchObject({ type: 'success', message: 'Job 7 now ends at 12:00.' });
    expect(model.refresh).toHaveBeenCalledTimes(1);

    dialogAnswer = { button: { accept: true }, value: 30 };
    action(rows(s)[0], 'extend')!.click();
    await settle();
    expect(extend).toHaveBeenLastCalledWith('w1', 30);
    expect(notes.at(-1)).toMatchObject({ type: 'warning', message: 'This site does not let users extend jobs.' });
    expect(model.refresh).toHaveBeenCalledTimes(1);

    // Cancelled, or the field emptied: nothing is asked.
    for (const answer of [
      { button: { accept: false }, value: 60 },
      { button: { accept: true }, value: Number.NaN }
    ]) {
      dialogAnswer = answer;
      action(rows(s)[0], 'extend')!.click();
      await settle();
    }
    expect(extend).toHaveBeenCalledTimes(2);
  });
});
