import { execFileSync, spawn } from 'node:child_process';
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cancelAllJobs, repoRoot, testbed, waitFor } from '../support/testbed';

/**
 * Remote kernels driven by the real jupyter_client, as a Jupyter server drives them: the kernel
 * runs on the compute node as a job step, its five channels tunnelled through the login node.
 */
describe('remote kernels (hpclab kernel-launch)', () => {
  const env = testbed();
  let dataDir: string;
  let stateHome: string;
  const driver = path.join(repoRoot, 'test', 'support', 'kernel_driver.py');
  const squeueIds = () => execFileSync('squeue', ['-h', '-t', 'PD,R', '-o', '%i'], { encoding: 'utf8' }).split('\n').filter(Boolean);

  beforeAll(async () => {
    await cancelAllJobs();
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-jupyter-'));
    stateHome = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-state-'));
    const spec = path.join(dataDir, 'kernels', 'hpclab-testbed-gpu');
    await fs.mkdir(spec, { recursive: true });
    const argv = [process.execPath, path.join(repoRoot, 'dist', 'server', 'cli', 'main.js'), 'kernel-launch', '--profile', 'gpu', '--config', env.config, '{connection_file}'];
    await fs.writeFile(path.join(spec, 'kernel.json'), JSON.stringify({ argv, display_name: 'Python 3 · GPU · testbed', language: 'python', interrupt_mode: 'message' }));
  });
  afterAll(async () => {
    await stopCompanion();
    await cancelAllJobs();
  });

  /** The companion the first launcher started in the background (it would exit when idle). */
  async function stopCompanion() {
    const info = JSON.parse(await fs.readFile(path.join(stateHome, 'hpclab', 'run', 'companion.json'), 'utf8').catch(() => '{}'));
    if (info.pid) process.kill(info.pid, 'SIGTERM');
  }

  function drive(mode: 'full' | 'kill') {
    const child = spawn('/usr/bin/python3', [driver, 'hpclab-testbed-gpu', mode], { env: { ...process.env, JUPYTER_DATA_DIR: dataDir, HOME: os.tmpdir(), XDG_STATE_HOME: stateHome } });
    const steps: Record<string, Record<string, unknown>> = {};
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(l => l.startsWith('{'))) {
        const step = JSON.parse(line);
        steps[step.step] = step;
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<number | null>(resolve => child.on('exit', resolve));
    return { child, steps, done, stderr: () => stderr };
  }

  it('runs on the node with a GPU, interrupts, restarts in the same allocation, and shuts down', async () => {
    const k = drive('full');
    const code = await k.done;
    const { steps } = k;
    expect(k.stderr()).toContain('hpclab: kernel running on');
    expect(code).toBe(0);
    const [jobId, gpu, host] = String(steps.env.out).trim().split(' ');
    expect(jobId).toMatch(/^\d+$/);
    expect(['0', '1']).toContain(gpu);
    expect(host).toBe(env.node);
    expect(steps.interrupt).toMatchObject({ status: 'error', ename: 'KeyboardInterrupt' });
    expect(steps.alive.out).toBe('42\n');
    // Restart: a new kernel step in the same allocation, no new queue wait.
    expect(String(steps.restart.out).trim()).toBe(jobId);
    expect(steps.restart.seconds).toBeLessThan(20);
    expect(k.stderr()).toContain(`re-using allocation ${jobId}`);
    process.stderr.write(`kernel: ready in ${steps.ready.seconds} s, restart in ${steps.restart.seconds} s\n`);
    // Shutdown releases the allocation.
    await waitFor('the allocation to be released', () => !squeueIds().includes(jobId), 15_000);
  });

  it('releases the allocation within 30 s when the launcher is killed with -9, and no key is on a command line', async () => {
    const k = drive('kill');
    await waitFor('the kernel', () => k.steps.waiting, 120_000);
    const jobId = String(k.steps.env.out).trim().split(' ')[0];
    expect(squeueIds()).toContain(jobId);
    // The kernel's key must not appear in any process's command line (node or login side).
    for (const key of findKeys()) expect(allCmdlines()).not.toContain(key);
    const launcher = execFileSync('pgrep', ['-f', `kernel-launch --profile gpu --config ${env.config}`], { encoding: 'utf8' }).trim().split('\n')[0];
    const t0 = Date.now();
    process.kill(Number(launcher), 'SIGKILL');
    await waitFor('the allocation to be released', () => !squeueIds().includes(jobId), 30_000, 500);
    process.stderr.write(`kernel: allocation released ${Date.now() - t0} ms after kill -9 of the launcher\n`);
    k.child.kill('SIGKILL');
  });

  /** Keys of the remote connection files the launcher wrote (0600, in the session dirs). */
  function findKeys(): string[] {
    const sessions = path.join('/home', env.user, '.hpclab', 'sessions');
    const keys: string[] = [];
    for (const dir of readdirSync(sessions)) {
      for (const f of readdirSync(path.join(sessions, dir)).filter(n => /^kernel-\d+\.json$/.test(n))) {
        keys.push(JSON.parse(readFileSync(path.join(sessions, dir, f), 'utf8')).key);
      }
    }
    expect(keys.length).toBeGreaterThan(0);
    return keys;
  }
});

function allCmdlines(): string {
  let all = '';
  for (const pid of readdirSync('/proc').filter(p => /^\d+$/.test(p))) {
    try {
      all += readFileSync(`/proc/${pid}/cmdline`, 'utf8') + '\n';
    } catch {
      // gone
    }
  }
  return all;
}
