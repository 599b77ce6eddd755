import * as os from 'node:os';
import * as path from 'node:path';
import type { HpclabConfig } from '../../../server/config/schema';
import { createLogger, RepeatedFailures } from '../../../server/log';
import { SessionRegistry } from '../../../server/sessions/registry';
import { SessionStore, type SessionRecord } from '../../../server/sessions/store';
import type { SessionEvent } from '../../../server/sessions/types';
import { SessionWorkspaces, WorkspaceError } from '../../../server/sessions/workspaces';
import type { ExecResult } from '../../../server/transport/types';

/**
 * The workspace rules around the scripts (which run for real in test/unit/workspace): one
 * action at a time, the first warning only, a failed backup before a stop logged and not in the
 * stop's way, the status a session shows. The node's answers are scripted here.
 */
describe('SessionWorkspaces', () => {
  const config = {
    clusters: { hpc: { local: true } },
    profiles: {
      ws: { cluster: 'hpc', workspace: { dir: '$TMPDIR/w', backupDir: '~/b', autoBackupMinutes: 1 } },
      plain: { cluster: 'hpc' }
    }
  } as unknown as HpclabConfig;
  let registry: SessionRegistry;
  let events: SessionEvent[];
  let log: string[];
  let answers: (() => Promise<ExecResult>)[];
  let ran: string[][];

  const backupLine = (name: string) => `{"name":"${name}","bytes":100,"sourceBytes":300,"ms":1500}\n`;
  const ok = (stdout: string) => async (): Promise<ExecResult> => ({ code: 0, signal: null, stdout, stderr: '' });

  function session(id: string, profile: string, state: 'running' | 'pending' = 'running'): SessionRecord {
    const record = {
      info: { id, kind: 'lab', cluster: 'hpc', profile, state, jobId: state === 'running' ? '42' : null },
      sessionDir: `/home/me/.hpclab/sessions/${id}`
    } as unknown as SessionRecord;
    registry.records.set(id, record);
    return record;
  }

  function workspaces(minuteMs = 60_000) {
    return new SessionWorkspaces({
      config,
      registry,
      minuteMs,
      logger: createLogger({ level: 'info', write: entry => log.push(entry) }),
      clusters: () =>
        ({
          transport: {
            exec: async (argv: string[]) => {
              ran.push(argv);
              const next = answers.shift();
              if (!next) throw new Error(`nothing scripted for ${argv.slice(0, 3).join(' ')}`);
              return next();
            },
            readFile: async () => Buffer.from('')
          }
        }) as never
    });
  }

  beforeEach(() => {
    registry = new SessionRegistry(
      new SessionStore(path.join(os.tmpdir(), `hpclab-ws-unit-${process.pid}.json`)),
      new RepeatedFailures(createLogger({ level: 'error', write: () => undefined }))
    );
    events = [];
    registry.subscribe(e => events.push(e));
    log = [];
    answers = [];
    ran = [];
  });

  it('backs up as a step of the job and shows the backup; no workspace, no status', async () => {
    const ws = workspaces();
    const record = session('s1', 'ws');
    expect(ws.view(session('s2', 'plain'))).toBeNull();
    answers.push(ok(backupLine('workspace-20261206T081500Z.tar.zst')));
    const made = await ws.backup('s1');
    expect(made).toEqual({
      name: 'workspace-20261206T081500Z.tar.zst',
      at: '2026-12-06T08:15:00.000Z',
      bytes: 100,
      compressor: 'zstd',
      seconds: 1.5,
      sourceBytes: 300
    });
    expect(ran[0].slice(0, 4)).toEqual(['srun', '--jobid=42', '--overlap', '--nodes=1']);
    expect(ran[0]).toContain('$TMPDIR/w'); // passed as a word, expanded on the node
    expect(ws.view(record)).toMatchObject({ state: 'idle', lastBackup: made, error: null });
    // The sidebar hears of both changes: backing up, then done.
    expect(events.filter(e => e.type === 'session').length).toBe(2);
  });

  it('refuses a second action while one runs, and one for a session that is not running', async () => {
    const ws = workspaces();
    session('s1', 'ws');
    let finish!: () => void;
    answers.push(
      () =>
        new Promise(resolve => {
          finish = () =>
            resolve({ code: 0, signal: null, stdout: backupLine('workspace-20261206T081500Z.tar.zst'), stderr: '' });
        })
    );
    const first = ws.backup('s1');
    await expect(ws.backup('s1')).rejects.toMatchObject({ kind: 'busy' });
    finish();
    await first;
    session('p1', 'ws', 'pending');
    await expect(ws.backup('p1')).rejects.toThrow(/is pending: its workspace is on a node only while it runs/);
    await expect(ws.backup('s2x')).rejects.toThrow();
    session('s3', 'plain');
    await expect(ws.backup('s3')).rejects.toEqual(expect.any(WorkspaceError));
    await expect(ws.backup('s3')).rejects.toThrow(/profile plain has no workspace: add "workspace"/);
  });

  it("a failed backup keeps the last good one, shows why, and does not stand in a stop's way", async () => {
    const ws = workspaces();
    const record = session('s1', 'ws');
    answers.push(ok(backupLine('workspace-20261206T081500Z.tar.zst')));
    await ws.backup('s1');
    answers.push(async () => ({
      code: 6,
      signal: null,
      stdout: '',
      stderr: 'hpclab: the backup of /tmp/w failed (tar 0, zstd 137); the previous backups are untouched\n'
    }));
    await expect(ws.beforeStop(record)).resolves.toBeUndefined();
    expect(ws.view(record)).toMatchObject({
      state: 'idle',
      lastBackup: { name: 'workspace-20261206T081500Z.tar.zst' },
      error: expect.stringMatching(/zstd 137/)
    });
    expect(log.some(l => l.includes('the workspace backup before the stop failed'))).toBe(true);
  });

  it('backs up at the first walltime warning only', async () => {
    const ws = workspaces();
    session('s1', 'ws');
    answers.push(ok(backupLine('workspace-20261206T081500Z.tar.zst')));
    ws.walltimeWarning('s1');
    ws.walltimeWarning('s1');
    await new Promise(r => setImmediate(r));
    expect(ran.length).toBe(1);
    expect(log.some(l => l.includes('(walltime)'))).toBe(true);
  });

  it('reads what the job restored while it starts', () => {
    const ws = workspaces();
    const record = session('s1', 'ws', 'pending');
    ws.startProgress(record, '{"restoring":true}\n');
    expect(ws.view(record)?.state).toBe('restoring');
    ws.startProgress(record, '{"name":"workspace-20261206T070000Z.tar.lz4","bytes":9,"ms":3}\n');
    expect(ws.view(record)).toMatchObject({
      state: 'idle',
      lastBackup: { name: 'workspace-20261206T070000Z.tar.lz4', compressor: 'lz4', bytes: 9 }
    });
    ws.startProgress(record, '{"name":"../../etc/passwd"}'); // not a backup name: not shown as one
    expect(ws.view(record)?.lastBackup?.name).toBe('workspace-20261206T070000Z.tar.lz4');
  });
});
