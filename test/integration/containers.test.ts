import { execFileSync, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SessionInfo } from '../../server/sessions/types';
import { CompanionProcess, runOnKernel } from '../support/companion';
import { cancelAllJobs, repoRoot, testbed, waitFor } from '../support/testbed';
import { exitedWithOutput } from '../support/streams';

/*
 * Containers run for real: the testbed's `container` profile runs python inside a Charliecloud
 * image built offline (scripts/testbed.d/image.sh). A Lab session's server, a remote kernel and
 * a batch run (a notebook, through the task runner and nbclient in the image) each prove they
 * ran inside it by reading a marker file only the image has, from their own working directory.
 */

const MARKER = '/etc/hpclab-image';
const READ_MARKER = `import os; print(open(${JSON.stringify(MARKER)}).read().strip(), bool(os.environ.get("CH_RUNNING")), os.getcwd())`;

describe('Charliecloud containers', () => {
  const env = testbed();
  const bin = path.join(repoRoot, 'dist', 'server', 'cli', 'main.js');
  const home = `/home/${env.user}`;
  let work: string;
  let dataDir: string;
  let stateHome: string;
  const userEnv = () => ({
    PATH: process.env.PATH,
    HOME: os.tmpdir(),
    CI: '1',
    JUPYTER_DATA_DIR: dataDir,
    XDG_STATE_HOME: stateHome
  });
  const cli = (...args: string[]) =>
    execFileSync(process.execPath, [bin, ...args, '--config', env.config], {
      cwd: work,
      encoding: 'utf8',
      env: userEnv()
    });

  beforeAll(async () => {
    await cancelAllJobs();
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-containers-'));
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-jupyter-'));
    stateHome = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-state-'));
    // The host has no such file: whatever reads it runs in the image.
    await expect(fs.stat(MARKER)).rejects.toThrow();
  });
  afterAll(async () => {
    const info = JSON.parse(
      await fs.readFile(path.join(stateHome, 'hpclab', 'run', 'companion.json'), 'utf8').catch(() => '{}')
    );
    if (info.pid) process.kill(info.pid, 'SIGTERM');
    await cancelAllJobs();
    await fs.rm(work, { recursive: true, force: true });
  });

  it('runs a batch notebook inside the image, in its run directory', async () => {
    await fs.writeFile(
      path.join(work, 'inside.ipynb'),
      JSON.stringify({
        cells: [{ cell_type: 'code', id: 'a', metadata: {}, outputs: [], execution_count: null, source: READ_MARKER }],
        metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
        nbformat: 4,
        nbformat_minor: 5
      })
    );
    const run = JSON.parse(cli('submit', 'inside.ipynb', '--profile', 'container', '--wait', '--json'));
    expect(run).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
    const nb = JSON.parse(await fs.readFile(path.join(run.runDir, 'out', 'inside.ipynb'), 'utf8'));
    // nbformat may store a stream's text as a list of lines.
    expect([nb.cells[0].outputs[0].text].flat().join('')).toBe(`hpclab-testbed-image 2 True ${run.runDir}\n`);
  }, 180_000);

  it('runs a remote kernel inside the image', async () => {
    expect(cli('kernels', 'add', '--profile', 'container')).toContain('as hpclab-testbed-container');
    const driver = path.join(repoRoot, 'test', 'support', 'kernel_driver.py');
    const child = spawn('/usr/bin/python3', [driver, 'hpclab-testbed-container', 'code', READ_MARKER], {
      env: userEnv()
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await exitedWithOutput(child);
    expect([code, err.slice(-2000)]).toEqual([0, expect.any(String)]);
    const step = out
      .split('\n')
      .filter(l => l.startsWith('{'))
      .map(l => JSON.parse(l))
      .find(s => s.step === 'code');
    expect(step.out).toMatch(new RegExp(`^hpclab-testbed-image 2 True ${home}(/\\S*)?\\n$`));
  }, 180_000);

  it("runs a Lab session's server inside the image, reached through the proxy", async () => {
    const companion = await CompanionProcess.create(env.config);
    await companion.start();
    try {
      const created = await companion.json<SessionInfo>('/hpclab/api/sessions', {
        method: 'POST',
        body: JSON.stringify({ kind: 'lab', profile: 'container' })
      });
      const running = await waitFor(
        `session ${created.id} to run`,
        async () => {
          const s = await companion.json<SessionInfo>(`/hpclab/api/sessions/${created.id}`);
          if (s.state === 'failed') throw new Error(`the session failed: ${s.message}`);
          return s.state === 'running' ? s : undefined;
        },
        90_000,
        300
      );
      const kernel = await companion.json<{ id: string }>(`${running.baseUrl}api/kernels`, {
        method: 'POST',
        body: '{}'
      });
      const ws = `${companion.url.replace(/^http/, 'ws')}${running.baseUrl.slice(1)}api/kernels/${kernel.id}/channels`;
      const printed = await runOnKernel(ws, { Authorization: `token ${companion.token}` }, READ_MARKER);
      expect(printed).toMatch(new RegExp(`^hpclab-testbed-image 2 True ${home}(/\\S*)?\\n$`));
    } finally {
      await companion.stop();
    }
  }, 180_000);
});
