import { execFileSync, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cancelAllJobs, repoRoot, testbed, waitFor } from '../support/testbed';

const bin = path.join(repoRoot, 'dist', 'server', 'cli', 'main.js');

/** `hpclab tunnel`: one command from a laptop to a Lab on a node, served on localhost. */
describe('hpclab tunnel', () => {
  const env = testbed();
  beforeAll(() => cancelAllJobs());
  afterAll(() => cancelAllJobs());

  it('prints a URL that serves the node Lab, and stops the job on Ctrl-C', async () => {
    const stateHome = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-tunnel-'));
    const child = spawn(process.execPath, [bin, 'tunnel', '--config', env.config, '--profile', 'cpu', '--no-browser'], {
      env: { PATH: process.env.PATH, HOME: os.tmpdir(), XDG_STATE_HOME: stateHome },
      stdio: ['ignore', 'pipe', 'pipe']
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)));
    try {
      const line = await waitFor('the Jupyter at: line', () => /^Jupyter at: (\S+)$/m.exec(out)?.[1], 90_000).catch(e => {
        throw new Error(`${e.message}\nstdout: ${out}\nstderr: ${err}`);
      });
      const url = new URL(line);
      expect(url.hostname).toBe('127.0.0.1');
      expect(url.pathname).toMatch(/^\/hpclab\/node\/[a-z0-9]+\/$/);
      const token = url.searchParams.get('token');
      expect(token).toMatch(/^[0-9a-f]{64}$/);

      // Opening the URL trades the token for a cookie; <base>api/status then answers.
      const first = await fetch(url, { redirect: 'manual' });
      expect(first.status).toBe(302);
      const cookie = first.headers.get('set-cookie')!.split(';')[0];
      const status = await fetch(new URL('api/status', `${url.origin}${url.pathname}`), { headers: { Cookie: cookie } });
      expect(status.status).toBe(200);
      expect(await status.json()).toHaveProperty('started');
      const jobId = /job (\d+)/.exec(err)?.[1];
      expect(jobId).toMatch(/^\d+$/);

      child.kill('SIGINT');
      expect(await exited).toBe(0);
      await waitFor('the job to be gone', () => !execFileSync('squeue', ['-h', '-t', 'PD,R', '-o', '%i'], { encoding: 'utf8' }).split('\n').includes(jobId!));
    } finally {
      child.kill('SIGKILL');
    }
  });
});
