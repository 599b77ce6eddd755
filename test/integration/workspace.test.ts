import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ClusterRegistry } from '../../server/app';
import { createLogger } from '../../server/log';
import { SessionManager } from '../../server/sessions/manager';
import { SessionStore } from '../../server/sessions/store';
import type { ProxyTarget, SessionInfo } from '../../server/sessions/types';
import { WorkspaceError } from '../../server/sessions/workspaces';
import type { WorkspaceBackup } from '../../server/workspace/types';
import { registry, testbedConfig } from '../support/clusters';
import { onLoginNode, waitFor } from '../support/testbed';
import { labRequest } from '../support/lab-http';

/*
 * Scratch workspaces on the real testbed. The profile's workspace is a directory of the job's
 * own (`/tmp/…/$SLURM_JOB_ID`, as node-local scratch that a site wipes after each job), backed
 * up to the cluster home. A file written through the Lab (which opens in its workspace) is in
 * the backup made at the first walltime warning, on the timer, on request and at stop; the next
 * session's Lab finds it again, restored before it opened. A backup whose compressor is killed
 * mid-way leaves the earlier ones whole.
 */

const MINUTE_MS = 4000;

describe('scratch workspaces', () => {
  let clusters: ClusterRegistry;
  let manager: SessionManager;
  const log: string[] = [];
  const mine: SessionInfo[] = [];
  const tag = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const scratchRoot = `/tmp/hpclab-it-ws-${tag}`;
  const backupDir = `~/hpclab-it-ws-backups-${tag}`;

  beforeAll(async () => {
    const config = await testbedConfig();
    config.profiles!.ws = {
      ...config.profiles!.cpu,
      workspace: { dir: `${scratchRoot}/$SLURM_JOB_ID`, backupDir, autoBackupMinutes: 2, keep: 3 }
    };
    clusters = await registry(config);
    const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-ws-'));
    manager = new SessionManager({
      config,
      clusters: name => clusters.get(name),
      store: new SessionStore(path.join(stateDir, 'sessions.json')),
      logger: createLogger({ level: 'info', write: entry => log.push(entry) }).child('sessions'),
      idleMinuteMs: MINUTE_MS
    });
    await manager.start();
  });

  afterAll(async () => {
    // Only this file's jobs: other tests may share the testbed.
    for (const s of mine) if (s.jobId) execFileSync('scancel', [s.jobId]);
    manager?.close();
    await clusters?.close();
    onLoginNode(['rm', '-rf', scratchRoot, backupDir.replace('~', onLoginNode(['sh', '-c', 'echo $HOME']).trim())]);
  });

  const running = (id: string) =>
    waitFor(
      `session ${id} to run`,
      async () => {
        const s = manager.get(id);
        if (s && ['ended', 'failed'].includes(s.state)) throw new Error(`session ${id} ${s.state}: ${s.message}`);
        return s?.state === 'running' ? s : undefined;
      },
      90_000,
      250
    );

  /** A backup now, waiting out one the timer or the warning is making. */
  const backupNow = () =>
    waitFor(
      'a backup on request',
      async () =>
        manager.backupWorkspace(mine[mine.length - 1].id).catch(err => {
          if (err instanceof WorkspaceError && err.kind === 'busy') return undefined;
          throw err;
        }),
      60_000,
      200
    );

  const lab = (s: SessionInfo) => {
    const target = manager.proxyLookup(s.id) as ProxyTarget;
    return {
      get: async (p: string) => labRequest(await target.connect(), 'GET', `${s.baseUrl}${p}`, target.token),
      put: async (p: string, body: unknown) =>
        labRequest(await target.connect(), 'PUT', `${s.baseUrl}${p}`, target.token, JSON.stringify(body))
    };
  };

  it('backs up at the warning, on the timer, on request and at stop; the next session restores it', async () => {
    // Five minutes of walltime: under the 10-minute warning from the start, so it warns at once.
    const first = await manager.create({ kind: 'lab', profile: 'ws', overrides: { time: '00:05:00' } });
    mine.push(first);
    const up = await running(first.id);
    expect(up.workspace).toMatchObject({ dir: `${scratchRoot}/$SLURM_JOB_ID`, backupDir, autoBackupMinutes: 2 });

    // The Lab opens in the workspace: a file saved through it lands in the job's scratch directory.
    await lab(up).put('api/contents/notes.txt', { type: 'file', format: 'text', content: 'kept across nodes\n' });
    expect(onLoginNode(['cat', `${scratchRoot}/${up.jobId}/notes.txt`])).toBe('kept across nodes\n');

    await waitFor('the backup at the walltime warning', async () =>
      log.find(l => l.includes(`session ${first.id}: backing up the workspace`) && l.includes('(walltime)'))
    );
    const asked = await backupNow();
    expect(asked).toMatchObject({
      name: expect.stringMatching(/^workspace-\d{8}T\d{6}Z\.tar\.zst$/),
      compressor: 'zstd'
    });
    expect(asked.sourceBytes).toBeGreaterThan(0);
    await waitFor(
      'a backup on the timer',
      async () => log.find(l => l.includes(`session ${first.id}: backing up the workspace`) && l.includes('(auto)')),
      4 * MINUTE_MS * 3
    );
    const listed = await manager.listWorkspaceBackups(first.id);
    expect(listed.length).toBeGreaterThanOrEqual(2);
    expect(listed.length).toBeLessThanOrEqual(3); // keep: 3
    expect(listed.map(b => b.name)).toEqual([...listed.map(b => b.name)].sort().reverse());

    // A backup cut mid-way (its compressor killed, as walltime would) leaves the earlier ones whole.
    await waitFor('no backup running', async () => manager.get(first.id)?.workspace?.state === 'idle' || undefined);
    onLoginNode(['sh', '-c', 'head -c 400000000 /dev/urandom > "$1"', 'sh', `${scratchRoot}/${up.jobId}/big.bin`]);
    const before = (await manager.listWorkspaceBackups(first.id)).map(b => b.name);
    const cut = manager.backupWorkspace(first.id).then(
      () => undefined,
      (err: Error) => err
    );
    await waitFor(
      'the backup to be writing',
      async () => {
        const dir = onLoginNode(['sh', '-c', `ls -a ${backupDir}`]);
        return dir.includes('.partial') || undefined;
      },
      30_000,
      50
    );
    onLoginNode(['pkill', '-KILL', '-x', 'zstd']);
    const failure = await cut;
    expect(failure?.message).toMatch(/the backup of .* failed .*the previous backups are untouched/);
    expect(manager.get(first.id)?.workspace).toMatchObject({ state: 'idle', error: expect.stringMatching(/failed/) });
    expect((await manager.listWorkspaceBackups(first.id)).map(b => b.name)).toEqual(before);
    expect(onLoginNode(['sh', '-c', `ls -a ${backupDir}`])).not.toMatch(/\.partial/);
    onLoginNode(['rm', '-f', `${scratchRoot}/${up.jobId}/big.bin`]);

    // "Extend": the testbed's Slurm lets only admins raise a limit, so the refusal comes back in words.
    const extend = await manager.extend(first.id, 10);
    if (extend.extended) {
      const limit = execFileSync('squeue', ['-h', '-j', String(up.jobId), '-o', '%l'], { encoding: 'utf8' }).trim();
      expect(limit).toBe('15:00');
    } else expect(extend.message).toMatch(/does not let users raise a job's time limit/);

    // Stop: one last backup first, then the job (and its scratch) goes.
    await onLoginNode(['sh', '-c', 'echo "written last" > "$1"', 'sh', `${scratchRoot}/${up.jobId}/last.txt`]);
    await manager.stop(first.id);
    const afterStop = await manager.listWorkspaceBackups(first.id);
    expect(afterStop[0].name > before[0]).toBe(true);
    expect(log.some(l => l.includes(`session ${first.id}: backing up the workspace`) && l.includes('(stop)'))).toBe(
      true
    );
    onLoginNode(['rm', '-rf', `${scratchRoot}/${up.jobId}`]); // as a site's epilog wipes node-local scratch

    // The next session, another job and an empty scratch directory: restored before the Lab opened.
    const second = await manager.create({ kind: 'lab', profile: 'ws' });
    mine.push(second);
    const again = await running(second.id);
    expect(again.jobId).not.toBe(up.jobId);
    const notes = JSON.parse(await lab(again).get('api/contents/notes.txt?content=1'));
    expect(notes.content).toBe('kept across nodes\n');
    const last = JSON.parse(await lab(again).get('api/contents/last.txt?content=1'));
    expect(last.content).toBe('written last\n');
    const restored = JSON.parse(
      onLoginNode([
        'cat',
        `${onLoginNode(['sh', '-c', 'echo $HOME']).trim()}/.hpclab/sessions/${second.id}/workspace-restore.json`
      ])
    ) as WorkspaceBackup;
    expect(restored.name).toBe(afterStop[0].name);
    // The session says which backup it started from.
    await waitFor('the restored backup in the session', async () =>
      manager.get(second.id)?.workspace?.lastBackup?.name === afterStop[0].name ? true : undefined
    );
    expect(manager.get(second.id)?.workspace?.state).toBe('idle');
    await manager.stop(second.id);
  }, 300_000);
});
