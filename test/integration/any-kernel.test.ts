import { execFileSync, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cancelAllJobs, onLoginNode, repoRoot, testbed } from '../support/testbed';
import { exitedWithOutput } from '../support/streams';

/**
 * A kernel that is not Python: an env on the cluster with IRkernel's kernelspec inside it
 * (`share/jupyter/kernels/ir/kernel.json`, where conda's r-irkernel puts it), found by
 * discovery, added with `kernels add --env … --kernel ir`, and run on the node by the real
 * jupyter_client through the launcher.
 */
describe('any kernel: an env kernelspec (IRkernel) run on the node', () => {
  const env = testbed();
  let dataDir: string;
  let stateHome: string;
  const bin = path.join(repoRoot, 'dist', 'server', 'cli', 'main.js');
  // A venv (so discovery finds it under the default roots) laid out like a conda env with R.
  const prefix = path.join('/home', env.user, 'venvs', 'hpclab-rkernel');
  const userEnv = () => ({ ...process.env, JUPYTER_DATA_DIR: dataDir, HOME: os.tmpdir(), XDG_STATE_HOME: stateHome });
  const cli = (...args: string[]) =>
    execFileSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: userEnv() });

  beforeAll(async () => {
    await cancelAllJobs();
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-jupyter-'));
    stateHome = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-state-'));
    onLoginNode(['rm', '-rf', prefix]);
    onLoginNode(['/usr/bin/python3', '-m', 'venv', '--without-pip', prefix]);
    const spec = {
      argv: ['R', '--slave', '-e', 'IRkernel::main()', '--args', '{connection_file}'],
      display_name: 'R',
      language: 'R'
    };
    const dir = `${prefix}/share/jupyter/kernels/ir`;
    onLoginNode(['sh', '-c', 'mkdir -p "$1" && cat >"$1/kernel.json"', 'sh', dir], JSON.stringify(spec, null, 1));
    onLoginNode(['cp', '/usr/lib/R/site-library/IRkernel/kernelspec/logo-64x64.png', dir]);
  });
  afterAll(async () => {
    const info = JSON.parse(
      await fs.readFile(path.join(stateHome, 'hpclab', 'run', 'companion.json'), 'utf8').catch(() => '{}')
    );
    if (info.pid) process.kill(info.pid, 'SIGTERM');
    await cancelAllJobs();
    onLoginNode(['rm', '-rf', prefix]);
  });

  it('discovery lists the kernelspec inside the env', () => {
    const envs = JSON.parse(
      cli('kernels', 'discover', '--cluster', 'testbed', '--refresh', '--json', '--config', env.config)
    );
    const found = envs.find((e: { prefix: string }) => e.prefix === prefix);
    expect(found).toBeDefined();
    expect(found.kernels).toEqual([
      {
        name: 'ir',
        displayName: 'R',
        language: 'R',
        argv: ['R', '--slave', '-e', 'IRkernel::main()', '--args', '{connection_file}'],
        interruptMode: 'signal',
        env: {},
        hasLogo: true,
        resourceDir: `${prefix}/share/jupyter/kernels/ir`
      }
    ]);
  });

  it('kernels add --kernel ir writes an R kernelspec with its logo', async () => {
    const out = JSON.parse(
      cli(
        'kernels',
        'add',
        '--profile',
        'gpu',
        '--env',
        'hpclab-rkernel',
        '--kernel',
        'ir',
        '--name',
        'hpclab-r',
        '--json',
        '--config',
        env.config
      )
    );
    expect(out.name).toBe('hpclab-r');
    const spec = JSON.parse(await fs.readFile(path.join(dataDir, 'kernels', 'hpclab-r', 'kernel.json'), 'utf8'));
    expect(spec).toMatchObject({
      language: 'R',
      interrupt_mode: 'message',
      metadata: { hpclab: { kernel: { name: 'ir', language: 'R', interruptMode: 'signal' } } }
    });
    expect(spec.display_name).toMatch(/^R \(venv hpclab-rkernel\) · .*testbed$/);
    expect(spec.argv).toContain('--kernel');
    expect((await fs.readdir(path.join(dataDir, 'kernels', 'hpclab-r'))).sort()).toEqual([
      'kernel.json',
      'logo-64x64.png'
    ]);
  });

  // Needs kernel-step.ts to run renderKernelCommand for `kernel` (the lead's wiring): until then
  // the companion refuses the launcher's `kernel` field, and this fails.
  it('runs on the node through the launcher: R prints its version', async () => {
    const driver = [
      'import sys',
      'from jupyter_client.manager import KernelManager',
      "km = KernelManager(kernel_name='hpclab-r'); km.start_kernel()",
      'kc = km.client(); kc.start_channels(); kc.wait_for_ready(timeout=240)',
      'out = []',
      "kc.execute_interactive('cat(R.version.string)', timeout=60, output_hook=lambda m: out.append(m['content'].get('text', '')))",
      "print('OUT:' + ''.join(out)); sys.stdout.flush()",
      'km.shutdown_kernel()'
    ].join('\n');
    const child = spawn('/usr/bin/python3', ['-c', driver], { env: userEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await exitedWithOutput(child);
    if (code !== 0) throw new Error(`the driver exited ${code}:\n${stderr}`);
    expect(stdout).toMatch(/OUT:R version \d+\.\d+\.\d+/);
  }, 300_000);
});
