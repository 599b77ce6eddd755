import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { CompanionProcess } from '../support/companion';
import { allCommandLines, cancelAllJobs, repoRoot, testbed, waitFor } from '../support/testbed';

const bin = path.join(repoRoot, 'dist', 'server', 'cli', 'main.js');

/**
 * "Keep a node" instead of salloc inside tmux: `hpclab alloc` holds a node through the
 * companion, `hpclab shell` opens terminals on it as job steps (srun --pty over the CLI's SSH
 * connection), and `hpclab release` gives it back. Input is piped, as a script would: the
 * remote side still gets a terminal, and a Ctrl-C byte interrupts the command on the node.
 */
describe('hpclab alloc, shell and release', () => {
  const env = testbed();
  let companion: CompanionProcess;
  let session: { id: string; jobId: string; node: string; state: string; kind: string };

  /** The CLI as a user runs it, beside the test's companion (same state dir, so it finds it). */
  function hpclab(args: string[]): {
    child: ChildProcess;
    out: () => string;
    err: () => string;
    exited: Promise<number | null>;
  } {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH, HOME: companion.stateHome, XDG_STATE_HOME: companion.stateHome },
      stdio: ['pipe', 'pipe', 'pipe']
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    // 'close', not 'exit': the whole output has been read by then.
    const exited = new Promise<number | null>(resolve => child.once('close', code => resolve(code)));
    return { child, out: () => out, err: () => err, exited };
  }

  /** Waits for `what` in the output, with both streams in the error if it never comes. */
  async function expectOutput(run: ReturnType<typeof hpclab>, what: RegExp | string, timeoutMs = 60_000) {
    const found = (text: string) => (typeof what === 'string' ? text.includes(what) : what.test(text));
    await waitFor(`${what} in the output`, () => found(run.out()), timeoutMs).catch(e => {
      throw new Error(`${e.message}\nstdout: ${JSON.stringify(run.out())}\nstderr: ${run.err()}`);
    });
  }

  const queued = () =>
    execFileSync('squeue', ['-h', '-t', 'PD,R,CG', '-o', '%i'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  beforeAll(async () => {
    await cancelAllJobs();
    companion = await CompanionProcess.create(env.config);
    await companion.start();
  });
  afterAll(async () => {
    await companion.stop();
    await cancelAllJobs();
  });

  it('alloc holds a node of the cpu profile and prints the running session', async () => {
    const run = hpclab(['alloc', '--config', env.config, '--profile', 'cpu', '--json']);
    const code = await run.exited;
    expect([code, run.err()]).toEqual([0, expect.any(String)]);
    session = JSON.parse(run.out());
    expect(session).toMatchObject({ kind: 'alloc', state: 'running', node: env.node });
    expect(session.jobId).toMatch(/^\d+$/);
    expect(queued()).toContain(session.jobId);
  });

  it('shell gives piped input a terminal on the node', async () => {
    const run = hpclab(['shell', '--config', env.config, session.id]);
    // Input stays open until the shell exits: the end of input would be a Ctrl-D of its own.
    run.child.stdin!.write('hostname; tty; exit\n');
    const code = await run.exited;
    run.child.stdin!.end();
    expect([code, run.out(), run.err()]).toEqual([0, expect.any(String), expect.any(String)]);
    expect(run.out()).toMatch(new RegExp(`^${escape(env.node)}\\r?$`, 'm'));
    expect(run.out()).toMatch(/^\/dev\/pts\/\d+\r?$/m);
  });

  it('Ctrl-C interrupts the command running on the node, and the shell goes on', async () => {
    const run = hpclab(['shell', '--config', env.config, session.id]);
    try {
      // Words computed on the node, so what the terminal echoes back does not count.
      run.child.stdin!.write('echo ready-$((1+1))\n');
      await expectOutput(run, /^ready-2\r?$/m);
      run.child.stdin!.write('sleep 31\n');
      const sleeping = () =>
        allCommandLines()
          .split('\n')
          .some(line => line.trim() === 'sleep 31');
      await waitFor('sleep 31 running on the node', sleeping);
      const interrupted = Date.now();
      run.child.stdin!.write('\x03');
      await waitFor('sleep 31 interrupted', () => !sleeping(), 10_000);
      expect(Date.now() - interrupted).toBeLessThan(10_000);
      run.child.stdin!.write('echo after-$((2+3)); exit\n');
      await expectOutput(run, /^after-5\r?$/m);
      expect(await run.exited).toBe(0);
    } finally {
      run.child.stdin!.end();
      run.child.kill();
    }
  });

  it('shell runs a command after --, in the only alloc session when none is named, with its exit code', async () => {
    const run = hpclab(['shell', '--config', env.config, '--', 'sh', '-c', 'tty; exit 7']);
    run.child.stdin!.end();
    expect(await run.exited).toBe(7);
    expect(run.out()).toMatch(/^\/dev\/pts\/\d+\r?$/m);
  });

  it('shell refuses a session id that is not one, before connecting', async () => {
    const run = hpclab(['shell', '--config', env.config, 'x; id']);
    run.child.stdin!.end();
    expect(await run.exited).toBe(2);
    expect(run.err()).toMatch(/^hpclab shell: SESSION: expected a session id/);
  });

  it('release frees the node: the job leaves the queue', async () => {
    const run = hpclab(['release', '--config', env.config, session.id]);
    run.child.stdin!.end();
    const code = await run.exited;
    expect([code, run.err()]).toEqual([0, expect.any(String)]);
    expect(run.out()).toBe(`Released node ${session.node} (job ${session.jobId})\n`);
    await waitFor('the job to leave squeue', () => !queued().includes(session.jobId), 30_000);
    const after = await companion.json<{ state: string; endReason: string | null }>(
      `/hpclab/api/sessions/${session.id}`
    );
    expect(after.state).toBe('ended');
  });
});
