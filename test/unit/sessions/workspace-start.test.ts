import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { workspaceStartLines } from '../../../server/sessions/job-script';
import { renderAllocationScript } from '../../../server/sessions/allocation-script';
import { backupArgv } from '../../../server/workspace/scripts';

/** The job script's workspace lines, run in bash as the job runs them: restore, then `cd` there. */
describe('workspace lines of the job script', () => {
  let root: string;
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-wsjob-'));
    await fs.mkdir(path.join(root, 'session'));
  });
  afterEach(() => fs.rm(root, { recursive: true, force: true }));

  const runLines = (ws: { dir: string; backupDir: string }) =>
    spawnSync(
      'bash',
      ['-c', [`hpclab_session_dir=${root}/session`, ...workspaceStartLines(ws), 'pwd; ls'].join('\n')],
      { encoding: 'utf8', env: { ...process.env, JOBROOT: root, SLURM_JOB_ID: '77' } }
    );

  it('nothing without a workspace', () => {
    expect(workspaceStartLines(undefined)).toEqual([]);
  });

  it('restores the newest backup into the (expanded) workspace and goes there', async () => {
    await fs.mkdir(path.join(root, 'old'));
    await fs.writeFile(path.join(root, 'old', 'model.pt'), 'weights');
    const [cmd, ...rest] = backupArgv({
      dir: `${root}/old`,
      backupDir: `${root}/backups`,
      compressor: 'lz4',
      level: 1,
      keep: 3
    });
    expect(spawnSync(cmd, rest).status).toBe(0);
    const r = runLines({ dir: '$JOBROOT/scratch/${SLURM_JOB_ID}', backupDir: `${root}/backups` });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${root}/scratch/77\nmodel.pt\n`);
    expect(r.stderr).toMatch(/hpclab: restoring workspace-\d{8}T\d{6}Z\.tar\.lz4 \(\d+ bytes\) into /);
    const result = JSON.parse(await fs.readFile(path.join(root, 'session', 'workspace-restore.json'), 'utf8'));
    expect(result.name).toMatch(/\.tar\.lz4$/);
  });

  it('a first session: no backup yet, an empty workspace', async () => {
    const r = runLines({ dir: '$JOBROOT/fresh', backupDir: `${root}/none` });
    expect([r.status, r.stdout]).toEqual([0, `${root}/fresh\n`]);
    expect(await fs.readFile(path.join(root, 'session', 'workspace-restore.json'), 'utf8')).toBe('{"name":null}\n');
  });

  it('stops the job with words when the workspace cannot be found', () => {
    const r = runLines({ dir: '$HPCLAB_UNSET_VAR/w', backupDir: `${root}/none` });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/uses \$HPCLAB_UNSET_VAR, which is not set/);
    expect(r.stderr).toMatch(/could not restore the workspace/);
  });

  it('a held node (hpclab alloc) runs them before it says where it is, and waits without a heartbeat', () => {
    const script = renderAllocationScript({
      sessionId: 'abc123',
      sessionDir: '/home/u/.hpclab/sessions/abc123',
      held: { before: workspaceStartLines({ dir: '/scratch/w', backupDir: '~/b' }) }
    });
    expect(script.indexOf('hpclab_workspace_restore ')).toBeLessThan(script.indexOf('allocation.json'));
    expect(script).not.toMatch(/heartbeat/);
    expect(script).toMatch(/while :; do sleep 3600; done/);
    expect(spawnSync('bash', ['-n', '-c', script]).status).toBe(0);
  });
});
