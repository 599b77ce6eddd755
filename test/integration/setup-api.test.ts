import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CompanionProcess } from '../support/companion';
import { sshConnectionsOf, testbed } from '../support/testbed';

/**
 * "Add a cluster" and "Edit profiles" through the companion's API, as the sidebar drives them:
 * a companion started with no config file at all, a ~/.ssh/config entry for the login host, and
 * nothing else. The login made for the discovery serves the saved cluster (one SSH connection).
 */
describe('setup through the API', () => {
  const env = testbed();
  let companion: CompanionProcess;
  let file: string;
  const post = <T>(pathname: string, body: unknown, method = 'POST') =>
    companion.json<T>(pathname, { method, body: JSON.stringify(body) });

  beforeAll(async () => {
    const home = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-setup-home-'));
    file = path.join(home, '.config', 'hpclab', 'config.json'); // does not exist yet: the companion starts empty
    companion = new CompanionProcess(file, home);
    const ssh = path.join(home, '.ssh');
    await fs.mkdir(ssh, { mode: 0o700 });
    await fs.writeFile(
      path.join(ssh, 'config'),
      [
        'Host tb-login',
        `  HostName ${env.ssh.host}`,
        `  Port ${env.ssh.port}`,
        `  User ${env.user}`,
        `  IdentityFile ${env.identityFile}`,
        `  UserKnownHostsFile ${env.knownHostsFile}`,
        ''
      ].join('\n')
    );
    await companion.start();
  });
  afterAll(() => companion.stop());

  it('starts with no clusters and offers the ~/.ssh/config hosts', async () => {
    expect(await companion.json('/hpclab/api/clusters')).toEqual([]);
    expect(await companion.json('/hpclab/api/setup')).toEqual({
      configPath: file,
      configured: false,
      hosts: ['tb-login']
    });
  });

  it('discovers, saves, and the cluster and profiles work at once, on the same login', async () => {
    const t0 = Date.now();
    const found = await post<{
      cluster: string;
      profiles: Record<string, { partition: string; gres?: string }>;
      partitions: { name: string }[];
      slurmCalls: number;
    }>('/hpclab/api/setup/discover', { host: 'tb-login' });
    process.stderr.write(`setup discover: ${Date.now() - t0} ms, ${found.slurmCalls} Slurm calls\n`);
    expect(found.cluster).toBe('tb-login');
    expect(found.partitions.map(p => p.name).sort()).toEqual(['debug', 'gpu']);
    expect(Object.keys(found.profiles)).toEqual(['cpu', 'gpu-fake']);
    expect(found.profiles['gpu-fake']).toMatchObject({ partition: 'gpu', gres: 'gpu:fake:1' });
    await expect(fs.stat(file)).rejects.toMatchObject({ code: 'ENOENT' }); // discovery writes nothing

    const saved = await post<{ added: string[] }>('/hpclab/api/setup/save', {
      host: 'tb-login',
      cluster: 'tb-login',
      profiles: { 'gpu-fake': found.profiles['gpu-fake'] }
    });
    expect(saved.added).toEqual(['gpu-fake']);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await fs.readFile(file, 'utf8')).profiles).toEqual({ 'gpu-fake': found.profiles['gpu-fake'] });

    expect(await companion.json('/hpclab/api/clusters')).toEqual(['tb-login']);
    const status = await companion.json<{ partitions: { name: string }[] }>('/hpclab/api/clusters/tb-login/status');
    expect(status.partitions.map(p => p.name).sort()).toEqual(['debug', 'gpu']);
    expect(sshConnectionsOf(companion.child!.pid!)).toBe(1);
    const preview = await post<{ argv: string[] }>('/hpclab/api/sessions/preview', {
      kind: 'lab',
      profile: 'gpu-fake'
    });
    expect(preview.argv).toEqual(expect.arrayContaining(['--partition=gpu']));
  }, 120_000);

  it('edits a profile: a bad value names the field; a good one applies to the next request', async () => {
    const bad = await companion.fetch('/hpclab/api/profiles/gpu-fake', {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ profile: { cluster: 'tb-login', time: 'soon' } })
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { fields: { path: string }[] } }).error.fields[0].path).toBe('profile.time');

    const { profile } = await companion.json<{ profile: Record<string, unknown> }>(
      '/hpclab/api/profiles/gpu-fake/config'
    );
    await post('/hpclab/api/profiles/gpu-fake', { profile: { ...profile, time: '00:20:00' } }, 'PUT');
    const views = await companion.json<{ name: string; time?: string }[]>('/hpclab/api/profiles');
    expect(views).toEqual([expect.objectContaining({ name: 'gpu-fake', time: '00:20:00' })]);
    const preview = await post<{ argv: string[] }>('/hpclab/api/sessions/preview', {
      kind: 'lab',
      profile: 'gpu-fake'
    });
    expect(preview.argv).toEqual(expect.arrayContaining(['--time=00:20:00']));
  });
});
