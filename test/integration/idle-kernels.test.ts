import { execFileSync, spawn } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot, testbed, waitFor } from '../support/testbed';
import { followDriver } from '../support/kernel-driver';

/**
 * An idle remote kernel gives its allocation back after the profile's idleMinutes, warned
 * first; a busy one is not released; a restart gets a new allocation. A minute lasts 3 s here
 * (HPCLAB_IDLE_MINUTE_MS, read by the companion the launcher starts).
 */
describe('idle remote kernels', () => {
  const env = testbed();
  const bin = path.join(repoRoot, 'dist', 'server', 'cli', 'main.js');
  const driver = path.join(repoRoot, 'test', 'support', 'kernel_driver.py');
  let dir: string;
  let childEnv: NodeJS.ProcessEnv;

  const idleJobs = () =>
    execFileSync('squeue', ['-h', '-t', 'PD,R', '-o', '%i|%k'], { encoding: 'utf8' })
      .split('\n')
      .filter(line => /\|hpclab:[^:]+:kernel:idle$/.test(line))
      .map(line => line.split('|')[0]);

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-idle-'));
    const config = JSON.parse(readFileSync(env.config, 'utf8'));
    config.profiles.idle = { ...config.profiles.gpu, idleMinutes: 1 };
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(config), { mode: 0o600 });
    childEnv = {
      ...process.env,
      JUPYTER_DATA_DIR: path.join(dir, 'jupyter'),
      XDG_STATE_HOME: path.join(dir, 'state'),
      HOME: os.tmpdir(),
      HPCLAB_IDLE_MINUTE_MS: '3000'
    };
    execFileSync(
      process.execPath,
      [bin, 'kernels', 'add', '--profile', 'idle', '--config', path.join(dir, 'config.json')],
      {
        env: childEnv
      }
    );
  });
  afterAll(async () => {
    const info = JSON.parse(
      await fs.readFile(path.join(dir, 'state', 'hpclab', 'run', 'companion.json'), 'utf8').catch(() => '{}')
    );
    if (info.pid) process.kill(info.pid, 'SIGTERM');
    const left = idleJobs();
    if (left.length > 0) execFileSync('scancel', left);
  });

  it('keeps a busy kernel, releases it once idle (warned first), and a restart gets a new allocation', async () => {
    const go = path.join(dir, 'go');
    const child = spawn('/usr/bin/python3', [driver, 'hpclab-testbed-idle', 'idle', go], { env: childEnv });
    const { steps, done, stderr } = followDriver(child);
    await waitFor('the kernel', () => steps.ready, 180_000, 500).catch(err => {
      throw new Error(`${(err as Error).message}\n${stderr()}`);
    });
    const [job] = idleJobs();
    expect(job).toBeDefined();
    // An 8 s cell is almost three "minutes" busy: not released meanwhile.
    await waitFor('the busy cell', () => steps.busy, 60_000, 200);
    expect(steps.busy.out).toBe('busy done\n');
    expect(stderr()).not.toMatch(/released/);
    // Idle now: warned, then released; the allocation leaves the queue.
    await waitFor('the allocation to be released', () => (idleJobs().includes(job) ? undefined : true), 60_000, 500);
    expect(stderr()).toMatch(/idle for a while: its allocation is released in/);
    expect(stderr()).toMatch(/restart the kernel/);
    await fs.writeFile(go, '');
    await waitFor('the restarted kernel', () => steps.woken, 180_000, 500).catch(err => {
      throw new Error(`${(err as Error).message}\n${stderr()}`);
    });
    // Jupyter saw no death (no automatic restart queued for the GPU), and the restart worked.
    expect(steps.asleep.alive).toBe(true);
    expect(steps.woken.out).toBe('awake\n');
    expect(await done).toBe(0);
  }, 420_000);
});
