import { execFileSync, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  allCommandLines,
  cancelAllJobs,
  descendants,
  kernelKeysSince,
  onLoginNode,
  repoRoot,
  sshConnectionsOf,
  testbed,
  waitFor
} from '../support/testbed';
import { followDriver } from '../support/kernel-driver';

/**
 * Remote kernels driven by the real jupyter_client, as a Jupyter server drives them: the kernel
 * runs on the compute node as a job step, its five channels tunnelled through the login node.
 */
describe('remote kernels (hpclab kernel-launch)', () => {
  const env = testbed();
  let dataDir: string;
  let stateHome: string;
  const driver = path.join(repoRoot, 'test', 'support', 'kernel_driver.py');
  const squeueIds = () =>
    execFileSync('squeue', ['-h', '-t', 'PD,R', '-o', '%i'], { encoding: 'utf8' }).split('\n').filter(Boolean);

  const bin = path.join(repoRoot, 'dist', 'server', 'cli', 'main.js');
  const venv = path.join('/home', env.user, 'venvs', 'hpclab-itest');
  /** The CLI as a user runs it, with this test's Jupyter data dir and state dir. */
  const cli = (...args: string[]) =>
    execFileSync(process.execPath, [bin, ...args], {
      encoding: 'utf8',
      env: { ...process.env, JUPYTER_DATA_DIR: dataDir, HOME: os.tmpdir(), XDG_STATE_HOME: stateHome }
    });

  beforeAll(async () => {
    await cancelAllJobs();
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-jupyter-'));
    stateHome = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-state-'));
    // A researcher's own venv on the cluster (with the system's ipykernel visible), made by them.
    onLoginNode(['rm', '-rf', venv]);
    onLoginNode(['/usr/bin/python3', '-m', 'venv', '--without-pip', '--system-site-packages', venv]);
    expect(cli('kernels', 'add', '--profile', 'gpu', '--config', env.config)).toContain('as hpclab-testbed-gpu');
  });
  afterAll(async () => {
    await stopCompanion();
    await cancelAllJobs();
  });

  /** The companion the first launcher started in the background (it would exit when idle). */
  async function stopCompanion() {
    const info = JSON.parse(
      await fs.readFile(path.join(stateHome, 'hpclab', 'run', 'companion.json'), 'utf8').catch(() => '{}')
    );
    if (info.pid) process.kill(info.pid, 'SIGTERM');
  }

  function drive(mode: 'full' | 'kill' | 'once' | 'walltime' | 'die', kernel = 'hpclab-testbed-gpu') {
    const child = spawn('/usr/bin/python3', [driver, kernel, mode], {
      env: { ...process.env, JUPYTER_DATA_DIR: dataDir, HOME: os.tmpdir(), XDG_STATE_HOME: stateHome }
    });
    const { steps, done, stderr } = followDriver(child);
    return { child, steps, done, stderr };
  }

  it('writes a kernelspec Jupyter finds: argv to kernel-launch, message interrupts, hpclab metadata, logos', async () => {
    const spec = path.join(dataDir, 'kernels', 'hpclab-testbed-gpu');
    const kernel = JSON.parse(await fs.readFile(path.join(spec, 'kernel.json'), 'utf8'));
    expect(kernel.argv).toEqual([
      process.execPath,
      bin,
      'kernel-launch',
      '--profile',
      'gpu',
      '--config',
      env.config,
      '{connection_file}'
    ]);
    expect(kernel).toMatchObject({
      interrupt_mode: 'message',
      language: 'python',
      metadata: { hpclab: { profile: 'gpu', cluster: 'testbed' } }
    });
    expect(kernel.display_name).toMatch(/GPU.*testbed/);
    expect((await fs.readdir(spec)).sort()).toEqual([
      'kernel.json',
      'logo-32x32.png',
      'logo-64x64.png',
      'logo-svg.svg'
    ]);
    // Jupyter's own view of the kernelspecs (what the kernel picker lists).
    const specs = JSON.parse(
      execFileSync(
        '/usr/bin/python3',
        [
          '-c',
          'import json; from jupyter_client.kernelspec import KernelSpecManager as K; print(json.dumps(K().get_all_specs()))'
        ],
        { encoding: 'utf8', env: { ...process.env, JUPYTER_DATA_DIR: dataDir } }
      )
    );
    expect(specs['hpclab-testbed-gpu'].spec.display_name).toBe(kernel.display_name);
    expect(JSON.parse(cli('kernels', 'list', '--json')).map((k: { name: string }) => k.name)).toContain(
      'hpclab-testbed-gpu'
    );
  });

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

  it('runs two kernels over one SSH connection, keeps keys off command lines, and releases within 30 s of a kill -9', async () => {
    const since = Date.now();
    const a = drive('kill');
    const b = drive('kill');
    try {
      await waitFor('both kernels', () => a.steps.waiting && b.steps.waiting, 120_000).catch(err => {
        // Which launcher stopped where, and what squeue says, so a failure here can be read.
        const queue = execFileSync('squeue', ['-h', '-t', 'PD,R,CG', '-o', '%i %j %T %R'], { encoding: 'utf8' });
        throw new Error(
          `${(err as Error).message}\n--- squeue ---\n${queue}--- first launcher ---\n${a.stderr()}\n--- second launcher ---\n${b.stderr()}`
        );
      });
      const jobA = String(a.steps.env.out).trim().split(' ')[0];
      const jobB = String(b.steps.env.out).trim().split(' ')[0];
      expect(jobA).not.toBe(jobB);
      expect(squeueIds()).toEqual(expect.arrayContaining([jobA, jobB]));
      // One companion holds one SSH connection for both kernels, and nothing this test started
      // (the launchers, a companion one of them might have started) holds another. Counted by
      // process, not by sshd sessions of the user: those include other clients and exec forks.
      const companion = JSON.parse(await fs.readFile(path.join(stateHome, 'hpclab', 'run', 'companion.json'), 'utf8'));
      const ours = new Set([
        companion.pid as number,
        ...[a, b].flatMap(k => [k.child.pid!, ...descendants(k.child.pid!)])
      ]);
      expect(sshConnectionsOf(companion.pid)).toBe(1);
      expect([...ours].reduce((n, pid) => n + sshConnectionsOf(pid), 0)).toBe(1);
      // The kernels' keys must not appear in any process's command line (node or login side).
      const keys = kernelKeysSince(since);
      expect(keys.length).toBeGreaterThanOrEqual(2);
      const cmdlines = allCommandLines();
      for (const key of keys) expect(cmdlines.includes(key)).toBe(false);
      const t0 = Date.now();
      process.kill(Number(a.steps.ready.launcher_pid), 'SIGKILL');
      await waitFor('the allocation to be released', () => !squeueIds().includes(jobA), 30_000, 500);
      process.stderr.write(`kernel: allocation released ${Date.now() - t0} ms after kill -9 of the launcher\n`);
      expect(squeueIds()).toContain(jobB); // the other kernel is untouched
      a.child.kill('SIGKILL');
      b.child.kill('SIGKILL');
      // SIGTERM to a launcher (what Jupyter sends when a kernel will not stop) releases its allocation too.
      process.kill(Number(b.steps.ready.launcher_pid), 'SIGTERM');
      await waitFor('the second allocation to be released', () => !squeueIds().includes(jobB), 30_000, 500);
    } finally {
      // Whatever failed above, the next tests need the GPUs back (a killed launcher's allocation
      // would otherwise hold one until its heartbeat times out).
      a.child.kill('SIGKILL');
      b.child.kill('SIGKILL');
      await cancelAllJobs();
    }
  }, 240_000);

  it('discovers a venv on the cluster, registers it, and runs its kernel with that sys.prefix', async () => {
    const envs = JSON.parse(
      cli('kernels', 'discover', '--cluster', 'testbed', '--refresh', '--json', '--config', env.config)
    );
    expect(envs).toContainEqual(
      expect.objectContaining({ kind: 'venv', name: 'hpclab-itest', prefix: venv, ipykernel: true, env: { venv } })
    );
    // Cached: a second listing does not ask the cluster (the file says when it was saved).
    const cache = JSON.parse(await fs.readFile(path.join(stateHome, 'hpclab', 'discovery.json'), 'utf8'));
    expect(cache.clusters.testbed.envs.length).toBe(envs.length);
    expect(
      cli('kernels', 'add', '--cluster', 'testbed', '--env', 'hpclab-itest', '--profile', 'cpu', '--config', env.config)
    ).toMatch(/venv hpclab-itest/);
    const added = JSON.parse(cli('kernels', 'list', '--json')).find(
      (k: { metadata: { env?: string } }) => k.metadata.env
    );
    expect(JSON.parse(added.metadata.env)).toEqual({ venv });
    const k = drive('once', added.name);
    expect(await k.done).toBe(0);
    const [jobId, , host, prefix] = String(k.steps.env.out).trim().split(' ');
    expect(jobId).toMatch(/^\d+$/);
    expect(host).toBe(env.node);
    expect(prefix).toBe(venv);
    await waitFor('the allocation to be released', () => !squeueIds().includes(jobId), 15_000);
    cli('kernels', 'remove', added.name);
    expect(JSON.parse(cli('kernels', 'list', '--json')).map((k: { name: string }) => k.name)).not.toContain(added.name);
  });

  it('shows the queue while the allocation waits (stderr and companion events), then starts', async () => {
    // Both fake GPUs taken by other work: the kernel's allocation must wait for Resources.
    const blockers = [0, 1].map(() =>
      onLoginNode([
        'sbatch',
        '--parsable',
        '-p',
        'gpu',
        '--gres=gpu:1',
        '-o',
        '/dev/null',
        '--wrap',
        'sleep 300'
      ]).trim()
    );
    await waitFor(
      'the blockers to run',
      () =>
        blockers.every(
          id => execFileSync('squeue', ['-h', '-j', id, '-o', '%T'], { encoding: 'utf8' }).trim() === 'RUNNING'
        ),
      30_000
    );
    const k = drive('once');
    await waitFor('the pending report', () => /allocation \d+ pending \((Resources|Priority)/.test(k.stderr()), 60_000);
    // The UI sees the same wait through the companion's live events.
    const info = JSON.parse(await fs.readFile(path.join(stateHome, 'hpclab', 'run', 'companion.json'), 'utf8'));
    const events = await readEvents(
      info.url,
      info.token,
      text => /"kind":"kernel"[^}]*"state":"pending"/.test(text) && /"reason":"(Resources|Priority)"/.test(text)
    );
    expect(events).toContain('"position":1');
    execFileSync('scancel', blockers);
    expect(await k.done).toBe(0);
    expect(k.steps.env.out).toMatch(/^\d+ [01] /);
  });

  it('a kernel that dies on the node makes the launcher exit non-zero, with the reason', async () => {
    const k = drive('die');
    // With the driver's words (Jupyter's log, the launcher's messages) when it did not end well.
    // A mismatch in toMatchObject shows only the differing key, so the words go in the failure itself.
    const exit = await k.done;
    if (exit !== 0) throw new Error(`the driver exited ${exit}; its stderr:\n${k.stderr().slice(-6000)}`);
    expect(k.steps.died.code).toBe(1);
    expect(k.stderr()).toContain('the kernel on the node ended (7)');
  });

  it('warns before walltime, then ends the kernel with a clear message and a non-zero exit', async () => {
    const out = cli('kernels', 'add', '--profile', 'short', '--config', env.config);
    const name = /as (\S+)/.exec(out)![1];
    const k = drive('walltime', name);
    expect(await k.done).toBe(0);
    expect(k.steps.died.code).not.toBe(0);
    expect(k.stderr()).toMatch(/reaches its time limit in \d+ min/);
    expect(k.stderr()).toContain('The job reached its time limit.');
    const warnedAt = k.stderr().indexOf('reaches its time limit');
    const endedAt = k.stderr().indexOf('the kernel on the node ended');
    expect(endedAt).toBeGreaterThan(warnedAt);
    process.stderr.write(
      `kernel: walltime end reported after ${k.steps.died.seconds} s:\n${k.stderr().slice(endedAt, endedAt + 300)}\n`
    );
  }, 240_000);
});

/** Reads the companion's event stream until `enough` says so (or 20 s pass); returns the text. */
async function readEvents(url: string, token: string, enough: (text: string) => boolean): Promise<string> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 20_000);
  let text = '';
  try {
    const res = await fetch(new URL('/hpclab/events', url), {
      headers: { Authorization: `token ${token}` },
      signal: abort.signal
    });
    const reader = res.body!.getReader();
    while (!enough(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
  } catch {
    // timed out: the assertion below says what was seen
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  expect(enough(text)).toBe(true);
  return text;
}
