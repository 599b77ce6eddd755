import { WorkspaceError } from '../../../server/sessions/workspaces';
import { jsonHeaders, sessionInfo, startHarness, type Harness } from './harness';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
  h.sessions.sessions.set('abc123', sessionInfo('abc123'));
});
afterEach(() => h.close());

const post = (url: string, body?: unknown) =>
  h.request('POST', url, { headers: jsonHeaders, body: body === undefined ? undefined : JSON.stringify(body) });

describe('workspace routes', () => {
  test('backup answers the backup made; the list is newest first', async () => {
    const made = await post('/hpclab/api/sessions/abc123/workspace/backup');
    expect(made.status).toBe(200);
    expect(made.json).toMatchObject({ name: 'workspace-20261206T090000Z.tar.zst', seconds: 1.5, sourceBytes: 9999 });
    const list = await h.request('GET', '/hpclab/api/sessions/abc123/workspace/backups');
    expect(list.json.map((b: { name: string }) => b.name)).toEqual([
      'workspace-20261206T090000Z.tar.zst',
      'workspace-20261206T080000Z.tar.zst'
    ]);
  });

  test('a backup already running is 409 busy; a profile without workspace is 400 saying what to add', async () => {
    h.sessions.failWith = new WorkspaceError('busy', "session abc123's workspace is backing up now");
    const busy = await post('/hpclab/api/sessions/abc123/workspace/backup');
    expect([busy.status, busy.json.error.code]).toEqual([409, 'workspace-busy']);
    h.sessions.failWith = new WorkspaceError('no-workspace', 'profile gpu has no workspace: add "workspace"');
    const none = await post('/hpclab/api/sessions/abc123/workspace/backup');
    expect([none.status, none.json.error.code]).toEqual([400, 'workspace-no-workspace']);
    expect(none.json.error.message).toMatch(/add "workspace"/);
  });

  test('restore takes a backup name or none, and refuses a path as a name', async () => {
    expect((await post('/hpclab/api/sessions/abc123/workspace/restore', { name: 'newest' })).status).toBe(200);
    expect((await post('/hpclab/api/sessions/abc123/workspace/restore', {})).status).toBe(400);
    const named = await post('/hpclab/api/sessions/abc123/workspace/restore', {
      name: 'workspace-20261206T080000Z.tar.zst'
    });
    expect(named.json.name).toBe('workspace-20261206T080000Z.tar.zst');
    const bad = await post('/hpclab/api/sessions/abc123/workspace/restore', { name: '../../.ssh/id_rsa' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.fields).toEqual([{ path: 'name', message: expect.stringMatching(/a backup name like/) }]);
    expect(h.sessions.restored).toEqual([undefined, 'workspace-20261206T080000Z.tar.zst']);
  });

  test('extend takes whole minutes and passes the refusal on as an answer', async () => {
    const reply = await post('/hpclab/api/sessions/abc123/extend', { minutes: 30 });
    expect(reply.json).toEqual({
      extended: false,
      endsAt: null,
      message: 'testbed does not let users raise a time limit'
    });
    for (const minutes of [0, 1.5, 20000, '60']) {
      const bad = await post('/hpclab/api/sessions/abc123/extend', { minutes });
      expect([bad.status, bad.json.error.fields[0].path]).toEqual([400, 'minutes']);
    }
    expect(h.sessions.extended).toEqual([{ id: 'abc123', minutes: 30 }]);
    expect((await post('/hpclab/api/sessions/zzz999/extend', { minutes: 30 })).status).toBe(404);
  });
});

describe('nodes route', () => {
  test("lists a cluster's nodes, or one partition's", async () => {
    const all = await h.request('GET', '/hpclab/api/clusters/testbed/nodes');
    expect(all.json.map((n: { name: string }) => n.name)).toEqual(['c1', 'c2']);
    expect(all.json[0]).toEqual({
      name: 'c1',
      state: 'idle',
      partitions: ['debug', 'gpu'],
      cpus: { total: 8, allocated: 0 },
      memMB: null,
      gpus: [{ type: 'fake', total: 2, used: 0 }],
      features: []
    });
    const gpu = await h.request('GET', '/hpclab/api/clusters/testbed/nodes?partition=gpu');
    expect(gpu.json.map((n: { name: string }) => n.name)).toEqual(['c1']);
    const bad = await h.request('GET', '/hpclab/api/clusters/testbed/nodes?partition=a%20b');
    expect([bad.status, bad.json.error.fields[0].path]).toEqual([400, 'partition']);
  });
});
