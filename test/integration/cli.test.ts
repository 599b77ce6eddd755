import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cancelAllJobs, repoRoot, testbed } from '../support/testbed';

const bin = path.join(repoRoot, 'dist', 'server', 'cli', 'main.js');

/** The built `hpclab` command, as a user runs it. */
function hpclab(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: os.tmpdir(), ...env },
    timeout: 60_000
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('hpclab CLI against the testbed', () => {
  const env = testbed();
  beforeAll(() => cancelAllJobs());

  it.each(['testbed', 'local'])(
    'status --cluster %s --json shows both partitions and 2 idle GPUs of type fake',
    cluster => {
      const r = hpclab(['status', '--config', env.config, '--cluster', cluster, '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.cluster).toBe(cluster);
      expect(out.partitions.map((p: { name: string }) => p.name)).toEqual(['debug', 'gpu']);
      for (const p of out.partitions) expect(p.gpus).toEqual([{ type: 'fake', total: 2, used: 0 }]);
      expect(Array.isArray(out.jobs)).toBe(true);
    }
  );

  it('prints a readable table without --json, config from $HPCLAB_CONFIG', () => {
    const r = hpclab(['status', '--cluster', 'testbed'], { HPCLAB_CONFIG: env.config });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^debug\*\s+up\s+1\/0\/0\/0\s+8\/8\s+fake 2\/2 free$/m);
    expect(r.stdout).toMatch(/^gpu\s+up/m);
  });

  it('lists, holds, releases and cancels a job through `hpclab jobs`', () => {
    const id = spawnSync(
      'runuser',
      [
        '-u',
        env.user,
        '--',
        'sbatch',
        '--parsable',
        '--hold',
        '-o',
        '/dev/null',
        '--job-name',
        'cli test',
        '--wrap',
        'sleep 300'
      ],
      { encoding: 'utf8', cwd: '/' }
    ).stdout.trim();
    expect(id).toMatch(/^\d+$/);
    const list = JSON.parse(hpclab(['jobs', '--config', env.config, '--cluster', 'testbed', '--json']).stdout);
    expect(list.jobs).toEqual(
      expect.arrayContaining([expect.objectContaining({ id, name: 'cli test', state: 'PENDING' })])
    );
    for (const action of ['release', 'hold', 'cancel']) {
      const r = hpclab(['jobs', action, id, '--config', env.config, '--cluster', 'testbed']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
  });

  it('exits 2 with the field named for bad usage, and runs nothing', () => {
    const bad = hpclab(['jobs', 'cancel', '12; touch /tmp/x', '--config', env.config, '--cluster', 'testbed']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/JOBID: expected a Slurm job id/);
    expect(hpclab(['status', '--bogus']).stderr).toMatch(/unknown option '--bogus'/);
    const unknown = hpclab(['status', '--config', env.config, '--cluster', 'nope']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/nope/);
    expect(unknown.stderr).toMatch(/testbed/);
  });

  it('exits 1 with one line per problem for a bad config file', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-badcfg-'));
    const file = path.join(dir, 'config.json');
    await fs.writeFile(file, JSON.stringify({ clusters: { x: { ssh: { host: 'h', port: 70000, colour: 'red' } } } }));
    const r = hpclab(['status', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/clusters\.x\.ssh\.port/);
    expect(r.stderr).toMatch(/colour/);
    expect(r.stdout).toBe('');
  });

  it('explains how to set a cluster up when there is no config', () => {
    const r = hpclab(['status'], { XDG_CONFIG_HOME: path.join(os.tmpdir(), 'hpclab-none') });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/config\.json does not exist/);
    expect(r.stderr).toMatch(/hpclab init/);
    expect(r.stderr).toMatch(/Add a cluster/);
    expect(r.stderr).not.toMatch(/scripts\/testbed/);
  });

  it('says which cluster is unreachable, in one line', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-down-'));
    const file = path.join(dir, 'config.json');
    await fs.writeFile(
      file,
      JSON.stringify({
        clusters: {
          gone: {
            ssh: {
              host: '127.0.0.1',
              port: 1,
              user: 'x',
              identityFile: env.identityFile,
              knownHostsFile: env.knownHostsFile
            }
          }
        }
      })
    );
    const r = hpclab(['status', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cluster gone: cannot connect to x@127\.0\.0\.1:1/);
  });

  it('install puts exactly the prebuilt labextension where JupyterLab loads prebuilt extensions', async () => {
    const data = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-data-'));
    const r = hpclab(['install'], { JUPYTER_DATA_DIR: data });
    expect(r.code).toBe(0);
    const target = path.join(data, 'labextensions', 'hpclab');
    expect(r.stdout).toContain(target);
    const built = path.join(repoRoot, 'hpclab', 'labextension');
    const list = async (dir: string): Promise<string[]> =>
      (await fs.readdir(dir, { recursive: true })).map(String).sort();
    expect((await list(target)).filter(f => f !== 'install.json')).toEqual(await list(built));
    const entry = (await fs.readdir(path.join(built, 'static'))).find(f => f.startsWith('remoteEntry.'))!;
    expect(await fs.readFile(path.join(target, 'static', entry))).toEqual(
      await fs.readFile(path.join(built, 'static', entry))
    );
    expect(JSON.parse(await fs.readFile(path.join(target, 'package.json'), 'utf8')).name).toBe('hpclab');
  });
});
