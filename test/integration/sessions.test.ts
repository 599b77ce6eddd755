import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SessionInfo } from '../../server/sessions/types';
import { CompanionProcess, runOnKernel } from '../support/companion';
import { cancelAllJobs, testbed, waitFor } from '../support/testbed';

/**
 * Lab sessions end to end, on whichever testbed is up (CI runs this on the split one, where the
 * node is reachable only through the login node): the companion as its own process, the Lab as
 * a real Slurm job running Jupyter Server on the node, everything through the proxy.
 */
describe('Lab sessions through the companion', () => {
  const env = testbed();
  let companion: CompanionProcess;
  let configFile: string;

  beforeAll(async () => {
    await cancelAllJobs();
    // The testbed's config plus a profile whose python does not exist, to see a failed start.
    const config = JSON.parse(await fs.readFile(env.config, 'utf8'));
    config.profiles.broken = { ...config.profiles.cpu, env: { python: '/nonexistent/python3' } };
    // And one with sbatch options of its own, which must reach Slurm.
    config.profiles.mailed = { ...config.profiles.cpu, sbatch: { 'mail-type': 'END', 'mail-user': env.user } };
    configFile = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-cfg-')), 'config.json');
    await fs.writeFile(configFile, JSON.stringify(config));
    companion = await CompanionProcess.create(configFile);
    await companion.start();
  });
  afterAll(async () => {
    await companion?.stop();
    await cancelAllJobs();
  });

  const session = (id: string) => companion.json<SessionInfo>(`/hpclab/api/sessions/${id}`);
  const create = (body: object) =>
    companion.json<SessionInfo>('/hpclab/api/sessions', { method: 'POST', body: JSON.stringify(body) });
  const until = (id: string, states: string[], ms = 60_000) =>
    waitFor(
      `session ${id} to be ${states.join(' or ')}`,
      async () => {
        const s = await session(id);
        return states.includes(s.state) ? s : undefined;
      },
      ms,
      300
    );
  const squeueIds = () =>
    execFileSync('squeue', ['-h', '-t', 'PD,R', '-o', '%i'], { encoding: 'utf8' }).split('\n').filter(Boolean);

  it('starts a Lab on the node, proxies its REST API and kernel WebSocket, and survives a kill -9 of the companion', async () => {
    const t0 = Date.now();
    const created = await create({ kind: 'lab', profile: 'cpu' });
    expect(created).toMatchObject({ state: 'pending', baseUrl: `/hpclab/node/${created.id}/` });
    expect(created.jobId).toMatch(/^\d+$/);
    const running = await until(created.id, ['running']);
    expect(running.node).toBe(env.node);
    process.stderr.write(`session ${created.id}: POST → running in ${Date.now() - t0} ms\n`);
    // The walltime end comes with the next squeue (at most the 5 s floor later).
    const timed = await waitFor(
      'the walltime end',
      async () => (await session(created.id)).endsAt ?? undefined,
      15_000
    );
    expect(Date.parse(timed) - Date.now()).toBeGreaterThan(50 * 60_000);

    const status = await companion.fetch(`${running.baseUrl}api/status`);
    expect(status.status).toBe(200);
    const kernel = await companion.json<{ id: string }>(`${running.baseUrl}api/kernels`, {
      method: 'POST',
      body: '{}'
    });
    const wsUrl = () =>
      `${companion.url.replace(/^http/, 'ws')}${running.baseUrl.slice(1)}api/kernels/${kernel.id}/channels`;
    expect(await runOnKernel(wsUrl(), { Authorization: `token ${companion.token}` }, 'x = 6 * 7\nprint(x)')).toBe(
      '42\n'
    );

    await companion.kill9();
    await companion.start(); // a new process: new port, new token, state from the store and squeue
    const again = await until(created.id, ['running']);
    expect(again.jobId).toBe(created.jobId);
    expect((await companion.fetch(`${running.baseUrl}api/status`)).status).toBe(200);
    expect(await runOnKernel(wsUrl(), { Authorization: `token ${companion.token}` }, 'print(x)')).toBe('42\n');

    // Cancelled underneath (scancel by hand): the session ends as cancelled, the proxy says 503.
    execFileSync('scancel', [created.jobId!]);
    const ended = await until(created.id, ['ended', 'failed'], 30_000);
    expect(ended).toMatchObject({ state: 'ended', endReason: 'cancelled' });
    expect((await companion.fetch(`${running.baseUrl}api/status`)).status).toBe(503);
  });

  it('cancels a session while it waits in the queue', async () => {
    const filler = execFileSync(
      'runuser',
      [
        '-u',
        env.user,
        '--',
        'sbatch',
        '--parsable',
        '-c',
        '8',
        '-p',
        'debug',
        '-o',
        '/dev/null',
        '--wrap',
        'sleep 300'
      ],
      { encoding: 'utf8', cwd: '/' }
    ).trim();
    await waitFor('the filler job to run', () =>
      execFileSync('squeue', ['-h', '-j', filler, '-o', '%T'], { encoding: 'utf8' }).includes('RUNNING')
    );
    const s = await create({ kind: 'lab', profile: 'cpu' });
    const pending = await waitFor('a pending reason', async () => {
      const now = await session(s.id);
      return now.pending?.reason && now.pending.reason !== 'Submitting' ? now : undefined;
    });
    expect(pending.state).toBe('pending');
    expect(pending.pending?.reason).toMatch(/Resources|Priority/);
    expect(pending.pending?.position).toBe(1);
    const stopped = await companion.json<SessionInfo>(`/hpclab/api/sessions/${s.id}`, { method: 'DELETE' });
    expect(['ending', 'ended']).toContain(stopped.state);
    expect(await until(s.id, ['ended'], 30_000)).toMatchObject({ endReason: 'cancelled' });
    expect(squeueIds()).not.toContain(s.jobId);
    execFileSync('scancel', [filler]);
  });

  it("submits a profile's own sbatch options, as the preview shows them", async () => {
    const body = JSON.stringify({ kind: 'lab', profile: 'mailed' });
    const preview = await companion.json<{ argv: string[] }>('/hpclab/api/sessions/preview', { method: 'POST', body });
    expect(preview.argv.slice(-2)).toEqual(['--mail-type=END', `--mail-user=${env.user}`]);
    const s = await create({ kind: 'lab', profile: 'mailed' });
    const jobId = await waitFor('a job id', async () => (await session(s.id)).jobId ?? undefined, 30_000, 200);
    const job = execFileSync('scontrol', ['show', 'job', jobId], { encoding: 'utf8' });
    expect(job).toMatch(/\bMailType=END\b/);
    expect(job).toContain(`MailUser=${env.user}`);
    await companion.json(`/hpclab/api/sessions/${s.id}`, { method: 'DELETE' });
    expect(await until(s.id, ['ended'], 60_000)).toMatchObject({ endReason: 'cancelled' });
  }, 120_000);

  it('reports a session whose server cannot start as failed, with the end of the job log', async () => {
    const s = await create({ kind: 'lab', profile: 'broken' });
    const failed = await until(s.id, ['failed', 'ended'], 60_000);
    expect(failed.state).toBe('failed');
    expect(failed.message).toMatch(/python \/nonexistent\/python3 not found/);
  });

  it('warns before walltime and ends the session with reason timeout', async () => {
    const abort = new AbortController();
    const events = await fetch(new URL('/hpclab/events', companion.url), {
      headers: { Authorization: `token ${companion.token}` },
      signal: abort.signal
    });
    expect(events.headers.get('content-type')).toMatch(/text\/event-stream/);
    const seen: string[] = [];
    const reader = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of events.body as unknown as AsyncIterable<Uint8Array>) seen.push(decoder.decode(chunk));
    })().catch(() => undefined);
    const s = await create({ kind: 'lab', profile: 'cpu', overrides: { time: '1' } });
    await until(s.id, ['running']);
    await waitFor(
      'a walltime warning event',
      () => seen.join('').includes(`"sessionId":"${s.id}"`) && seen.join('').includes('walltime-warning'),
      30_000
    );
    const ended = await until(s.id, ['ended', 'failed'], 150_000);
    expect(ended).toMatchObject({ state: 'ended', endReason: 'timeout' });
    abort.abort();
    await reader;
  }, 200_000);

  it('refuses requests without the token, with a wrong one, and cross-origin', async () => {
    const anon = await fetch(new URL('/hpclab/api/sessions', companion.url));
    expect(anon.status).toBe(401);
    const wrong = await fetch(new URL('/hpclab/api/sessions', companion.url), {
      headers: { Authorization: 'token nope' }
    });
    expect(wrong.status).toBe(401);
    const proxied = await fetch(new URL('/hpclab/node/abcdef123456/api/status', companion.url));
    expect(proxied.status).toBe(401);
    const cross = await companion.fetch('/hpclab/api/sessions', {
      method: 'POST',
      headers: { Origin: 'http://evil.example', 'Content-Type': 'application/json' },
      body: JSON.stringify({ kind: 'lab', profile: 'cpu' })
    });
    expect(cross.status).toBe(403);
    expect(squeueIds()).toHaveLength(0);
  });
});
