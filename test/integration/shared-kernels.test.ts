import { execFileSync, spawn } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { onLoginNode, repoRoot, testbed, waitFor } from '../support/testbed';
import { followDriver } from '../support/kernel-driver';

/**
 * Kernels of one profile share an allocation, each with its own GPU, and start in the cluster
 * folder that corresponds to the notebook's (the cluster's pathMap). Real jupyter_client
 * drivers, a real companion, the split testbed's Slurm.
 */
describe('kernels that share an allocation and start beside the notebook', () => {
  const env = testbed();
  const bin = path.join(repoRoot, 'dist', 'server', 'cli', 'main.js');
  const driver = path.join(repoRoot, 'test', 'support', 'kernel_driver.py');
  const remoteRoot = `/home/${env.user}/hpclab-mapped-itest`;
  let dataDir: string;
  let stateHome: string;
  let localRoot: string;
  let config: string;
  let go: string;
  /** Every driver started, so none outlives the suite (one whose kernel was killed retries for a minute). */
  const drivers: ReturnType<typeof spawn>[] = [];

  /** Allocations of the shared profile (the comment says kind and profile), whoever else runs jobs. */
  const sharedJobs = (states = 'PD,R') =>
    execFileSync('squeue', ['-h', '-t', states, '-o', '%i|%k'], { encoding: 'utf8' })
      .split('\n')
      .filter(line => /\|hpclab:[^:]+:kernel:shared$/.test(line))
      .map(line => line.split('|')[0]);
  const stepNames = (jobId: string) =>
    execFileSync('squeue', ['-h', '-s', '-j', jobId, '-o', '%j'], { encoding: 'utf8' })
      .split('\n')
      .filter(name => name.startsWith('hpclab-kernel'));
  const childEnv = () => ({ ...process.env, JUPYTER_DATA_DIR: dataDir, HOME: os.tmpdir(), XDG_STATE_HOME: stateHome });

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-jupyter-'));
    stateHome = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-state-'));
    localRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-projects-'));
    go = path.join(localRoot, 'go');
    await fs.mkdir(path.join(localRoot, 'proj'));
    // The testbed's config, plus a profile whose kernels share a two-GPU allocation, one GPU
    // each, and a mapping of this test's folder onto one in the cluster home.
    const base = JSON.parse(readFileSync(env.config, 'utf8'));
    base.clusters.testbed.pathMap = [{ local: localRoot, remote: '~/hpclab-mapped-itest' }];
    base.profiles.shared = {
      ...base.profiles.gpu,
      gres: 'gpu:2',
      kernels: { perAllocation: 2, cpus: 1, mem: '512M', gpus: 1 }
    };
    config = path.join(localRoot, 'config.json');
    await fs.writeFile(config, JSON.stringify(base), { mode: 0o600 });
    // The data beside the notebook, already on the cluster (as `hpclab sync push` leaves it).
    onLoginNode(['rm', '-rf', remoteRoot]);
    onLoginNode(['mkdir', '-p', `${remoteRoot}/proj`]);
    onLoginNode(['sh', '-c', 'cat > "$1"', 'sh', `${remoteRoot}/proj/data.csv`], 'a,b\n1,2\n');
    execFileSync(process.execPath, [bin, 'kernels', 'add', '--profile', 'shared', '--config', config], {
      env: childEnv()
    });
  });
  afterAll(async () => {
    await fs.writeFile(go, '').catch(() => undefined); // the drivers may be gone already
    for (const child of drivers) if (child.exitCode === null) child.kill('SIGKILL');
    const info = JSON.parse(
      await fs.readFile(path.join(stateHome, 'hpclab', 'run', 'companion.json'), 'utf8').catch(() => '{}')
    );
    if (info.pid) process.kill(info.pid, 'SIGTERM');
    const left = sharedJobs();
    if (left.length > 0) execFileSync('scancel', left);
    onLoginNode(['rm', '-rf', remoteRoot]);
  });

  /** A notebook in `proj`: its kernel prints the GPU it sees, where it runs and the file beside it. */
  function notebook() {
    const code =
      "import os; print(os.environ.get('CUDA_VISIBLE_DEVICES'), os.getcwd(), open('data.csv').read().split()[1], sep='|')";
    const child = spawn('/usr/bin/python3', [driver, 'hpclab-testbed-shared', 'hold', code, go], {
      env: childEnv(),
      cwd: path.join(localRoot, 'proj')
    });
    drivers.push(child);
    const { steps, done, stderr } = followDriver(child);
    return { steps, done, stderr };
  }

  it('runs two notebooks in one job, a GPU each, the second without queueing; the job ends with the last', async () => {
    const first = notebook();
    await waitFor('the first kernel', () => first.steps.code, 180_000, 500).catch(err => {
      throw new Error(`${(err as Error).message}\n${first.stderr()}`);
    });
    const [gpuA, cwdA, cellA] = String(first.steps.code.out).trim().split('|');
    expect(cwdA).toBe(`${remoteRoot}/proj`);
    expect(cellA).toBe('1,2');
    const jobs = sharedJobs();
    expect(jobs).toHaveLength(1);

    const second = notebook();
    await waitFor('the second kernel', () => second.steps.code, 120_000, 200).catch(err => {
      throw new Error(`${(err as Error).message}\n${second.stderr()}`);
    });
    const [gpuB, cwdB] = String(second.steps.code.out).trim().split('|');
    // No second job: the second kernel is a step of the first one's allocation.
    expect(sharedJobs()).toEqual(jobs);
    expect(stepNames(jobs[0])).toHaveLength(2);
    expect(second.stderr()).toContain('joining allocation');
    expect(cwdB).toBe(`${remoteRoot}/proj`);
    // Each kernel sees only its own GPU.
    expect([gpuA, gpuB].sort()).toEqual(['0', '1']);
    process.stdout.write(
      `second kernel ready in ${String(second.steps.ready.seconds)} s (first ${String(first.steps.ready.seconds)} s)\n`
    );

    // Closing both: each runs its cell again first (still there), then shuts down.
    await fs.writeFile(go, '');
    expect(await first.done).toBe(0);
    expect(first.steps.again.out).toBe(first.steps.code.out);
    expect(await second.done).toBe(0);
    expect(second.steps.again.out).toBe(second.steps.code.out);
    // The last kernel gone, the allocation is held for the grace time, then released.
    // Gone from squeue, completing included.
    await waitFor(
      'the allocation to be released',
      () => (sharedJobs('PD,R,CG,S').length === 0 ? true : undefined),
      120_000,
      1000
    );
  }, 420_000);

  it('closing one notebook keeps its neighbour running', async () => {
    await fs.rm(go, { force: true });
    const first = notebook();
    await waitFor('the first kernel', () => first.steps.code, 180_000, 500);
    const second = notebook();
    await waitFor('the second kernel', () => second.steps.code, 120_000, 200);
    const [job] = sharedJobs();
    // The first notebook's Jupyter goes away without a word (killed): its kernel step goes too.
    const launcher = Number(first.steps.ready.launcher_pid);
    process.kill(launcher, 'SIGKILL');
    await waitFor('the first kernel step to stop', () => (stepNames(job).length === 1 ? true : undefined), 60_000, 500);
    expect(sharedJobs()).toEqual([job]);
    await fs.writeFile(go, '');
    expect(await second.done).toBe(0);
    expect(second.steps.again.out).toBe(second.steps.code.out);
  }, 420_000);
});
