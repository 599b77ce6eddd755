import { execFileSync } from 'node:child_process';
import type { SessionInfo } from '../../server/sessions/types';
import { testbed, waitFor } from '../support/testbed';
import { companionForSuite, EventTap, record, startNotebook } from './faults';

/** What of the user's runs on the cluster side: every process hpclab could have left behind. */
function clusterLeftovers(user: string): string[] {
  return execFileSync('ps', ['-u', user, '-o', 'args='], { encoding: 'utf8' })
    .split('\n')
    .filter(l => /jupyter|ipykernel|srun|hpclab|while \[ ! -e/.test(l));
}

/** TCP connections a process holds that do not stay on this machine's loopback. */
function outsideConnections(pid: number): string[] {
  return execFileSync('ss', ['-Htnp', 'state', 'established'], { encoding: 'utf8' })
    .split('\n')
    .filter(l => l.includes(`pid=${pid},`))
    .map(l => l.trim().split(/\s+/)[3])
    .filter(peer => !/^(127\.0\.0\.1|\[::1\]|\[::ffff:127\.0\.0\.1\]):/.test(peer));
}

/**
 * Walltime, for a Lab and a remote kernel at once: warnings first, then the end with reason
 * timeout, and afterwards nothing left on either side (no process on the login or compute
 * host, no tunnel from the companion but its one SSH connection).
 */
describe('walltime', () => {
  const env = testbed();
  const companion = companionForSuite();

  it('warns, ends with reason timeout, and leaves no orphan tunnel, socket or process', async () => {
    const tap = await EventTap.open(companion().url, companion().token);
    const s = await companion().json<SessionInfo>('/hpclab/api/sessions', {
      method: 'POST',
      body: JSON.stringify({ kind: 'lab', profile: 'cpu', overrides: { time: '1' } })
    });
    const nb = await startNotebook('short', 'walltime');
    try {
      await waitFor(
        'the Lab to run',
        async () =>
          (await companion().json<SessionInfo>(`/hpclab/api/sessions/${s.id}`)).state === 'running' ? true : undefined,
        90_000
      );
      // A browser tab's proxied request, so the proxy holds a pooled stream when the end comes.
      expect((await companion().fetch(`${s.baseUrl}api/status`)).status).toBe(200);
      await waitFor(
        'the Lab walltime warning',
        () => tap.text().includes('walltime-warning') && tap.text().includes(s.id),
        90_000,
        500
      );
      const ended = await waitFor(
        'the Lab to end',
        async () => {
          const now = await companion().json<SessionInfo>(`/hpclab/api/sessions/${s.id}`);
          return now.state === 'ended' || now.state === 'failed' ? now : undefined;
        },
        150_000,
        500
      );
      expect(ended).toMatchObject({ state: 'ended', endReason: 'timeout' });
      await nb.until('the kernel to die at its time limit', () => nb.steps.died, 240_000);
      expect(nb.stderr()).toMatch(/reaches its time limit in \d+ min/);
      expect(nb.stderr()).toContain('The job reached its time limit.');
      const t0 = Date.now();
      // Nothing left on the cluster side (login and compute host alike).
      const left = await waitFor(
        'the cluster side to be clean',
        () => (clusterLeftovers(env.user).length === 0 ? [] : undefined),
        60_000,
        500
      ).catch(() => clusterLeftovers(env.user));
      expect(left).toEqual([]);
      // On the user's side: the proxy's streams to the Lab are gone with it; one SSH connection remains.
      await waitFor(
        'only the SSH connection',
        () => (outsideConnections(companion().child!.pid!).length === 1 ? true : undefined),
        30_000,
        500
      );
      expect(outsideConnections(companion().child!.pid!)).toEqual([`${env.ssh.host}:${env.ssh.port}`]);
      expect((await companion().fetch(`${s.baseUrl}api/status`)).status).toBe(503);
      record(
        'walltime (Lab and remote kernel)',
        'warnings, then "ended: timeout" / "The job reached its time limit."; no process, tunnel or socket left',
        Date.now() - t0,
        'none (warned before)'
      );
    } finally {
      tap.close();
      await nb.stop();
    }
  }, 400_000);
});
