import { execFileSync, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cancelAllJobs, repoRoot, testbed, waitFor } from '../support/testbed';
import { exitedWithOutput } from '../support/streams';

const bin = path.join(repoRoot, 'dist', 'server', 'cli', 'main.js');
const driver = path.join(repoRoot, 'test', 'support', 'kernel_driver.py');

/**
 * `hpclab init` as a newcomer runs it: nothing but a ~/.ssh/config entry that reaches the login
 * host through a jump host; init connects, asks Slurm, writes the config; `hpclab status` and a
 * remote kernel then work from that config alone.
 */
describe('hpclab init', () => {
  const env = testbed();
  let home: string;
  let run: NodeJS.ProcessEnv;
  const cli = (...args: string[]) =>
    execFileSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: run, timeout: 120_000 });

  beforeAll(async () => {
    await cancelAllJobs();
    home = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-init-home-'));
    run = { PATH: process.env.PATH, HOME: home, PYDEVD_DISABLE_FILE_VALIDATION: '1' };
    // The only file this test writes: the user's ssh config.
    await fs.mkdir(path.join(home, '.ssh'), { mode: 0o700 });
    const jump = env.jumps[0];
    const common = [`User ${env.user}`, `IdentityFile ${env.identityFile}`, `UserKnownHostsFile ${env.knownHostsFile}`];
    // The gateway line of a jupyter-on-Slurm guide: ssh to the gateway, `nc` to the login node.
    const gatewaySsh = `ssh -F /dev/null -i ${env.identityFile} -o IdentitiesOnly=yes -o UserKnownHostsFile=${env.knownHostsFile} -o StrictHostKeyChecking=yes -o BatchMode=yes -p ${jump.port} ${env.user}@${jump.host}`;
    await fs.writeFile(
      path.join(home, '.ssh', 'config'),
      [
        `Host tb-gateway`,
        `HostName ${jump.host}`,
        `Port ${jump.port}`,
        ...common,
        '',
        `Host tb-login`,
        `HostName ${env.ssh.host}`,
        `Port ${env.ssh.port}`,
        'ProxyJump tb-gateway',
        ...common,
        '',
        `Host tb-nc`,
        `HostName ${env.ssh.host}`,
        `Port ${env.ssh.port}`,
        `ProxyCommand ${gatewaySsh} exec nc %h %p`,
        ...common,
        ''
      ]
        .map(l => (l.startsWith('Host ') || !l ? l : `  ${l}`))
        .join('\n')
    );
  });
  afterAll(async () => {
    const info = JSON.parse(
      await fs.readFile(path.join(home, '.local', 'state', 'hpclab', 'run', 'companion.json'), 'utf8').catch(() => '{}')
    );
    if (info.pid) process.kill(info.pid, 'SIGTERM');
    await cancelAllJobs();
  });

  it('refuses to guess the host without a terminal, naming the hosts there', () => {
    const err = (() => {
      try {
        cli('init', '--yes');
      } catch (e) {
        return e as { status: number; stderr: string };
      }
      throw new Error('init without --host succeeded');
    })();
    expect(err.status).toBe(2);
    expect(err.stderr).toContain('tb-gateway, tb-login, tb-nc');
  });

  it('writes a config whose profiles cover debug, gpu and the fake GPUs; status and a remote kernel work with it', async () => {
    const t0 = Date.now();
    const summary = JSON.parse(cli('init', '--host', 'tb-login', '--yes', '--json'));
    process.stderr.write(`init: config written in ${Date.now() - t0} ms with ${summary.slurmCalls} Slurm calls\n`);
    const file = path.join(home, '.config', 'hpclab', 'config.json');
    expect(summary).toMatchObject({ config: file, cluster: 'tb-login', profiles: ['cpu', 'gpu-fake'] });
    expect(summary.slurmCalls).toBe(2);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    const config = JSON.parse(await fs.readFile(file, 'utf8'));
    expect(config.clusters).toEqual({ 'tb-login': { ssh: { host: 'tb-login' } } });
    expect(config.profiles.cpu).toMatchObject({ cluster: 'tb-login', partition: 'debug' });
    expect(config.profiles['gpu-fake']).toMatchObject({ cluster: 'tb-login', partition: 'gpu', gres: 'gpu:fake:1' });

    // Run again: the config is the same (merged, nothing added twice).
    expect(JSON.parse(cli('init', '--host', 'tb-login', '--yes', '--json')).profiles).toEqual([]);
    expect(JSON.parse(await fs.readFile(file, 'utf8'))).toEqual(config);

    // hpclab status from that config alone (no --config, no environment variable).
    const status = JSON.parse(cli('status', '--json'));
    expect(status.cluster).toBe('tb-login');
    expect(status.partitions.map((p: { name: string }) => p.name).sort()).toEqual(['debug', 'gpu']);

    // A remote kernel of the GPU profile, run the way Jupyter runs it.
    expect(cli('kernels', 'add', '--profile', 'gpu-fake')).toContain('hpclab-tb-login-gpu-fake');
    const gpu = await runKernel('hpclab-tb-login-gpu-fake');
    expect(['0', '1']).toContain(gpu);
  }, 300_000);

  it('works through `ProxyCommand ssh gateway exec nc %h %p`: init, status and a remote kernel', async () => {
    const summary = JSON.parse(cli('init', '--host', 'tb-nc', '--yes', '--json'));
    // The names cpu and gpu-fake are taken by tb-login's profiles: these get the cluster's name.
    expect(summary).toMatchObject({ cluster: 'tb-nc', profiles: ['cpu-tb-nc', 'gpu-fake-tb-nc'] });
    const status = JSON.parse(cli('status', '--cluster', 'tb-nc', '--json'));
    expect(status.partitions.map((p: { name: string }) => p.name).sort()).toEqual(['debug', 'gpu']);
    expect(cli('kernels', 'add', '--profile', 'cpu-tb-nc')).toContain('hpclab-tb-nc-cpu-tb-nc');
    await runKernel('hpclab-tb-nc-cpu-tb-nc');
  }, 300_000);

  /** Runs the kernel as Jupyter does (kernel_driver.py); checks it ran in a job on the node and the job ended; its GPU. */
  async function runKernel(kernelName: string): Promise<string> {
    const child = spawn('/usr/bin/python3', [driver, kernelName, 'once'], { env: run });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await exitedWithOutput(child);
    expect([code, err.slice(-2000)]).toEqual([0, expect.any(String)]);
    const envStep = out
      .split('\n')
      .filter(l => l.startsWith('{'))
      .map(l => JSON.parse(l))
      .find(s => s.step === 'env');
    const [jobId, gpu, host] = String(envStep.out).trim().split(' ');
    expect(jobId).toMatch(/^\d+$/);
    expect(host).toBe(env.node);
    await waitFor(
      'the allocation to be released',
      () => !execFileSync('squeue', ['-h', '-o', '%i'], { encoding: 'utf8' }).split('\n').includes(jobId),
      15_000
    );
    return gpu;
  }
});
