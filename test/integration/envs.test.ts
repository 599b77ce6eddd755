import { spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { onLoginNode, repoRoot, testbed } from '../support/testbed';
import { exitedWithOutput } from '../support/streams';
import { makeTinyWheel } from '../unit/envs/tiny-wheel';

/**
 * `hpclab envs create` against the real testbed: a venv made on the login node (which has no
 * package index, like many clusters), a wheel built here installed into it with pip, and a
 * kernel from the registered kernelspec running on a compute node in that venv.
 */
describe('environments made on first use (hpclab envs create)', () => {
  const env = testbed();
  const bin = path.join(repoRoot, 'dist', 'server', 'cli', 'main.js');
  const driver = path.join(repoRoot, 'test', 'support', 'kernel_driver.py');
  const home = path.join('/home', env.user);
  const stamp = `${process.pid}-${Date.now().toString(36)}`;
  let local: string;
  let dataDir: string;
  let stateHome: string;
  const childEnv = () => ({ ...process.env, JUPYTER_DATA_DIR: dataDir, HOME: os.tmpdir(), XDG_STATE_HOME: stateHome });
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [bin, ...args, '--config', env.config], { encoding: 'utf8', env: childEnv() });
  const onCluster = (file: string) =>
    onLoginNode(['sh', '-c', 'if [ -e "$1" ]; then echo yes; else echo no; fi', 'sh', file]).trim();
  const kernelNames = () =>
    (JSON.parse(cli('kernels', 'list', '--json').stdout) as { name: string }[]).map(k => k.name);

  beforeAll(async () => {
    local = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-envs-it-'));
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-jupyter-'));
    stateHome = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-state-'));
  });
  afterAll(async () => {
    // The companion the launcher started in the background (it would exit when idle).
    const info = JSON.parse(
      await fs.readFile(path.join(stateHome, 'hpclab', 'run', 'companion.json'), 'utf8').catch(() => '{}')
    );
    try {
      if (info.pid) process.kill(info.pid, 'SIGTERM');
    } catch (err) {
      // ESRCH: it exited by itself already (idle, or its kernel's launcher ended), nothing to stop.
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
    onLoginNode(['rm', '-rf', `${home}/.venvs/itest-ok-${stamp}`, `${home}/hpclab-envs-it-${stamp}`]);
    await fs.rm(local, { recursive: true, force: true });
  });

  it('makes a venv with a wheel from a requirements file, and its kernel runs in it on a node', async () => {
    // The wheel reaches the cluster as the user's own file, as scp would put it there.
    const wheel = makeTinyWheel(local, 'hpclab_envtest', 'WHERE = "from the wheel"\n');
    const remoteDir = `${home}/hpclab-envs-it-${stamp}`;
    const remoteWheel = `${remoteDir}/${path.basename(wheel)}`;
    onLoginNode(['mkdir', '-p', remoteDir]);
    onLoginNode(['sh', '-c', 'base64 -d >"$1"', 'sh', remoteWheel], (await fs.readFile(wheel)).toString('base64'));
    const requirements = path.join(local, 'requirements.txt');
    await fs.writeFile(requirements, `${remoteWheel}\n`);

    const name = `itest-ok-${stamp}`;
    const t0 = Date.now();
    const r = cli(
      'envs',
      'create',
      '--cluster',
      'testbed',
      '--name',
      name,
      '--profile',
      'cpu',
      '--system-site-packages',
      '--requirements',
      requirements,
      '--json'
    );
    const seconds = (Date.now() - t0) / 1000;
    expect({ code: r.status, stderr: r.stderr }).toMatchObject({ code: 0 });
    const made = JSON.parse(r.stdout);
    const venv = `${home}/.venvs/${name}`;
    expect(made).toMatchObject({
      cluster: 'testbed',
      kind: 'venv',
      path: venv,
      env: { venv },
      installedIpykernel: false
    });
    // pip's own lines came through as progress, on stderr.
    expect(r.stderr).toContain('Successfully installed hpclab-envtest-0.1');
    process.stderr.write(`envs: created on the testbed in ${made.seconds} s (CLI ${seconds.toFixed(1)} s)\n`);

    const kernel = JSON.parse(await fs.readFile(path.join(made.kernelspec.path, 'kernel.json'), 'utf8'));
    expect(kernel.argv).toEqual([
      process.execPath,
      bin,
      'kernel-launch',
      '--profile',
      'cpu',
      '--env',
      JSON.stringify({ venv }),
      '--config',
      env.config,
      '{connection_file}'
    ]);
    const k = spawn(
      '/usr/bin/python3',
      [
        driver,
        made.kernelspec.name,
        'code',
        'import sys, hpclab_envtest; print(sys.prefix, "|", hpclab_envtest.WHERE)'
      ],
      { env: childEnv() }
    );
    let out = '';
    let err = '';
    k.stdout.on('data', (d: Buffer) => (out += d.toString()));
    k.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await exitedWithOutput(k);
    expect({ code, err: err.slice(-2000) }).toMatchObject({ code: 0 });
    const steps = Object.fromEntries(
      out
        .split('\n')
        .filter(l => l.startsWith('{'))
        .map(l => JSON.parse(l))
        .map(s => [s.step, s])
    );
    expect(steps.code.out).toBe(`${venv} | from the wheel\n`);
    expect(String(steps.env.out).trim().split(' ')[2]).toBe(env.node);
    cli('kernels', 'remove', made.kernelspec.name);
  }, 300_000);

  it("leaves no env directory and no kernelspec when a requirement fails, and shows pip's reason", async () => {
    const requirements = path.join(local, 'bad-requirements.txt');
    await fs.writeFile(requirements, `${home}/no-such-dir/missing-0.1-py3-none-any.whl\n`);
    const before = kernelNames();
    const name = `itest-bad-${stamp}`;
    const r = cli(
      'envs',
      'create',
      '--cluster',
      'testbed',
      '--name',
      name,
      '--profile',
      'cpu',
      '--system-site-packages',
      '--requirements',
      requirements
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/pip could not install the requirements in testbed:/);
    expect(r.stderr).toMatch(/missing-0\.1-py3-none-any\.whl/);
    expect(onCluster(`${home}/.venvs/${name}`)).toBe('no');
    expect(kernelNames()).toEqual(before);
  }, 120_000);

  it('refuses a bad name and an existing non-empty directory, running nothing', () => {
    const bad = cli('envs', 'create', '--cluster', 'testbed', '--name', 'my env', '--profile', 'cpu');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--name: "my env" is not a usable name/);
    const homeItself = cli('envs', 'create', '--cluster', 'testbed', '--name', 'x', '--profile', 'cpu', '--path', '~/');
    expect(homeItself.status).toBe(2);
    expect(homeItself.stderr).toMatch(/--path: path "~\/": name a directory of its own/);
    const full = `${home}/hpclab-envs-it-${stamp}/full`;
    onLoginNode(['mkdir', '-p', full]);
    onLoginNode(['touch', `${full}/notes.txt`]);
    const taken = cli('envs', 'create', '--cluster', 'testbed', '--name', 'x', '--profile', 'cpu', '--path', full);
    expect(taken.status).toBe(2);
    expect(taken.stderr).toMatch(/--path: .*exists and is not empty on testbed/);
  });
});
