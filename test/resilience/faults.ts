import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SessionInfo } from '../../server/sessions/types';
import { CompanionProcess } from '../support/companion';
import { cancelAllJobs, repoRoot, testbed, waitFor } from '../support/testbed';

/** Job ids squeue lists as pending or running. */
export function squeueIds(): string[] {
  return execFileSync('squeue', ['-h', '-t', 'PD,R', '-o', '%i'], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

/** Takes every CPU of the node with another user's job, so the next session waits in the queue. */
export async function fillNode(): Promise<string> {
  const env = testbed();
  const id = execFileSync(
    'runuser',
    ['-u', env.user, '--', 'sbatch', '--parsable', '-c', '8', '-p', 'debug', '-o', '/dev/null', '--wrap', 'sleep 300'],
    { encoding: 'utf8', cwd: '/' }
  ).trim();
  await waitFor('the filler job to run', () =>
    execFileSync('squeue', ['-h', '-j', id, '-o', '%T'], { encoding: 'utf8' }).includes('RUNNING')
  );
  return id;
}

/** One daemon of the testbed down or up again (`scripts/testbed stop|start`), as a fault would. */
export function daemon(action: 'stop' | 'start', name: 'slurmctld' | 'slurmd' | 'sshd'): void {
  execFileSync(path.join(repoRoot, 'scripts', 'testbed'), [action, name], { stdio: 'ignore' });
}

/**
 * One line per fault for the report (what the user saw, how long recovery took, data lost):
 * printed as the tests go, and appended to $HPCLAB_RESILIENCE_REPORT when set.
 */
export function record(fault: string, seen: string, recoveryMs: number | null, lost = 'none'): void {
  const line = `| ${fault} | ${seen} | ${recoveryMs === null ? '-' : `${(recoveryMs / 1000).toFixed(1)} s`} | ${lost} |`;
  process.stderr.write(`resilience: ${line}\n`);
  if (process.env.HPCLAB_RESILIENCE_REPORT) appendFileSync(process.env.HPCLAB_RESILIENCE_REPORT, `${line}\n`);
}

/** The companion's live event stream (what the UI listens to), collected as text. */
export class EventTap {
  private buffer = '';
  private constructor(private readonly abort: AbortController) {}

  static async open(url: string, token: string): Promise<EventTap> {
    const abort = new AbortController();
    const tap = new EventTap(abort);
    const res = await fetch(new URL('/hpclab/events', url), {
      headers: { Authorization: `token ${token}` },
      signal: abort.signal
    });
    if (!res.ok) throw new Error(`events: ${res.status}`);
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) tap.buffer += decoder.decode(chunk);
    })().catch(() => undefined);
    return tap;
  }

  text(): string {
    return this.buffer;
  }

  close(): void {
    this.abort.abort();
  }
}

/**
 * A notebook on a remote kernel, driven by Jupyter's own client (kernel_driver.py `survive`):
 * defines x, starts a cell that sets y a few seconds later, then waits for `go()` before
 * checking both are there (`walltime`: runs until the allocation's time limit ends it;
 * `die-on-go`: its kernel dies at `go()`). The launcher and its background companion use a
 * private state home.
 */
export async function startNotebook(
  profile = 'cpu',
  mode: 'survive' | 'walltime' | 'die-on-go' | 'secret' = 'survive',
  extraEnv: Record<string, string> = {}
) {
  const env = testbed();
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-jupyter-'));
  const stateHome = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-state-'));
  const goFile = path.join(stateHome, 'go');
  const childEnv = {
    ...process.env,
    ...extraEnv,
    JUPYTER_DATA_DIR: dataDir,
    HOME: os.tmpdir(),
    XDG_STATE_HOME: stateHome
  };
  const bin = path.join(repoRoot, 'dist', 'server', 'cli', 'main.js');
  execFileSync(process.execPath, [bin, 'kernels', 'add', '--profile', profile, '--config', env.config], {
    env: childEnv
  });
  // Its own process group, so the launcher Jupyter's client starts goes down with it.
  const driver = spawn(
    '/usr/bin/python3',
    [path.join(repoRoot, 'test', 'support', 'kernel_driver.py'), `hpclab-testbed-${profile}`, mode, goFile],
    { env: childEnv, detached: true }
  );
  const steps: Record<string, Record<string, unknown>> = {};
  let stderr = '';
  driver.stdout.on('data', (d: Buffer) =>
    d
      .toString()
      .split('\n')
      .filter(l => l.startsWith('{'))
      .forEach(l => (steps[JSON.parse(l).step] = JSON.parse(l)))
  );
  driver.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>(resolve => driver.on('exit', resolve));
  const runtime = path.join(stateHome, 'hpclab', 'run', 'companion.json');
  return {
    steps,
    stderr: () => stderr,
    exited,
    /** The background companion's runtime facts (pid, url, token). */
    companion: async (): Promise<{ pid: number; url: string; token: string }> =>
      JSON.parse(await fs.readFile(runtime, 'utf8')),
    go: () => fs.writeFile(goFile, ''),
    /** waitFor, with what Jupyter's log (the launcher's stderr) said when it times out. */
    until: <T>(what: string, check: () => T | undefined, ms: number) =>
      waitFor(what, check, ms, 300).catch((err: Error) => {
        throw new Error(`${err.message}\n--- launcher stderr ---\n${stderr}`);
      }),
    async stop(): Promise<void> {
      try {
        process.kill(-driver.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      const info = JSON.parse(await fs.readFile(runtime, 'utf8').catch(() => '{}'));
      if (info.pid) {
        try {
          process.kill(info.pid, 'SIGTERM');
        } catch {
          // already gone
        }
        // Gone before the caller cancels jobs: a companion still holding the kernel's lease would
        // submit its allocation again, and that job would hold the node for the next suite.
        await waitFor('the notebook companion to exit', () => !alive(info.pid) || undefined, 15_000, 100);
      }
    }
  };
}

/** Whether process `pid` still exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false; // ESRCH: it exited
  }
}

/**
 * A companion for one describe block, as users run it, with no jobs left before or after:
 * registers the jest hooks and returns a getter (the companion exists once beforeAll ran).
 */
export function companionForSuite(): () => CompanionProcess {
  let companion: CompanionProcess | undefined;
  beforeAll(async () => {
    await cancelAllJobs();
    companion = await CompanionProcess.create(testbed().config);
    await companion.start();
  });
  afterAll(async () => {
    await companion?.stop();
    await cancelAllJobs();
  });
  return () => companion!;
}

/** Asks for a Lab session and waits until its server answers through the proxy. */
export async function runningLab(
  companion: CompanionProcess,
  overrides?: Record<string, unknown>,
  profile = 'cpu'
): Promise<SessionInfo> {
  const s = await companion.json<SessionInfo>('/hpclab/api/sessions', {
    method: 'POST',
    body: JSON.stringify({ kind: 'lab', profile, ...(overrides ? { overrides } : {}) })
  });
  return waitFor(
    'the Lab to run',
    async () => {
      const now = await companion.json<SessionInfo>(`/hpclab/api/sessions/${s.id}`);
      return now.state === 'running' ? now : undefined;
    },
    90_000,
    300
  );
}
