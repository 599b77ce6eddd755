import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { backupArgv, listArgv, restoreArgv, type WorkspaceArgs } from '../../../server/workspace/scripts';
import { parseBackupList } from '../../../server/sessions/workspaces';

/**
 * The workspace scripts run here with the real bash, tar, zstd and lz4, as they run on a node:
 * values only as positional parameters, variables expanded by the script itself.
 */
describe('workspace backup and restore scripts', () => {
  let root: string;
  const run = (argv: string[], env: Record<string, string> = {}) => {
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: { ...process.env, WSROOT: root, ...env } });
    const last = r.stdout.trim().split('\n').pop() ?? '';
    return { code: r.status, out: last ? JSON.parse(last) : undefined, stderr: r.stderr };
  };
  const args = (over: Partial<WorkspaceArgs> = {}): WorkspaceArgs => ({
    dir: '$WSROOT/ws',
    backupDir: `${root}/backups`,
    compressor: 'zstd',
    level: 1,
    keep: 2,
    ...over
  });
  const backups = async () => (await fs.readdir(path.join(root, 'backups'))).sort();

  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-ws-'));
    await fs.mkdir(path.join(root, 'ws', 'sub'), { recursive: true });
    await fs.writeFile(path.join(root, 'ws', 'notes.txt'), 'first\n');
    await fs.writeFile(path.join(root, 'ws', 'sub', 'data.csv'), 'a,b\n1,2\n'.repeat(1000));
  });
  afterEach(() => fs.rm(root, { recursive: true, force: true }));

  it.each(['zstd', 'lz4', 'none'] as const)('backs up with %s and restores the same files', async compressor => {
    const made = run(backupArgv(args({ compressor })));
    expect(made.code).toBe(0);
    expect(made.out.name).toMatch(
      new RegExp(`^workspace-\\d{8}T\\d{6}Z\\.tar${{ zstd: '\\.zst', lz4: '\\.lz4', none: '' }[compressor]}$`)
    );
    expect(made.out.bytes).toBe((await fs.stat(path.join(root, 'backups', made.out.name))).size);
    expect(made.out.sourceBytes).toBeGreaterThan(8000);
    expect((await fs.stat(path.join(root, 'backups', made.out.name))).mode & 0o777).toBe(0o600);
    const back = run(restoreArgv({ dir: '${WSROOT}/again', backupDir: `${root}/backups` }));
    expect(back).toMatchObject({ code: 0, out: { name: made.out.name } });
    expect(await fs.readFile(path.join(root, 'again', 'sub', 'data.csv'), 'utf8')).toBe('a,b\n1,2\n'.repeat(1000));
  });

  it('keeps the newest N, restores the newest by default and a named one on request', async () => {
    const names: string[] = [];
    for (const text of ['one', 'two', 'three']) {
      await fs.writeFile(path.join(root, 'ws', 'notes.txt'), `${text}\n`);
      names.push(run(backupArgv(args())).out.name);
    }
    expect(new Set(names).size).toBe(3);
    expect(await backups()).toEqual(names.slice(1));
    expect(run(restoreArgv({ dir: '$WSROOT/r1', backupDir: `${root}/backups` })).out.name).toBe(names[2]);
    expect(await fs.readFile(path.join(root, 'r1', 'notes.txt'), 'utf8')).toBe('three\n');
    expect(run(restoreArgv({ dir: '$WSROOT/r2', backupDir: `${root}/backups` }, names[1])).code).toBe(0);
    expect(await fs.readFile(path.join(root, 'r2', 'notes.txt'), 'utf8')).toBe('two\n');
    const listed = spawnSync(
      listArgv({ backupDir: `${root}/backups` })[0],
      listArgv({ backupDir: `${root}/backups` }).slice(1),
      {
        encoding: 'utf8'
      }
    );
    expect(parseBackupList(listed.stdout).map(b => b.name)).toEqual([names[2], names[1]]);
  }, 20_000);

  it('a backup whose compressor dies leaves no file and the previous backup usable', async () => {
    const good = run(backupArgv(args())).out.name;
    // A zstd that reads a little and is killed, as a walltime kill would cut the real one.
    const bin = path.join(root, 'bin');
    await fs.mkdir(bin);
    await fs.writeFile(path.join(bin, 'zstd'), '#!/bin/sh\nhead -c 100 >/dev/null\nkill -9 $$\n', { mode: 0o755 });
    await fs.writeFile(path.join(root, 'ws', 'notes.txt'), 'changed\n');
    const cut = run(backupArgv(args()), { PATH: `${bin}:${process.env.PATH}` });
    expect(cut.code).toBe(6);
    expect(cut.stderr).toMatch(/the backup of .* failed .*the previous backups are untouched/);
    expect(await backups()).toEqual([good]);
    expect(run(restoreArgv({ dir: '$WSROOT/r', backupDir: `${root}/backups` })).out.name).toBe(good);
    expect(await fs.readFile(path.join(root, 'r', 'notes.txt'), 'utf8')).toBe('first\n');
  });

  it('says which variable is unset, and takes hostile values as plain text', async () => {
    const unset = run(backupArgv(args({ dir: '$HPCLAB_NOT_SET/ws' })));
    expect(unset.code).toBe(3);
    expect(unset.stderr).toMatch(/\$HPCLAB_NOT_SET\/ws uses \$HPCLAB_NOT_SET, which is not set on /);
    const odd = path.join(root, "it's $(touch pwned); `x`");
    await fs.mkdir(odd);
    await fs.writeFile(path.join(odd, 'f'), 'x');
    const made = run(backupArgv(args({ dir: odd })));
    expect(made.code).toBe(0);
    await expect(fs.stat(path.join(root, 'pwned'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(run(restoreArgv({ dir: '$WSROOT/r', backupDir: `${root}/backups` }, '../../etc/passwd')).code).toBe(7);
  });

  it('restores nothing, saying so, when there is no backup yet', () => {
    expect(run(restoreArgv({ dir: '$WSROOT/fresh', backupDir: `${root}/none` }))).toMatchObject({
      code: 0,
      out: { name: null }
    });
  });
});
