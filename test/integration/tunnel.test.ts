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

  it('prints a URL that serves the node Lab to any Jupyter client, and stops the job on Ctrl-C', async () => {
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
      const line = await waitFor('the Jupyter at: line', () => /^Jupyter at: (\S+)$/m.exec(out)?.[1], 90_000).catch(
        e => {
          throw new Error(`${e.message}\nstdout: ${out}\nstderr: ${err}`);
        }
      );
      const url = new URL(line);
      expect(url.hostname).toBe('127.0.0.1');
      expect(url.pathname).toMatch(/^\/hpclab\/node\/[a-z0-9]+\/$/);
      const token = url.searchParams.get('token');
      expect(token).toMatch(/^[0-9a-f]{64}$/);

      // Opening the URL trades the token for a cookie; <base>api/status then answers.
      const first = await fetch(url, { redirect: 'manual' });
      expect(first.status).toBe(302);
      const cookie = first.headers.get('set-cookie')!.split(';')[0];
      const status = await fetch(new URL('api/status', `${url.origin}${url.pathname}`), {
        headers: { Cookie: cookie }
      });
      expect(status.status).toBe(200);
      expect(await status.json()).toHaveProperty('started');
      const jobId = /job (\d+)/.exec(err)?.[1];
      expect(jobId).toMatch(/^\d+$/);

      // Any Jupyter client through the URL. REST with ?token= on writes, alone and with the
      // cookie a browser holds (the node must not see the companion's token and fall back to
      // cookies and XSRF).
      const base = `${url.origin}${url.pathname}`;
      for (const headers of [{}, { Cookie: cookie }] as Record<string, string>[]) {
        const created = await fetch(`${base}api/kernels?token=${token}`, {
          method: 'POST',
          headers: { ...headers, 'Content-Type': 'application/json' },
          body: JSON.stringify({ name: 'python3' })
        });
        expect([created.status, await created.clone().text()]).toEqual([201, expect.any(String)]);
        const kernel = (await created.json()) as { id: string };
        const deleted = await fetch(`${base}api/kernels/${kernel.id}?token=${token}`, { method: 'DELETE', headers });
        expect(deleted.status).toBe(204);
      }
      // nbclient runs a notebook through the URL's REST and WebSocket API with the token in a header only.
      const ran = execFileSync(
        '/usr/bin/python3',
        [path.join(repoRoot, 'test', 'support', 'nbclient_through_url.py'), base.replace(/\/$/, ''), token!],
        {
          encoding: 'utf8',
          timeout: 120_000
        }
      ).trim();
      expect(ran).toBe(`${env.node} ${jobId}`);
      // The node server never saw the companion's token (it logs refused requests with their URL).
      const sessionId = url.pathname.split('/')[3];
      const home = execFileSync('getent', ['passwd', env.user], { encoding: 'utf8' }).split(':')[5];
      const nodeLog = await fs.readFile(path.join(home, '.hpclab', 'sessions', sessionId, 'job.log'), 'utf8');
      expect(nodeLog).toContain('Jupyter Server');
      expect(nodeLog.includes(token!)).toBe(false);

      child.kill('SIGINT');
      expect(await exited).toBe(0);
      await waitFor(
        'the job to be gone',
        () =>
          !execFileSync('squeue', ['-h', '-t', 'PD,R', '-o', '%i'], { encoding: 'utf8' }).split('\n').includes(jobId!)
      );
    } finally {
      child.kill('SIGKILL');
    }
  }, 240_000);
});
